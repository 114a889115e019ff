"""Every invariant the simulator checks, with the DOMAIN.md rule id it rests on, in one place.

MOMENT_CHECKS run after every event (on the routine it produced); STEP_CHECKS judge each
step-up at the next session; INSTANT_CHECKS run on a routine derived at a later instant.
"""

from tests.simulation import event_checks as e
from tests.simulation import instant_checks as i
from tests.simulation import routine_checks as r
from tests.simulation import step_evidence as s
from tests.simulation.instant_checks import InstantCheck
from tests.simulation.moment import Check
from tests.simulation.step_evidence import StepCheck

MOMENT_CHECKS: dict[str, tuple[str, Check]] = {
    f.__name__: (rule, f)
    for rule, f in (
        ("P2/P3", r.reps_within_range),
        ("P2", e.load_steps_at_most_10_percent_in_half_kg),
        ("P1/P3", e.hold_steps_at_most_10_s),
        ("P5/D22", e.one_step_per_7_local_days),
        ("P5/D12", e.one_dimension_per_change),
        ("D17", e.first_external_load_comes_alone),
        ("D11", e.at_most_3_step_ups_per_session),
        ("D11", r.session_within_budget),
        ("D11", r.the_routine_states_its_session_estimate),
        ("D20", r.weekly_cardio_at_most_150_min),
        ("dose", r.the_plan_keeps_to_sessions_per_week),
        ("D20", r.every_dose_has_a_way_up),
        ("Dec", r.ease_back_never_below_first_load),
        ("S2/D1", r.s2_no_loaded_twisting_before_its_gates),
        ("S2/D2", r.s2_no_running_before_its_gates),
        ("S2/D2", r.s2_no_high_impact_before_its_gates),
        ("Dec", r.one_interval_form_at_a_time),
        ("D18", r.interval_hard_parts_capped),
        ("R1/D21", e.r1_red_pain_regresses_the_exercise),
        ("R2/D12", e.no_step_up_after_24_hour_pain),
        ("D12", e.r2_fires_only_on_lasting_exercise_pain),
        ("R3", r.r3_core_held_out_until_a_core_clearance),
        ("Dec", e.a_clearance_resumes_only_what_it_names),
        ("R4", e.r4_reverts_the_whole_last_step),
        ("D13", e.d13_flare_eases_what_caused_it),
        ("R6/B2", r.red_flag_pauses_until_reviewed),
        ("D14", e.d14_back_from_a_break_resumes_lower),
        ("B4/D14", r.acute_chronic_ratio_at_most_1_5),
        ("P3/F2", r.no_strength_or_core_on_consecutive_days),
        ("F2", r.two_rest_days_a_week_when_the_plan_is_followed),
        ("Dec", r.plan_starts_at_the_instant_asked),
        ("D10", r.d10_a_plateau_is_reviewed),
        ("D15", r.over_performance_is_told),
        ("D19", r.pool_user_is_offered_swimming),
        ("all", r.every_change_names_its_rule_and_causes),
        ("contracts", e.the_contract_accepts_what_the_app_sends),
    )
}

STEP_CHECKS: dict[str, tuple[str, StepCheck]] = {
    f.__name__: (rule, f)
    for rule, f in (
        ("P5", s.p5_two_clean_sessions_at_the_dose),
        ("D16", s.d16_day_after_a_hard_day_does_not_count),
        ("D9/R5", s.d9_no_step_on_unsettled_amber),
        ("D9", s.d9_amber_steps_at_half_pace),
    )
}

INSTANT_CHECKS: dict[str, tuple[str, InstantCheck]] = {
    f.__name__: (rule, f)
    for rule, f in (
        ("F3/Dec", i.f3_cold_advice_expires),
        ("F1/Dec", i.f1_says_too_few_sessions),
        ("Dec", i.next_session_is_not_in_the_past),
    )
}

ALL_CHECKS: dict[str, str] = {
    name: rule
    for table in (MOMENT_CHECKS, STEP_CHECKS, INSTANT_CHECKS)
    for name, (rule, _) in table.items()
}
