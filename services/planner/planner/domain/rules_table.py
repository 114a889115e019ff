"""Every rule and every number the planner uses, with the rule id and the seed's words behind it.

A physiotherapist reads this file next to DOMAIN.md. Changing any number or rule here is a new
`RULES_VERSION`: a replay with the same version reproduces the recorded routines exactly.
Numbers marked `default=True` are the system's choice where the seed gives a range or nothing.
"""

from dataclasses import dataclass
from typing import Final, TypeVar

RULES_VERSION: Final = "2026.12-1"

T = TypeVar("T", int, float, str)


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    seed: str  # the seed's words (or the reference) the rule rests on


@dataclass(frozen=True)
class Number:
    name: str
    value: int | float | str
    rule: str
    seed: str
    default: bool


RULES: Final[dict[str, Rule]] = {
    r.id: r
    for r in (
        Rule(
            "S1",
            "baseline sets the first routine",
            "Start with a baseline evaluation of your aerobic and muscular strength and flexibility.",
        ),
        Rule("S2", "low impact first", "Avoid high-impact activities and too much bouncing."),
        Rule(
            "S3",
            "warm-up and cool-down",
            "Warm up ... for at least 10 minutes; for a cool-down, dedicate 5-10 minutes to light stretches.",
        ),
        Rule("P1", "stretch hold", "Hold each stretch for at least 30 seconds; add 5-10 seconds."),
        Rule(
            "P2",
            "strength load",
            "Increase the weight ... by no more than 10 percent. Keep your reps between 8 and 12.",
        ),
        Rule("P3", "core", "Aim for sets of 8-15 reps or plank for 30-60 seconds."),
        Rule(
            "P4", "cardio", "Start with short intervals (e.g., 5 minutes). Gradually increase time."
        ),
        Rule("P5", "pace of progress", "Don't progress too quickly."),
        Rule("R1", "stop on sharp pain", "If extreme pain occurs, stop."),
        Rule(
            "R2",
            "24-hour pain eases back",
            "If pain lasts for 24 hours, ease back slightly in the following session (a report "
            "after that session still keeps its session from counting towards a step).",
        ),
        Rule(
            "R3",
            "flare-up from core",
            "If core exercises cause flare-ups, don't do them without speaking to a doctor first.",
        ),
        Rule("R4", "revert on setback", "Revert if necessary to avoid setbacks."),
        Rule("R5", "form before volume", "If pain limits exercise intensity, focus on form."),
        Rule(
            "R6", "referral", "If injured, seek medical help or consult a musculoskeletal expert."
        ),
        Rule("F1", "sessions per week", "Exercise at least three times a week."),
        Rule(
            "F2",
            "rest days",
            "Plan 2-3 complete resting days each week and light aerobic activities on off-days.",
        ),
        Rule(
            "F3",
            "cold and heat",
            "Cold therapy should be applied within 48-72 hours of injury ... 15 mins, then take off for 10 mins.",
        ),
        Rule(
            "G1", "small weekly goals", "Each week or month, set achievable and measurable targets."
        ),
        Rule(
            "D1",
            "twisting",
            "Exercises that involve high-impact movements or twisting can exacerbate back pain.",
        ),
        Rule(
            "D2",
            "running and high impact",
            "As you get stronger, add more difficult exercises like hill sprints, plyometrics.",
        ),
        Rule(
            "D3",
            "stop wording",
            "Stop if you feel pain: the zones decide; the seed's words are shown in red.",
        ),
        Rule("D4", "ease back is one step down", "Ease back slightly in the following session."),
        Rule(
            "D5",
            "rest day",
            "Full rest; light aerobic work on off-days does not count as training.",
        ),
        Rule(
            "D6",
            "flare-up",
            "A declared flare, or 24-hour pain at or above the usual level + 2 points.",
        ),
        Rule(
            "D7",
            "local calendar",
            "Consecutive days, weekly, next morning: the offset of occurred_at.",
        ),
        Rule(
            "D8",
            "training load",
            "Session effort (RPE 0-10) x minutes; the ratio only after 28 days.",
        ),
        Rule(
            "B1",
            "pain-monitoring model",
            "Thomeé 1997; Silbernagel 2007: up to 5/10 during, back to usual by next morning, no weekly rise.",
        ),
        Rule(
            "B2",
            "red-flag tiers",
            "Cauda equina signs: seek care now; fever, trauma, weight loss: urgent.",
        ),
        Rule("B3", "deload week", "A lighter week every 5 weeks of uninterrupted progression."),
        Rule(
            "B4",
            "acute:chronic workload",
            "Keep the 7-day:28-day load ratio at or below 1.3, never above 1.5.",
        ),
        # Decisions of December 2026 (DOMAIN.md): progression
        Rule(
            "D10",
            "plateau review",
            "Four weeks of sessions with no step-up: review the routine with a physiotherapist.",
        ),
        Rule(
            "D11",
            "a session stays a session",
            "At most 3 step-ups a session; a session's estimated time stays within its budget "
            "(a dose whose next step does not fit is declared kept, as maintenance).",
        ),
        Rule(
            "D15",
            "doing more is not a reason to jump",
            "Don't progress too quickly: progression continues from the prescribed dose.",
        ),
        Rule(
            "D16",
            "rest between hard days",
            "Do them 3 times a week, on non-consecutive days.",
        ),
        Rule(
            "D17",
            "external load is its own step",
            "Start with lightweight activities ... as your body awareness increases, add light weights.",
        ),
        Rule(
            "D18",
            "sprints stay short",
            "Add more difficult exercises like hill sprints: short, and by repetitions.",
        ),
        Rule(
            "D19",
            "swimming",
            "Swimming: swim for low-impact cardio.",
        ),
        Rule(
            "D20",
            "maintenance",
            "The top of a ladder is kept as maintenance; cardio stops growing at 150 min a week.",
        ),
    )
}

