"""When a routine version is made, and replaying a user's events into their versions. Pure.

Live processing and replay both go through `decide_version`, so a replay of the same events in
the same order under the same rules version reproduces the recorded versions exactly. Both fold
a user's events one at a time when they arrive in order, and the whole history when not.
"""

import bisect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backtrack_shared.user_key import UserKey
from planner.domain import LoggedEvent
from planner.domain.changes import routine_changes
from planner.domain.failsafe import Unapplied, describe, fail_safe, nothing_folded
from planner.domain.history import history_order
from planner.domain.rulebooks import CURRENT, Fold, Rulebook, rulebook


@dataclass(frozen=True)
class RoutineVersion:
    user_id: str
    version: int
    rules_version: str
    as_of: datetime
    applied_position: int
    caused_by: list[str]
    changes: list[dict[str, Any]]
    routine: dict[str, Any]
    tenant: str = ""  # the client that owns the user

    @property
    def user(self) -> UserKey:
        return UserKey(self.tenant, self.user_id)

    def as_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "rules_version": self.rules_version,
            "as_of": self.as_of.isoformat(),
            "applied_position": self.applied_position,
            "caused_by": self.caused_by,
            "changes": self.changes,
            "routine": self.routine,
        }


# Provenance, not prescription: which events the routine was derived from changes with every
# event, and a new version for that alone would announce a "change" nobody can act on.
PROVENANCE = "based_on"


def same_prescription(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two routines tell the user the same thing (everything but their provenance)."""
    return {k: v for k, v in a.items() if k != PROVENANCE} == {
        k: v for k, v in b.items() if k != PROVENANCE
    }


# What a routine says about the instant it is read at rather than about the events (finding 10):
# the cold pack's 72 hours, F1's last 7 days, the week ahead, this week's goal progress.
AS_OF_PARTS = ("advice", "weekly_plan", "goals")


def routine_now(
    version: RoutineVersion, history: Sequence[LoggedEvent], now: datetime
) -> dict[str, Any]:
    """The current version as read at `now`: its prescriptions as recorded, the parts that
    depend on the instant computed then, under the rules that made the version. Reading makes
    no version: only events do."""
    book = rulebook(version.rules_version) or CURRENT
    instant = max([now, version.as_of, *(event.occurred_at for event in history)])
    live = book.derive_routine(history, instant).to_dict()
    return {**version.routine, **{part: live[part] for part in AS_OF_PARTS if part in live}}


def decide_version(
    previous: RoutineVersion | None,
    fold: Fold,
    event: LoggedEvent,
    applied_position: int,
    unapplied: Sequence[Unapplied] = (),
    *,
    rules_version: str = CURRENT.version,
) -> RoutineVersion | None:
    """The version `event` makes, given the fold of the user's whole history including it (but
    the events set aside, `unapplied`); None if the routine the rules derive did not change. The
    instant is the latest event's, never a clock."""
    return _version(
        previous,
        fail_safe(fold.routine().to_dict(), unapplied),
        event,
        fold.as_of,
        applied_position,
        rules_version,
    )


def set_aside_version(
    previous: RoutineVersion | None,
    event: LoggedEvent,
    applied_position: int,
    unapplied: Sequence[Unapplied],
    *,
    rules_version: str = CURRENT.version,
) -> RoutineVersion | None:
    """The version made when `event` could not be folded (it is the last of `unapplied`): the
    routine the other events give, paused and naming what was set aside."""
    routine = previous.routine if previous else nothing_folded(event.event_id, rules_version)
    as_of = previous.as_of if previous else event.occurred_at
    return _version(
        previous, fail_safe(routine, unapplied), event, as_of, applied_position, rules_version
    )


def unapplied_event(event: LoggedEvent, error: BaseException) -> Unapplied:
    flags = event.payload.get("red_flags") if event.type == "pain.reported" else None
    red_flags = tuple(str(f) for f in flags) if isinstance(flags, list) else ()
    return Unapplied(event.event_id, describe(error), red_flags, event.position)


def _version(
    previous: RoutineVersion | None,
    routine: dict[str, Any],
    event: LoggedEvent,
    as_of: datetime,
    applied_position: int,
    rules_version: str,
) -> RoutineVersion | None:
    if previous is not None and same_prescription(previous.routine, routine):
        return None
    return RoutineVersion(
        user_id=event.user_id,
        version=(previous.version if previous else 0) + 1,
        rules_version=rules_version,
        as_of=as_of,
        applied_position=applied_position,
        caused_by=[event.event_id],
        changes=routine_changes(previous.routine if previous else None, routine),
        routine=routine,
        tenant=event.tenant,
    )


