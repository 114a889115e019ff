"""The patients the invariant test simulates: every model at one seed, and one far time zone."""

from tests.simulation.patients import MODELS, FarTimeZone

WEEKS = 18  # long enough for every model's events (red flags, flares, breaks) to happen
SEED = 7
CASES = [(m, SEED) for m in MODELS] + [(FarTimeZone, 8)]  # seed 7 lives at -10:00, 8 at +13:00
