"""What a client's input may be: every bound the contracts enforce, in one table, with the reason
for each. A value outside these is one no body produces (or no parser should have to hold), so
it is refused at the door with a 4xx naming the field, never stored to mislead the rules.

The payload schemas (payloads_v1.py, payloads_v2.py), the envelope and the strict JSON reader of
both services' HTTP APIs (backtrack_shared.strict_json) read their numbers from here.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class Limit:
    maximum: float
    why: str
    minimum: float = 0


# --- instants ---------------------------------------------------------------------------------
# No rehab log holds an event from before this: a device clock reset to its epoch (0001, 1900,
# 1970) is a wrong clock, and folding it would stretch a user's history over centuries.
EARLIEST_INSTANT = datetime(2000, 1, 1, tzinfo=UTC)
# A device clock may run a little ahead; further than this is a wrong clock or a wrong date.
MAX_FUTURE_SKEW = timedelta(hours=24)

# --- the shape of a JSON body -----------------------------------------------------------------
# The deepest envelope is a batch: body > events > item > payload > exercises > entry > sets >
# set, 8 levels. 32 leaves room for fields to grow and stops a parser-exhausting body early.
MAX_JSON_DEPTH = 32
# JSON integers beyond a signed 64-bit integer fit no database column and no other client's
# parser (JavaScript loses exactness at 2**53 already).
MAX_JSON_INT = 2**63 - 1
MIN_JSON_INT = -(2**63)
# Text may carry tabs and line breaks (a note); other control characters (NUL first, which
# PostgreSQL cannot store in text) come from a broken client or an attack, never from a person.
ALLOWED_CONTROL_CHARACTERS = frozenset("\t\n\r")

# --- a workout --------------------------------------------------------------------------------
LOAD_KG = Limit(500, "Heavier than the heaviest lift ever recorded (a 501 kg deadlift).")
HOLD_S = Limit(
    600,
    "A stretch or plank held longer than 10 minutes is not a rehab hold; log a long effort "
    "as duration_min.",
)
SET_DURATION_MIN = Limit(360, "One set of 6 hours is already a long hike.")
REPS = Limit(300, "More repetitions in one set than any rehab or fitness programme asks for.")
SETS_PER_EXERCISE = Limit(30, "More sets of one exercise than any session holds.")
EXERCISES_PER_WORKOUT = Limit(40, "More exercises than one session holds.")
WORKOUT_DURATION_MIN = Limit(720, "A session of more than 12 hours is not one session.")
# The sets' own minutes (duration_min, and hold_s as minutes) cannot far exceed the session they
# were done in. The sets' minutes are what the user or the app estimates, the session's what a
# device measured, so half as much again (and 5 minutes) is estimation; beyond it (50 sets of
# 600 minutes in a 10-minute workout) it is not.
WORKOUT_MINUTES_SLACK = 1.5
WORKOUT_MINUTES_ROUNDING_MIN = 5.0

# --- goals: a target per week; a month holds at most 5 weeks' worth of additive measures ------
GOAL_TARGETS: dict[str, Limit] = {
    "weekly_minutes": Limit(
        2520, "6 hours of exercise every day of a week (WHO advises 150 to 300 minutes)."
    ),
    "sessions_per_week": Limit(21, "Three sessions a day, every day."),
    "walk_min": Limit(600, "A 10-hour walk, as a baseline walk_min may be."),
    "plank_s": Limit(HOLD_S.maximum, HOLD_S.why),
    "hold_s": Limit(HOLD_S.maximum, HOLD_S.why),
    "new_exercise": Limit(21, "There are 21 exercises in the catalogue."),
}
MONTHLY_GOAL_FACTOR: dict[str, float] = {
    "weekly_minutes": 5,
    "sessions_per_week": 5,
    "new_exercise": 1,
    "walk_min": 1,
    "plank_s": 1,
    "hold_s": 1,
}


def goal_target_limit(metric: str, period: str) -> float:
    limit = GOAL_TARGETS[metric].maximum
    return limit * MONTHLY_GOAL_FACTOR[metric] if period == "month" else limit


# --- a pain report: each red flag once; the catalogue has six -------------------------------
MAX_RED_FLAGS = 6