def user_of(event: LoggedEvent) -> UserKey:
    """Whose event it is: the planner keys everything of a user by (tenant, user_id)."""
    return UserKey(event.tenant, event.user_id)


def fold_with(
    fold: Fold | None,
    event: LoggedEvent,
    history: Callable[[], Sequence[LoggedEvent]],
    *,
    rules: Rulebook = CURRENT,
) -> Fold:
    """`fold` with `event` taken on when that is exact, else a fold of the whole `history`
    (which includes `event`) under `rules`."""
    if fold is not None and fold.take(event):
        return fold
    events = history()
    return rules.fold_of(events, max(logged.occurred_at for logged in events))


@dataclass(frozen=True)
class Replay:
    versions: list[RoutineVersion]
    unapplied: list[Unapplied]


def replay_versions(
    events_in_applied_order: Iterable[LoggedEvent], *, rules: Rulebook = CURRENT
) -> list[RoutineVersion]:
    """Every version `rules` (today's unless named) make of one user's events, applied in
    this order."""
    return replay(events_in_applied_order, rules=rules).versions


def replay(
    events_in_applied_order: Iterable[LoggedEvent],
    *,
    rules: Rulebook = CURRENT,
    set_aside: Sequence[Unapplied] = (),
) -> Replay:
    """Every version `rules` make of one user's events, applied in this order, and the events
    set aside: `set_aside` (already, before the first), then those the rules could not fold,
    as live processing sets them aside."""
    history: list[LoggedEvent] = []
    versions: list[RoutineVersion] = []
    unapplied: list[Unapplied] = list(set_aside)
    fold: Fold | None = None
    applied_position = 0
    for event in events_in_applied_order:
        bisect.insort(history, event, key=history_order)
        applied_position = max(applied_position, event.position)
        previous = versions[-1] if versions else None
        try:
            fold = fold_with(fold, event, lambda: history, rules=rules)
            version = decide_version(
                previous, fold, event, applied_position, unapplied, rules_version=rules.version
            )
        except Exception as err:  # whatever the rules raise: the user fails safe, not the replay
            history.remove(event)
            fold = None  # it may hold half of the event
            unapplied.append(unapplied_event(event, err))
            version = set_aside_version(
                previous, event, applied_position, unapplied, rules_version=rules.version
            )
        if version is not None:
            versions.append(version)
    return Replay(versions, unapplied)


def audit_rules(recorded: Sequence[RoutineVersion]) -> Rulebook:
    """The rules an audit replays with: those that made the recorded versions when one version
    made them all (so that history stays reproducible after the rules moved on), else today's."""
    made_by = {version.rules_version for version in recorded}
    book = rulebook(made_by.pop()) if len(made_by) == 1 else None
    return book or CURRENT


def audit(
    recorded: Sequence[RoutineVersion],
    replayed: Sequence[RoutineVersion],
    *,
    rules: Rulebook = CURRENT,
) -> dict[str, Any]:
    """Version by version, where the `rules` replayed with decide differently from what was
    recorded, and which prescriptions (with the rule now making them) differ."""
    rows = []
    for index in range(max(len(recorded), len(replayed))):
        was = recorded[index] if index < len(recorded) else None
        now = replayed[index] if index < len(replayed) else None
        either = was or now
        assert either is not None  # index < the longer of the two
        same = (
            was is not None
            and now is not None
            and (was.routine, was.caused_by, was.as_of) == (now.routine, now.caused_by, now.as_of)
        )
        differences = []
        if not same and now is not None:
            differences = routine_changes(was.routine if was else None, now.routine)
        rows.append(
            {
                "version": index + 1,
                "recorded_rules_version": was.rules_version if was else None,
                "replayed_rules_version": now.rules_version if now else None,
                "caused_by": either.caused_by,
                "identical": same,
                "differences": differences,
            }
        )
    return {
        "rules_version": rules.version,
        "recorded_versions": len(recorded),
        "replayed_versions": len(replayed),
        "reproduced": len(recorded) == len(replayed) and all(row["identical"] for row in rows),
        "versions": rows,
    }