NUMBERS: Final[dict[str, Number]] = {}


def _n(name: str, value: T, rule: str, seed: str, *, default: bool = False) -> T:
    NUMBERS[name] = Number(name, value, rule, seed, default)
    return value


# S2 low impact first
S2_HIGH_IMPACT_AFTER_DAYS: Final = _n(
    "S2_HIGH_IMPACT_AFTER_DAYS",
    56,
    "S2",
    "As you get stronger, add more difficult exercises",
    default=True,
)

# S3 warm-up and cool-down
S3_WARMUP_MIN: Final = _n("S3_WARMUP_MIN", 10, "S3", "for at least 10 minutes before stretching")
S3_COOLDOWN_MIN: Final = _n("S3_COOLDOWN_MIN", 5, "S3", "dedicate 5-10 minutes to light stretches")
S3_COOLDOWN_MAX: Final = _n("S3_COOLDOWN_MAX", 10, "S3", "dedicate 5-10 minutes to light stretches")

# P1 stretch hold
P1_HOLD_START_S: Final = _n(
    "P1_HOLD_START_S", 30, "P1", "hold each stretch for at least 30 seconds"
)
P1_HOLD_STEP_S: Final = _n(
    "P1_HOLD_STEP_S", 5, "P1", "add 5-10 seconds as you grow stronger", default=True
)
P1_HOLD_CAP_S: Final = _n(
    "P1_HOLD_CAP_S", 60, "P1", "then try different body positions", default=True
)
P1_STRETCH_SETS: Final = _n("P1_STRETCH_SETS", 2, "P1", "simple, repeated stretches", default=True)

# P2 strength load
P2_REPS_MIN: Final = _n("P2_REPS_MIN", 8, "P2", "keep your reps between 8 and 12")
P2_REPS_MAX: Final = _n("P2_REPS_MAX", 12, "P2", "keep your reps between 8 and 12")
P2_REP_STEP: Final = _n("P2_REP_STEP", 1, "P2", "take things slowly", default=True)
P2_LOAD_STEP_PCT: Final = _n(
    "P2_LOAD_STEP_PCT", 10, "P2", "increase the weight by no more than 10 percent"
)
P2_EQUIPMENT_STEP_KG: Final = _n(
    "P2_EQUIPMENT_STEP_KG", 0.5, "P2", "add light weights", default=True
)
P2_FIRST_LOAD_KG: Final = _n(
    "P2_FIRST_LOAD_KG", 5.0, "P2", "add light weights or bands", default=True
)
P2_SETS_START: Final = _n(
    "P2_SETS_START", 2, "P2", "start with lightweight activities", default=True
)
P2_SETS_MAX: Final = _n("P2_SETS_MAX", 3, "P2", "take things slowly", default=True)

