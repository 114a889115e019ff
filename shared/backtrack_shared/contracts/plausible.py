"""Validators that hold payloads to the limits table (limits.py): each refusal names the field
and says why the value is not one a body produces."""

import functools
import zoneinfo
from collections.abc import Callable, Sequence
from typing import Any

from marshmallow import ValidationError, validate

from backtrack_shared import catalogue
from backtrack_shared.contracts.limits import (
    WORKOUT_DURATION_MIN,
    WORKOUT_MINUTES_ROUNDING_MIN,
    WORKOUT_MINUTES_SLACK,
    Limit,
    goal_target_limit,
)


def within(limit: Limit) -> validate.Range:
    """A range, so that the OpenAPI documents show the limit (minimum, maximum) too."""
    why = f"Must be between {limit.minimum:g} and {limit.maximum:g}: {limit.why}"
    return validate.Range(
        min=limit.minimum, max=limit.maximum, error=why.replace("{", "{{").replace("}", "}}")
    )


def at_most(limit: Limit, *, at_least: int = 0) -> validate.Length:
    return validate.Length(
        min=at_least,
        max=int(limit.maximum),
        error=f"Must hold between {{min}} and {{max}} items: {limit.why}",
    )


def each_once(maximum: int) -> Callable[[Sequence[Any]], None]:
    def check(values: Sequence[Any]) -> None:
        if len(values) != len(set(values)):
            raise ValidationError("Each item may appear once.")
        if len(values) > maximum:
            raise ValidationError(f"At most {maximum} items.")

    return check


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def iana_time_zone(value: str) -> None:
    if value not in _zones():
        raise ValidationError("Not an IANA time zone (such as Europe/Madrid).")


def kind_of_the_exercise(_: object, data: dict[str, Any], **__: object) -> None:
    """A workout entry's kind is the catalogue's kind of its exercise (or warm-up/cool-down for
    gentle ones): the kind decides which block of the routine the entry counts for."""
    exercise, kind = data.get("exercise"), data.get("kind")
    if exercise not in catalogue.EXERCISE_KIND or kind is None:
        return  # refused by the field itself
    allowed = catalogue.kinds_of(exercise)
    if kind not in allowed:
        raise ValidationError(
            f"{exercise} is logged as {' or '.join(allowed)}, not {kind}.", field_name="kind"
        )


def minutes_fit_the_session(_: object, data: dict[str, Any], **__: object) -> None:
    """The sets' own minutes fit in the session's duration (devices round, a little over is
    fine)."""
    duration = data.get("duration_min")
    minutes = sum(
        float(s.get("duration_min") or 0) + float(s.get("hold_s") or 0) / 60
        for entry in data.get("exercises", [])
        for s in entry.get("sets", [])
    )
    if duration is None:
        if minutes > WORKOUT_DURATION_MIN.maximum:
            raise ValidationError(
                f"The sets add up to {minutes:g} minutes: {WORKOUT_DURATION_MIN.why}",
                field_name="exercises",
            )
        return
    if minutes > duration * WORKOUT_MINUTES_SLACK + WORKOUT_MINUTES_ROUNDING_MIN:
        raise ValidationError(
            f"The sets add up to {minutes:g} minutes, more than the {duration:g}-minute session.",
            field_name="exercises",
        )


def goal_target(_: object, data: dict[str, Any], **__: object) -> None:
    metric, period, target = data.get("metric"), data.get("period"), data.get("target")
    if metric is None or period is None or target is None:
        return
    limit = goal_target_limit(metric, period)
    if target > limit:
        raise ValidationError(
            f"At most {limit:g} for {metric} per {period}: no body reaches more.",
            field_name="target",
        )
