"""traininglog's feed and user streams over HTTP, page by page: memory stays flat however long
the log is."""

from collections.abc import Iterator
from typing import Any

import requests

from backtrack_shared.user_key import UserKey

Envelope = dict[str, Any]


class HttpTrainingLogFeed:
    def __init__(
        self, base_url: str, api_key: str, *, page_size: int = 500, timeout_s: float = 10
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._page_size = page_size
        self._timeout_s = timeout_s
        self._session = requests.Session()
        # The feed spans every tenant: the planner's key is an admin key.
        self._session.headers["Authorization"] = f"Bearer {api_key}"

    def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        response = self._session.get(
            f"{self._base_url}{path}", params=params, timeout=self._timeout_s
        )
        response.raise_for_status()
        return response.json()

    def head(self) -> int:
        """The highest position stored now."""
        return int(self._get("/v1/feed", {"after": 0, "limit": 1})["head"])

    def pages(self, after: int) -> Iterator[list[Envelope]]:
        """Every event after `after`, in position order, one page at a time."""
        while True:
            page = self._get("/v1/feed", {"after": after, "limit": self._page_size})["events"]
            if not page:
                return
            yield page
            after = page[-1]["position"]

    def user_events(self, user: UserKey, after_version: int = 0) -> Iterator[Envelope]:
        """One user's events after a stream version, in stream order (none for a user traininglog
        does not know, or erased)."""
        while True:
            try:
                page = self._get(
                    f"/v1/users/{user.user_id}/events",
                    {
                        "owner": user.tenant,
                        "after_version": after_version,
                        "limit": self._page_size,
                    },
                )["events"]
            except requests.HTTPError as err:
                if err.response is not None and err.response.status_code == 404:
                    return
                raise
            yield from page
            if len(page) < self._page_size:
                return
            after_version = page[-1]["stream_version"]
