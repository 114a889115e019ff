"""Applying one traininglog event: dedupe, fold the user's history through the rules, and when
the routine changed, store a new version and announce it, all in one transaction."""

import enum
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from backtrack_shared.broker.messages import OutgoingMessage
from backtrack_shared.broker.topology import ROUTINE_UPDATED, routine_routing_key
from backtrack_shared.contracts.registry import ACCESS_EVENT_TYPES, USER_ERASED
from backtrack_shared.user_key import UserKey, key_of
from planner.adapters.projection_store import (
    SqlAlchemyProjectionStore,
    SqlAlchemyUnitOfWork,
    UserState,
    event_key,
    logged_event,
)
from planner.domain import LoggedEvent
from planner.domain.failsafe import Unapplied
from planner.domain.rulebooks import Fold
from planner.domain.versions import (
    RoutineVersion,
    decide_version,
    set_aside_version,
    unapplied_event,
    user_of,
)
from planner.metrics import EVENTS_APPLIED, ROUTINE_VERSIONS
from planner.service_layer.folds import NoFolds, RoutineFolds

log = structlog.get_logger(__name__)

# Two appliers of one user's events (the consumer and a catch-up) may race on PostgreSQL; the
# loser's insert violates a key and is simply applied again, on top of the winner's result.
ATTEMPTS = 3


class Applied(enum.Enum):
    ROUTINE_CHANGED = "routine_changed"
    ROUTINE_UNCHANGED = "routine_unchanged"
    DUPLICATE = "duplicate"
    ERASED = "erased"  # a user.erased marker: the user's projections are gone
    DROPPED = "dropped"  # an event of a user erased before: never applied
    ACCESS_CHANGED = "access_changed"  # a grant or revocation: kept, not a rules matter
    SET_ASIDE = "set_aside"  # the rules could not fold it: kept, and the user's routine paused


@dataclass(frozen=True)
class ApplyResult:
    outcome: Applied
    routine_version: int | None


def routine_updated_message(version: RoutineVersion) -> OutgoingMessage:
    tenant = version.tenant
    body = {
        "type": ROUTINE_UPDATED,
        "user_id": version.user_id,
        "tenant": tenant,
        **version.as_json(),
    }
    return OutgoingMessage(
        routing_key=routine_routing_key(tenant),  # a tenant's subscriber reads its own alone
        body=json.dumps(body, sort_keys=True, separators=(",", ":")).encode(),
        message_id=f"{tenant}:{version.user_id}:routine:{version.version}",
        headers={"user_id": version.user_id, "tenant": tenant},
    )


def _new_state(user: UserKey) -> UserState:
    return UserState(user.user_id, applied_position=0, routine_version=0, tenant=user.tenant)


def _moved(
    state: UserState, applied_position: int, routine_version: int | None = None
) -> UserState:
    version = state.routine_version if routine_version is None else routine_version
    return UserState(state.user_id, applied_position, version, tenant=state.tenant)


def _stamp(state: UserState) -> tuple[int, int]:
    """What the database says of a user's applications: a kept fold with another stamp missed
    events another planner instance applied meanwhile (its partition moved, or a catch-up)."""
    return (state.applied_position, state.routine_version)


def apply_event(
    unit_of_work: Callable[[], SqlAlchemyUnitOfWork],
    envelope: dict[str, Any],
    *,
    announce: bool = True,
    folds: RoutineFolds | None = None,
) -> ApplyResult:
    """Apply a stored envelope (as traininglog published it) exactly once. With `announce`,
    a new routine version is also put in the outbox for `routine.updated`."""
    (result,) = apply_events(unit_of_work, [envelope], announce=announce, folds=folds)
    return result


def apply_events(
    unit_of_work: Callable[[], SqlAlchemyUnitOfWork],
    envelopes: Sequence[dict[str, Any]],
    *,
    announce: bool = True,
    folds: RoutineFolds | None = None,
    checkpoint: tuple[str, int] | None = None,
) -> list[ApplyResult]:
    """Apply stored envelopes in this order, each exactly once, in one transaction: the same
    versions as applying them one by one, for a handful of round trips instead of a handful
    per event. A feed reader's `checkpoint` (name, position) is moved in the same transaction,
    so it never says more, nor less, than what was applied."""
    for attempt in range(ATTEMPTS):
        try:
            return _apply_in_one_transaction(
                unit_of_work, envelopes, announce, folds or NoFolds(), checkpoint
            )
        except IntegrityError:
            if attempt == ATTEMPTS - 1:
                raise
            log.info("events.apply_raced", attempt=attempt + 1)
    raise AssertionError("unreachable")


@dataclass
class Batch:
    """What a batch holds, sorted out against the database before any rule runs: who is
    erased, which events were seen before, and each user's state, version and set-aside events."""

    events: list[LoggedEvent]
    users: set[UserKey]
    erased: set[UserKey]
    seen: set[tuple[str, str]]
    states: dict[UserKey, UserState]
    new_users: set[UserKey]
    current: dict[UserKey, RoutineVersion]
    unapplied: dict[UserKey, list[Unapplied]]


@dataclass
class Folded:
    """What folding a batch's users made: one result per event, and what is to be saved."""

    results: list[ApplyResult] = field(default_factory=list)
    stored: list[dict[str, Any]] = field(default_factory=list)
    versions: list[RoutineVersion] = field(default_factory=list)
    set_aside: dict[UserKey, list[Unapplied]] = field(default_factory=dict)
    checked_out: dict[UserKey, Fold] = field(default_factory=dict)


