"""Looking for what an erasure must leave nowhere: a user's words and their data key, in every
file of a data folder (SQLite databases, their -wal and -shm files, anything else) and in the
broker's dead letters, written plainly or as hex or base64."""

import base64
import sqlite3
import stat
from collections.abc import Iterable
from pathlib import Path

from backtrack_shared.broker.dead_letters import PikaDeadLetters
from traininglog.adapters.sealing import Unreadable, unseal


def spellings(secret: bytes) -> list[bytes]:
    """The ways a secret may be written down: as it is, in hex, in base64 (both alphabets)."""
    return [
        secret,
        secret.hex().encode(),
        secret.hex().upper().encode(),
        base64.b64encode(secret).rstrip(b"="),
        base64.urlsafe_b64encode(secret).rstrip(b"="),
    ]


def files_holding(folder: Path, secrets: Iterable[bytes]) -> list[str]:
    """Every file under `folder` that holds any spelling of any secret, as 'path: spelling'."""
    wanted = [spelling for secret in secrets for spelling in spellings(secret)]
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        content = path.read_bytes()
        found += [f"{path.name}: {w[:16]!r}..." for w in wanted if w in content]
    return found


def dead_letters_holding(letters: PikaDeadLetters, secrets: Iterable[bytes]) -> list[str]:
    wanted = [spelling for secret in secrets for spelling in spellings(secret)]
    return [
        f"dead letter {letter.message_id}"
        for letter in letters.list()
        if any(w in letter.body or w in repr(letter.error).encode() for w in wanted)
    ]


def keys_that_open(folder: Path, event_id: str, sealed_body: str) -> list[bytes]:
    """Every 32-byte value stored in any SQLite database under `folder` that opens the sealed
    body: the data key, wherever the service keeps it (found by what it does, not by name)."""
    found = []
    for path in sorted(folder.rglob("*.db")):
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = [
                row[0]
                for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            ]
            for table in tables:
                columns = [row[1] for row in connection.execute(f'PRAGMA table_info("{table}")')]
                for column in columns:
                    for (value,) in connection.execute(
                        f'SELECT "{column}" FROM "{table}" WHERE length("{column}") = 32'
                    ):
                        if isinstance(value, bytes) and _opens(value, event_id, sealed_body):
                            found.append(value)
        finally:
            connection.close()
    return found


def _opens(key: bytes, event_id: str, sealed_body: str) -> bool:
    try:
        unseal(key, event_id, sealed_body)
    except Unreadable:
        return False
    return True


def sealed_bodies(database: Path, user_id: str) -> list[tuple[str, str]]:
    """(event id, stored body) of the user's sealed events in traininglog's event store."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        rows = connection.execute(
            "SELECT event_id, body FROM events WHERE user_id = ? AND body LIKE 'sealed:%'",
            (user_id,),
        ).fetchall()
    finally:
        connection.close()
    return [(event_id, body) for event_id, body in rows]


def loose_modes(folder: Path) -> list[str]:
    """Files under `folder` that anyone but their owner may read or write."""
    return [
        f"{path.name}: {stat.filemode(path.stat().st_mode)}"
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.stat().st_mode & 0o077
    ]
