"""Why an exercise is not progressing now: every hold text in one table, by what holds it.

A rule says which situation holds a prescription (`holding("r2_eased")`); the words the user
reads live only here, so two rules holding for the same reason say it the same way.
"""

from typing import Final

from planner.domain import rules_table as t
from planner.domain.routine import Hold

HOLDS: Final[dict[str, Hold]] = {
    "paused": Hold("R6", "The routine is paused."),
    "r1_frozen": Hold("R1", "Waiting for {n} more pain-free session(s) after sharp pain."),
    "r2_eased": Hold(
        "R2", "Eased back after pain that lasted 24 hours; nothing progresses this session."
    ),
    "r5_form": Hold("R5", "Pain limited this exercise: hold the dose and focus on form."),
    "b1_next_morning": Hold(
        "B1", "Pain should settle by the next morning before the dose goes up."
    ),
    "b1_rising": Hold("B1", "Your pain rose this week compared with last week: hold the dose."),
    "b3_lighter_week": Hold("B3", "A lighter week: nothing progresses until it is over."),
    "b4_load": Hold("B4", "This week's training load is {ratio} times your usual: hold the dose."),
    "p5_pace": Hold("P5", f"At most one step every {t.P5_MIN_DAYS_BETWEEN_STEPS} days."),
    "p5_sessions": Hold(
        "P5", f"{t.P5_SESSIONS_AT_DOSE} completed sessions at this dose without pain come first."
    ),
    "d11_next_in_line": Hold(
        "D11",
        f"At most {t.D11_MAX_STEPS_PER_SESSION} exercises step up at one session: this one is "
        "next in line.",
    ),
    "d11_budget": Hold(
        "D11", "Your session is at its {budget}-minute budget: this exercise stays as it is."
    ),
    "d16_day_after": Hold(
        "D16",
        "A strength or core session the day after another does not count: rest a day between them.",
    ),
    "d20_weekly_cardio": Hold(
        "D20",
        f"Your plan holds {t.D20_WEEKLY_CARDIO_CAP_MIN} minutes of cardio a week (the WHO adult "
        "minimum): it stops growing here; more is your choice.",
    ),
}


def holding(situation: str, **numbers: object) -> Hold:
    """The hold for a situation, its numbers filled in."""
    hold = HOLDS[situation]
    return Hold(hold.rule, hold.reason.format(**numbers)) if numbers else hold
