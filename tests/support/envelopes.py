"""Envelopes as traininglog publishes them, and a feed of them over a list, for the planner's
integration tests."""

import json

from sqlalchemy import Engine

from backtrack_shared.contracts import NewEventSchema, canonical_body
from backtrack_shared.user_key import UserKey
from planner.adapters.projection_store import SqlAlchemyPlannerReader
from tests.factories import baseline, new_user_id, pain, workout


def stored(document: dict, *, stream_version: int, position: int, tenant: str = "acme") -> dict:
    """The envelope as traininglog publishes it."""
    envelope = json.loads(canonical_body(NewEventSchema().load(document)))
    return {
        **envelope,
        "recorded_at": "2026-09-01T09:00:00+00:00",
        "stream_version": stream_version,
        "position": position,
        "tenant": tenant,
    }


class Interrupted(Exception):
    pass


class ListFeed:
    """traininglog's feed over a list, two events a page, breaking after `pages_before_failing`."""

    def __init__(self, envelopes: list[dict], pages_before_failing: int | None = None) -> None:
        self._envelopes = envelopes
        self._pages_left = pages_before_failing

    def head(self) -> int:
        return self._envelopes[-1]["position"]

    def pages(self, after: int):  # type: ignore[no-untyped-def]
        rest = [e for e in self._envelopes if e["position"] > after]
        for start in range(0, len(rest), 2):
            if self._pages_left is not None:
                if self._pages_left == 0:
                    raise Interrupted
                self._pages_left -= 1
            yield rest[start : start + 2]


def feed_of_two_users() -> list[dict]:
    ana, ben = new_user_id(), new_user_id()
    documents = [
        baseline(ana),
        baseline(ben),
        workout(ana, day=1),
        pain(ben, score=4, day=1),
        workout(ben, day=2),
        pain(ana, score=1, timing="after", day=2),
        workout(ana, day=3),
    ]
    versions: dict[str, int] = {}
    envelopes = []
    for position, document in enumerate(documents, start=1):
        user = document["user_id"]
        versions[user] = versions.get(user, 0) + 1
        envelopes.append(stored(document, stream_version=versions[user], position=position))
    return envelopes


def all_versions(engine: Engine, users: set[str]) -> str:
    reader = SqlAlchemyPlannerReader(engine)
    return json.dumps(
        {u: [v.as_json() for v in reader.history(UserKey("acme", u))] for u in sorted(users)}
    )