# P3 core
P3_REPS_MIN: Final = _n("P3_REPS_MIN", 8, "P3", "aim for sets of 8-15 reps")
P3_REPS_MAX: Final = _n("P3_REPS_MAX", 15, "P3", "aim for sets of 8-15 reps")
P3_REP_STEP: Final = _n("P3_REP_STEP", 1, "P3", "don't rush into sets")
P3_PLANK_START_S: Final = _n("P3_PLANK_START_S", 30, "P3", "plank for 30-60 seconds")
P3_PLANK_STEP_S: Final = _n("P3_PLANK_STEP_S", 5, "P3", "plank for 30-60 seconds", default=True)
P3_PLANK_CAP_S: Final = _n("P3_PLANK_CAP_S", 60, "P3", "plank for 30-60 seconds")
P3_PLANK_FLOOR_S: Final = _n(
    "P3_PLANK_FLOOR_S", 20, "P3", "if pain limits exercise intensity", default=True
)
P3_SETS_START: Final = _n("P3_SETS_START", 2, "P3", "don't rush into sets", default=True)
P3_SETS_MAX: Final = _n("P3_SETS_MAX", 3, "P3", "don't rush into sets", default=True)

# P4 cardio
P4_BOUT_MIN: Final = _n("P4_BOUT_MIN", 5.0, "P4", "start with short intervals (e.g., 5 minutes)")
P4_BASELINE_FRACTION: Final = _n(
    "P4_BASELINE_FRACTION", 0.5, "P4", "see how far you can walk", default=True
)
P4_START_CAP_MIN: Final = _n(
    "P4_START_CAP_MIN", 20.0, "P4", "start with low-impact moves", default=True
)
P4_WEEKLY_STEP_PCT: Final = _n(
    "P4_WEEKLY_STEP_PCT", 10, "P4", "gradually increase time", default=True
)
P4_MINUTE_STEP: Final = _n("P4_MINUTE_STEP", 0.5, "P4", "gradually increase time", default=True)
P4_DURATION_CAP_MIN: Final = _n(
    "P4_DURATION_CAP_MIN", 45.0, "P4", "gradually increase time", default=True
)
P4_SESSIONS_PER_WEEK: Final = _n(
    "P4_SESSIONS_PER_WEEK", 4, "P4", "light aerobic activities on off-days", default=True
)
P4_STEADY_BASE_MIN: Final = _n(
    "P4_STEADY_BASE_MIN", 20.0, "P4", "take breaks ... until you have a strong base", default=True
)
P4_INTERVAL_HARD_MIN: Final = _n(
    "P4_INTERVAL_HARD_MIN", 1.0, "P4", "running for 1 minute then jogging for 3"
)
P4_INTERVAL_EASY_MIN: Final = _n(
    "P4_INTERVAL_EASY_MIN", 3.0, "P4", "running for 1 minute then jogging for 3"
)
P4_INTERVAL_ROUNDS: Final = _n(
    "P4_INTERVAL_ROUNDS", 4, "P4", "start with low intensity intervals", default=True
)
P4_INTERVAL_HARD_STEP_MIN: Final = _n(
    "P4_INTERVAL_HARD_STEP_MIN", 0.5, "P4", "then try longer intervals", default=True
)
P4_INTERVAL_HARD_CAP_MIN: Final = _n(
    "P4_INTERVAL_HARD_CAP_MIN", 3.0, "P4", "then try longer intervals", default=True
)
P4_INTERVAL_ROUNDS_MIN: Final = _n(
    "P4_INTERVAL_ROUNDS_MIN", 2, "P4", "start with low intensity intervals", default=True
)

# P5 pace of progress
P5_MIN_DAYS_BETWEEN_STEPS: Final = _n(
    "P5_MIN_DAYS_BETWEEN_STEPS", 7, "P5", "don't progress too quickly", default=True
)
P5_SESSIONS_AT_DOSE: Final = _n(
    "P5_SESSIONS_AT_DOSE", 2, "P5", "don't progress too quickly", default=True
)