def _sort_out(store: SqlAlchemyProjectionStore, envelopes: Sequence[dict[str, Any]]) -> Batch:
    """Lock the batch's users, erase those an erasure marker names, and read what the database
    says of them."""
    events = [logged_event(envelope) for envelope in envelopes]
    store.lock_users(user_of(event) for event in events)
    erased = store.erased((user_of(event), event.position) for event in events)
    for event in events:
        if event.type == USER_ERASED and user_of(event) not in erased:
            store.erase(user_of(event), event.position, event.occurred_at)
            erased.add(user_of(event))
    seen = store.known_event_ids([event_key(envelope) for envelope in envelopes])
    users = {user_of(event) for event in events}
    states = store.users(users)
    new_users = users - states.keys()
    states.update({u: _new_state(u) for u in new_users})
    current = store.current_versions(states.values())
    unapplied = store.unapplied(users)
    return Batch(events, users, erased, seen, states, new_users, current, unapplied)


def _fold_users(
    store: SqlAlchemyProjectionStore,
    envelopes: Sequence[dict[str, Any]],
    batch: Batch,
    folds: RoutineFolds,
) -> Folded:
    """Each event in order through its user's fold: the versions it makes, or set aside."""
    folded = Folded()
    states, current, unapplied = batch.states, batch.current, batch.unapplied
    applied: dict[UserKey, list[LoggedEvent]] = {user: [] for user in batch.users}
    for envelope, event in zip(envelopes, batch.events, strict=True):
        user = user_of(event)
        if user in batch.erased:
            marker = event.type == USER_ERASED
            folded.results.append(ApplyResult(Applied.ERASED if marker else Applied.DROPPED, None))
            continue
        if event_key(envelope) in batch.seen:
            folded.results.append(ApplyResult(Applied.DUPLICATE, None))
            continue
        batch.seen.add(event_key(envelope))
        earlier = applied[user]
        state = states[user]
        if event.type in ACCESS_EVENT_TYPES:  # kept, never folded by the rules
            folded.stored.append(envelope)
            states[user] = _moved(state, max(state.applied_position, event.position))
            folded.results.append(ApplyResult(Applied.ACCESS_CHANGED, state.routine_version))
            continue
        earlier.append(event)
        applied_position = max(state.applied_position, event.position)
        outcome = Applied.ROUTINE_CHANGED
        try:
            # The user's history is what the database held before this batch plus this
            # batch's events so far; it is read only when the event cannot simply be folded on.
            fold = folds.check_out(
                event,
                lambda u=user, e=earlier: [*store.history(u), *e],
                kept=folded.checked_out.pop(user, None),
                stamp=_stamp(states[user]),
            )
            version = decide_version(
                current.get(user), fold, event, applied_position, unapplied.get(user, ())
            )
            folded.checked_out[user] = fold
        except SQLAlchemyError:
            raise  # the database's failure, not the event's
        except Exception as err:
            # Fail safe, per user: set the event aside and pause the routine, naming it. The
            # user's fold may hold half of the event: it is dropped, and folded again.
            earlier.remove(event)
            aside = unapplied_event(event, err)
            unapplied.setdefault(user, []).append(aside)
            folded.set_aside.setdefault(user, []).append(aside)
            version = set_aside_version(current.get(user), event, applied_position, unapplied[user])
            outcome = Applied.SET_ASIDE
            log.error(
                "event.set_aside",
                event_id=event.event_id,
                user_id=user.user_id,
                tenant=user.tenant,
                error=aside.error,
            )
        if version is not None:
            folded.versions.append(version)
            current[user] = version
        states[user] = _moved(
            state, applied_position, version.version if version else state.routine_version
        )
        folded.stored.append(envelope)
        if version is None and outcome is Applied.ROUTINE_CHANGED:
            outcome = Applied.ROUTINE_UNCHANGED
        folded.results.append(ApplyResult(outcome, states[user].routine_version))
    return folded


def _save(
    store: SqlAlchemyProjectionStore,
    batch: Batch,
    folded: Folded,
    announce: bool,
    checkpoint: tuple[str, int] | None,
) -> None:
    store.add_events(folded.stored)
    for user, events_set_aside in folded.set_aside.items():
        store.set_aside(user, events_set_aside)
    store.absorb_access_changes(folded.stored)
    store.add_routine_versions(folded.versions)
    if announce:
        store.add_to_outbox([routine_updated_message(v) for v in folded.versions])
    touched = {key_of(envelope) for envelope in folded.stored}
    store.save_users([batch.states[u] for u in touched], new_user_ids=batch.new_users & touched)
    if checkpoint is not None:
        store.set_checkpoint(*checkpoint)


def _apply_in_one_transaction(
    unit_of_work: Callable[[], SqlAlchemyUnitOfWork],
    envelopes: Sequence[dict[str, Any]],
    announce: bool,
    folds: RoutineFolds,
    checkpoint: tuple[str, int] | None,
) -> list[ApplyResult]:
    with unit_of_work() as uow:
        batch = _sort_out(uow.store, envelopes)
        folded = _fold_users(uow.store, envelopes, batch, folds)
        _save(uow.store, batch, folded, announce, checkpoint)
        uow.commit()
    for user, fold in folded.checked_out.items():
        folds.check_in(user, fold, _stamp(batch.states[user]))
    for user in batch.erased & batch.users:
        folds.forget(user)
    events, results, versions = batch.events, folded.results, folded.versions
    ROUTINE_VERSIONS.inc(len(versions))
    for event, result in zip(events, results, strict=True):
        EVENTS_APPLIED.labels(result.outcome.value).inc()
        log.info(
            "event.applied",
            event_id=event.event_id,
            outcome=result.outcome.value,
            routine_version=result.routine_version,
            position=event.position,
        )
    return results
