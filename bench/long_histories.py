"""Long single-user histories for the per-event fold figure: a simulated patient (the patient
simulator of tests/simulation, its checks left out) following its routine for W weeks.

Deterministic: the same model, seed and weeks give the same events. Made once per process.
"""

import functools
import random
from typing import Any

from planner.domain.history import LoggedEvent
from planner.domain.routine import Routine
from tests.simulation.driver import Simulation
from tests.simulation.patients import MODEL_NAMES, first_day

MODEL = "tolerable_amber"  # trains as planned; amber pain during that settles by morning
SEED = 7


class _Unchecked(Simulation):
    """The simulation without its invariant checks: only the events it sends are wanted."""

    def _check(self, event: LoggedEvent, routine: Routine, session: Any) -> None:
        self.routine = routine
        self.result.events += 1

    def _check_instant(self, routine: Routine, as_of: Any) -> None:
        pass


@functools.cache
def history(weeks: int, model: str = MODEL, seed: int = SEED) -> tuple[LoggedEvent, ...]:
    """One patient's events over `weeks` weeks, in the order they were sent."""
    rng = random.Random(f"{model}/{seed}")
    patient = MODEL_NAMES[model](rng, weeks)
    simulation = _Unchecked(patient, seed, first_day(rng))
    simulation.run()
    return tuple(simulation.history)