# Pain zones (pain during exercise, 0-10), after the pain-monitoring model (B1)
ZONE_GREEN_MAX: Final = _n(
    "ZONE_GREEN_MAX", 2, "B1", "movement should be comfortable", default=True
)
ZONE_AMBER_MAX: Final = _n(
    "ZONE_AMBER_MAX", 5, "B1", "pain during exercise up to 5/10 is acceptable"
)

# R1 stop on sharp pain
R1_CLEAN_SESSIONS_TO_UNFREEZE: Final = _n(
    "R1_CLEAN_SESSIONS_TO_UNFREEZE", 2, "R1", "if extreme pain occurs, stop", default=True
)

# R2 24-hour pain
R2_LASTING_HOURS: Final = _n("R2_LASTING_HOURS", 24, "R2", "if pain lasts for 24 hours")
R2_SESSION_LOOKBACK_HOURS: Final = _n(
    "R2_SESSION_LOOKBACK_HOURS",
    48,
    "R2",
    "ease back slightly in the following session",
    default=True,
)

# R4 revert on setback
R4_TREND_WINDOW_DAYS: Final = _n(
    "R4_TREND_WINDOW_DAYS", 7, "R4", "revert if necessary", default=True
)
R4_TREND_RISE_POINTS: Final = _n(
    "R4_TREND_RISE_POINTS", 2.0, "R4", "revert if necessary", default=True
)

# D1 twisting and the early phase
D1_EARLY_PHASE_DAYS: Final = _n("D1_EARLY_PHASE_DAYS", 28, "D1", "avoid ... twisting", default=True)
D1_QUIET_DAYS: Final = _n("D1_QUIET_DAYS", 14, "D1", "avoid ... twisting", default=True)

# D2 running and high impact
D2_NO_RED_PAIN_DAYS: Final = _n(
    "D2_NO_RED_PAIN_DAYS", 28, "D2", "move on to jogging and running", default=True
)

# D4 ease back
D4_HOLD_STEP_S: Final = _n("D4_HOLD_STEP_S", 5, "D4", "ease back slightly")
D4_LOAD_STEP_PCT: Final = _n("D4_LOAD_STEP_PCT", 10, "D4", "ease back slightly")
D4_REP_STEP: Final = _n("D4_REP_STEP", 2, "D4", "ease back slightly")
D4_CARDIO_STEP_PCT: Final = _n("D4_CARDIO_STEP_PCT", 10, "D4", "ease back slightly")

# D6 flare-up, F3 cold and heat
D6_FLARE_RISE_POINTS: Final = _n(
    "D6_FLARE_RISE_POINTS", 2, "D6", "2 points or 30 % is a meaningful change"
)
F3_COLD_WINDOW_HOURS: Final = _n("F3_COLD_WINDOW_HOURS", 72, "F3", "within 48-72 hours of injury")
F3_COLD_ON_MIN: Final = _n("F3_COLD_ON_MIN", 15, "F3", "wrap it in cloth for 15 mins")
F3_COLD_OFF_MIN: Final = _n("F3_COLD_OFF_MIN", 10, "F3", "then take off for 10 mins")

# F1, F2 frequency and recovery
F1_MIN_SESSIONS_PER_WEEK: Final = _n(
    "F1_MIN_SESSIONS_PER_WEEK", 3, "F1", "at least three times a week"
)
F2_REST_DAYS_MIN: Final = _n("F2_REST_DAYS_MIN", 2, "F2", "plan 2-3 complete resting days")
F2_REST_DAYS_MAX: Final = _n("F2_REST_DAYS_MAX", 3, "F2", "plan 2-3 complete resting days")

# G1 goals
G1_NEXT_GOAL_PCT: Final = _n(
    "G1_NEXT_GOAL_PCT", 10, "G1", "set a goal that is attainable", default=True
)

# B3 deload week
B3_WEEKS_BEFORE_DELOAD: Final = _n(
    "B3_WEEKS_BEFORE_DELOAD", 5, "B3", "a lighter week every 5 weeks", default=True
)
B3_DELOAD_CARDIO_FACTOR: Final = _n(
    "B3_DELOAD_CARDIO_FACTOR", 0.7, "B3", "a lighter week", default=True
)

