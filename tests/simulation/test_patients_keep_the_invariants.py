"""The patient simulator's deterministic set: one patient of each model (the time-zone model twice:
at -10:00 and at +13:00), fixed seeds, 18 weeks, and zero violations of DOMAIN.md's invariants.
`make simulate` runs the randomized population."""

import pytest

from tests.simulation.cases import CASES, WEEKS
from tests.simulation.driver import PatientResult, simulate
from tests.simulation.patients import Patient


def _explain(result: PatientResult) -> str:
    lines = [f"{result.model} seed {result.seed}: violations of DOMAIN.md invariants"]
    for name, count in sorted(result.violations.items()):
        lines.append(f"  {name}: {count}, e.g. {'; '.join(result.examples.get(name, []))}")
    return "\n".join(lines)


@pytest.mark.simulation
@pytest.mark.parametrize(("model", "seed"), CASES, ids=[f"{m.model}-{s}" for m, s in CASES])
def test_simulated_patient_keeps_every_invariant(model: type[Patient], seed: int) -> None:
    result = simulate(model, seed, WEEKS)
    assert result.sessions > 0
    assert not result.violations, _explain(result)
