"""The progression rules: a user's logged events in, a safely progressed routine and its reasons out.

Pure and deterministic: no I/O, no clock (the instant is an argument), no shared state.
"""

from planner.domain.engine import derive_routine
from planner.domain.history import LoggedEvent
from planner.domain.progress import progress
from planner.domain.routine import Change, Dose, Prescription, Routine
from planner.domain.rules_table import RULES_VERSION

__all__ = [
    "RULES_VERSION",
    "Change",
    "Dose",
    "LoggedEvent",
    "Prescription",
    "Routine",
    "derive_routine",
    "progress",
]