# B4 acute:chronic workload (D8: load = RPE x minutes)
B4_ACUTE_DAYS: Final = _n("B4_ACUTE_DAYS", 7, "B4", "7-day load")
B4_CHRONIC_DAYS: Final = _n(
    "B4_CHRONIC_DAYS", 28, "B4", "28-day load; used only once 28 days of data exist"
)
B4_TARGET_RATIO: Final = _n("B4_TARGET_RATIO", 1.3, "B4", "at or below about 1.3")
B4_MAX_RATIO: Final = _n("B4_MAX_RATIO", 1.5, "B4", "never above 1.5")

# Presentation
RECENT_CHANGES_SHOWN: Final = _n(
    "RECENT_CHANGES_SHOWN", 12, "G1", "what the planner must be able to say", default=True
)

# Which session a pain report belongs to when it names none
PAIN_SESSION_WINDOW_HOURS: Final = _n(
    "PAIN_SESSION_WINDOW_HOURS", 6, "R1", "listen to your body during the session", default=True
)


# --- Rules 2026.12-1: the December 2026 decisions on pain and safety -------------------------

RULES.update(
    {
        r.id: r
        for r in (
            Rule(
                "D9",
                "tolerable amber",
                "Pain-monitoring model: up to 5/10 during, back to usual by the next morning, "
                "not rising: progress at half pace.",
            ),
            Rule(
                "D12",
                "R2 is lasting exercise pain",
                "Pain 24 h after at or above usual + 2, or red: ease back one dimension.",
            ),
            Rule(
                "D13",
                "a flare eases what caused it",
                "A flare attributed to strength, stretch or cardio eases that kind and freezes it.",
            ),
            Rule(
                "D14",
                "back from a break",
                "After 14 days without a session (or a red-flag pause), one step down per week "
                "missed; B4 guards the ramp.",
            ),
            Rule(
                "D21",
                "a red pain report finds its session",
                "A report naming an exercise but no session: the latest session with it in 24 h.",
            ),
            Rule("D22", "the 7-day pace is 7 local days", "Don't progress too quickly."),
        )
    }
)

# R6: the one clearance scope that ends a red-flag pause, either tier (finding 4)
R6_RESUME_SCOPE: Final = _n(
    "R6_RESUME_SCOPE", "red_flag_reviewed", "R6", "seek medical help", default=True
)

# Evidence gates (finding 3): a week counts as "without amber or red pain" only with sessions
EVIDENCE_SESSIONS_PER_WEEK: Final = _n(
    "EVIDENCE_SESSIONS_PER_WEEK", 2, "D1", "silence is not pain-free", default=True
)

# S2 holds while pain is above green (finding 2): loaded twisting and running are parked
S2_PAIN_WINDOW_DAYS: Final = _n(
    "S2_PAIN_WINDOW_DAYS", 7, "S2", "avoid ... twisting while pain is above green", default=True
)

# D12 R2 is lasting exercise pain: 24-hour pain this far above usual (or red) eases back
D12_R2_RISE_POINTS: Final = _n(
    "D12_R2_RISE_POINTS", 2, "D12", "2 points or 30 % is a meaningful change"
)

# D21 a red pain report finds its session
D21_LOOKBACK_HOURS: Final = _n(
    "D21_LOOKBACK_HOURS", 24, "D21", "if extreme pain occurs, stop", default=True
)

# D13 a flare eases what caused it
D13_CLEAN_SESSIONS_TO_UNFREEZE: Final = _n(
    "D13_CLEAN_SESSIONS_TO_UNFREEZE", 2, "D13", "don't progress too quickly", default=True
)

# D14 back from a break; B4 guards the ramp after it (finding 7)
D14_BREAK_DAYS: Final = _n("D14_BREAK_DAYS", 14, "D14", "revert if necessary", default=True)
D14_MAX_STEPS: Final = _n("D14_MAX_STEPS", 3, "D14", "take things slowly", default=True)
B4_GUARD_MAX_STEPS: Final = _n("B4_GUARD_MAX_STEPS", 3, "B4", "never above 1.5", default=True)
B4_SECONDS_PER_REP: Final = _n("B4_SECONDS_PER_REP", 3, "B4", "a session's time", default=True)
B4_REST_BETWEEN_SETS_S: Final = _n(
    "B4_REST_BETWEEN_SETS_S", 60, "B4", "allowing rest and recovery time between sets", default=True
)

