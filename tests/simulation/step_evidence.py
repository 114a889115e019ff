"""The evidence behind each step-up, judged when the next session starts: by then every pain
report about the session that earned the step is in, and a step the rules undid on that pain
(R5, B1) is no longer standing and is not judged.
"""

from collections.abc import Callable
from datetime import timedelta

from tests.simulation.moment import PendingStep
from tests.simulation.patients import Patient
from tests.simulation.record import AMBER_MAX, GREEN_MAX, Record, SessionRecord

SESSIONS_AT_DOSE = 2  # P5
AMBER_PACE_DAYS = 14  # D9: half pace


def _at_the_dose(step: PendingStep, record: Record, patient: Patient) -> list[SessionRecord]:
    """Sessions since the dose was set, where the exercise was done in full at that very dose,
    without red pain and without pain lasting 24 hours (usual + 2) after it."""
    out = []
    for s in record.sessions:
        if s.at > step.session.at or (step.dose_since is not None and s.at <= step.dose_since):
            continue
        done = s.done.get(step.key)
        if done is None or done.rx.dose != step.change.before or not done.at_dose or done.stopped:
            continue
        during = s.during_max(step.key[1])
        lasting = s.lasting()
        if during is not None and during > AMBER_MAX:
            continue
        if lasting is not None and (lasting >= record.usual_pain + 2 or lasting > AMBER_MAX):
            continue
        out.append(s)
    return out


def p5_two_clean_sessions_at_the_dose(
    step: PendingStep, record: Record, patient: Patient
) -> list[str]:
    """P5: a step only after 2 completed sessions at the current dose with no red pain."""
    clean = _at_the_dose(step, record, patient)
    if len(clean) < SESSIONS_AT_DOSE:
        return [f"{step.key[1]} stepped up after {len(clean)} clean session(s) at its dose"]
    return []


def d16_day_after_a_hard_day_does_not_count(
    step: PendingStep, record: Record, patient: Patient
) -> list[str]:
    """D16: a strength or core session on the local day after another does not count for P5."""
    if step.key[0] not in ("strength", "core"):
        return []
    hard_days = {s.day for s in record.sessions if s.hard}
    counted = [
        s for s in _at_the_dose(step, record, patient) if s.day - timedelta(days=1) not in hard_days
    ]
    if len(counted) < SESSIONS_AT_DOSE:
        return [f"{step.key[1]} stepped up counting a session on the day after a hard day"]
    return []


def _amber_evidence(step: PendingStep, record: Record, patient: Patient) -> list[SessionRecord]:
    clean = _at_the_dose(step, record, patient)[-SESSIONS_AT_DOSE:]
    return [s for s in clean if (s.during_max(step.key[1]) or 0) > GREEN_MAX]


def d9_no_step_on_unsettled_amber(step: PendingStep, record: Record, patient: Patient) -> list[str]:
    """D9/R5: amber that is not back to usual + 1 by the next morning (or never reported) holds
    the dose."""
    out = []
    for s in _amber_evidence(step, record, patient):
        morning = s.next_morning()
        if morning is None or morning > record.usual_pain + 1:
            out.append(
                f"{step.key[1]} stepped up on amber {s.during_max(step.key[1])} of {s.day} "
                f"with next morning {morning} (usual {record.usual_pain})"
            )
    return out


def d9_amber_steps_at_half_pace(step: PendingStep, record: Record, patient: Patient) -> list[str]:
    """D9: progression on tolerable amber is at most one step per 14 days."""
    if not _amber_evidence(step, record, patient) or step.previous_up is None:
        return []
    clock = patient.clock
    days = (clock.local_day(step.change.at) - clock.local_day(step.previous_up)).days
    if days < AMBER_PACE_DAYS:
        return [f"{step.key[1]} stepped up on amber {days} days after its previous step"]
    return []


StepCheck = Callable[[PendingStep, Record, Patient], list[str]]
