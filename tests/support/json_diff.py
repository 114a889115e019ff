"""Where two JSON values differ, for assertions that should say what differs."""

from typing import Any


def differences(a: Any, b: Any, path: str = "", limit: int = 5) -> list[str]:
    """Where two JSON values differ, as "path: a != b" lines (the first `limit` of them), so a
    failed comparison says what differs rather than only that something does."""
    if isinstance(a, dict) and isinstance(b, dict):
        found: list[str] = []
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                found.append(
                    f"{path}/{key}: {a.get(key, '<absent>')!r} != {b.get(key, '<absent>')!r}"
                )
            else:
                found += differences(a[key], b[key], f"{path}/{key}", limit - len(found))
            if len(found) >= limit:
                break
        return found[:limit]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        found = []
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            found += differences(x, y, f"{path}[{index}]", limit - len(found))
            if len(found) >= limit:
                break
        return found[:limit]
    return [] if a == b else [f"{path or '/'}: {a!r:.300} != {b!r:.300}"]