# D9 tolerable amber (pain-monitoring model)
D9_SETTLED_POINTS: Final = _n(
    "D9_SETTLED_POINTS", 1, "D9", "back to its usual level by the next morning", default=True
)
D9_MIN_DAYS_BETWEEN_STEPS: Final = _n(
    "D9_MIN_DAYS_BETWEEN_STEPS", 14, "D9", "don't progress too quickly", default=True
)

# D10 plateau review
D10_PLATEAU_DAYS: Final = _n(
    "D10_PLATEAU_DAYS", 28, "D10", "four weeks of sessions with no step-up", default=True
)
D10_MIN_SESSIONS: Final = _n(
    "D10_MIN_SESSIONS",
    4,
    "D10",
    "weeks of sessions: at least 4 since the last step-up",
    default=True,
)

# D11 a session stays a session
D11_MAX_STEPS_PER_SESSION: Final = _n(
    "D11_MAX_STEPS_PER_SESSION",
    3,
    "D11",
    "at most 3 exercises step up at one session",
    default=True,
)
D11_SESSION_BUDGET_MIN: Final = _n(
    "D11_SESSION_BUDGET_MIN",
    60,
    "D11",
    "a session's estimated time stays within 60 min",
    default=True,
)
D11_BUDGET_MIN_MIN: Final = _n(
    "D11_BUDGET_MIN_MIN", 20, "D11", "baseline.assessed.session_budget_min, 20-120"
)
D11_BUDGET_MAX_MIN: Final = _n(
    "D11_BUDGET_MAX_MIN", 120, "D11", "baseline.assessed.session_budget_min, 20-120"
)
D11_SECONDS_PER_REP: Final = _n("D11_SECONDS_PER_REP", 3, "D11", "~3 s a rep", default=True)
D11_REST_BETWEEN_SETS_S: Final = _n(
    "D11_REST_BETWEEN_SETS_S", 60, "D11", "60 s rest between sets", default=True
)

# D15 doing more is not a reason to jump
D15_LOAD_OVER_PCT: Final = _n(
    "D15_LOAD_OVER_PCT", 10, "D15", "a load over 10 % more than prescribed", default=True
)
D15_CARDIO_OVER_PCT: Final = _n(
    "D15_CARDIO_OVER_PCT", 20, "D15", "cardio over 20 % longer than prescribed", default=True
)

# D16 rest between hard days
D16_REST_DAYS_BETWEEN: Final = _n(
    "D16_REST_DAYS_BETWEEN", 1, "D16", "3 times a week, on non-consecutive days"
)

# D18 sprints stay short (intervals' hard parts stop at 3 minutes)
D18_SPRINT_HARD_MAX_S: Final = _n(
    "D18_SPRINT_HARD_MAX_S", 30, "D18", "hill-sprint hard parts are at most 30 s", default=True
)
D18_SPRINT_EASY_MIN: Final = _n(
    "D18_SPRINT_EASY_MIN", 2.0, "D18", "walk back down between sprints", default=True
)
D18_SPRINT_ROUNDS_START: Final = _n(
    "D18_SPRINT_ROUNDS_START", 4, "D18", "start with low intensity", default=True
)
D18_SPRINT_ROUNDS_MAX: Final = _n(
    "D18_SPRINT_ROUNDS_MAX", 8, "D18", "they progress by repetitions (up to 8)", default=True
)
D18_INTERVAL_HARD_CAP_MIN: Final = _n(
    "D18_INTERVAL_HARD_CAP_MIN", 3.0, "D18", "intervals' hard parts stop at 3 minutes"
)

# D19 swimming
D19_SWIM_SESSIONS_PER_WEEK: Final = _n(
    "D19_SWIM_SESSIONS_PER_WEEK", 2, "D19", "swim for low-impact cardio", default=True
)

# D20 maintenance
D20_WEEKLY_CARDIO_CAP_MIN: Final = _n(
    "D20_WEEKLY_CARDIO_CAP_MIN", 150, "D20", "150 minutes a week, the WHO adult minimum"
)
