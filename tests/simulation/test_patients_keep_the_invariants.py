"""The patient simulator's deterministic set: one patient of each model, a fixed seed, 18 weeks,
and zero violations of DOMAIN.md's invariants. `make simulate` runs the randomized population."""

import pytest

from tests.simulation.driver import PatientResult, simulate
from tests.simulation.patients import MODELS, Patient

WEEKS = 18  # long enough for every model's events (red flags, flares, breaks) to happen
SEED = 7


def _explain(result: PatientResult) -> str:
    lines = [f"{result.model} seed {result.seed}: violations of DOMAIN.md invariants"]
    for name, count in sorted(result.violations.items()):
        lines.append(f"  {name}: {count}, e.g. {'; '.join(result.examples.get(name, []))}")
    return "\n".join(lines)


@pytest.mark.simulation
@pytest.mark.parametrize("model", MODELS, ids=[m.model for m in MODELS])
def test_simulated_patient_keeps_every_invariant(model: type[Patient]) -> None:
    result = simulate(model, SEED, WEEKS)
    assert result.sessions > 0
    assert not result.violations, _explain(result)
