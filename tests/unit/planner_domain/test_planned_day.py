"""D11 and D20 asked of many tracks at once (`PlannedDay`, taken once per routine) answer what
asking each track on its own over `planned(state)` answers, to the last bit: whole-second doses
kept summed, fractional ones (a sprint's hard seconds) added up in order."""

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from planner.domain import rules_table as t
from planner.domain.exercises import EXERCISES
from planner.domain.holds import holding
from planner.domain.routine import Dose, Hold, Interval
from planner.domain.rules.progression import PlannedDay, planned
from planner.domain.session_time import budget_min, estimate_min, weekly_cardio_min
from planner.domain.state import State, Track, Why

AT = datetime(2026, 3, 1, tzinfo=UTC)
WHY = Why("S1", "", (), AT)


def rest_of(state: State, track: Track) -> list[tuple[str, Dose]]:
    """planned(state) but `track`'s dose (what is parked always stays)."""
    pairs = planned(state)
    kept = [pair for key, pair in zip(state.tracks, pairs, strict=False) if key != track.key]
    return kept + pairs[len(state.tracks) :]


def rescan_admits(state: State, track: Track, dose: Dose) -> Hold | None:
    """session_admits as it was written before PlannedDay: the planned doses listed again."""
    rest = rest_of(state, track)
    before = [(track.key[0], track.rx.dose)]
    after = [(track.key[0], dose)]
    budget = budget_min(state.baseline)
    if estimate_min(rest + after) > budget and estimate_min(after) > estimate_min(before):
        return holding("d11_budget", budget=budget)
    if weekly_cardio_min(rest + after) > t.D20_WEEKLY_CARDIO_CAP_MIN and weekly_cardio_min(
        after
    ) > weekly_cardio_min(before):
        return holding("d20_weekly_cardio")
    return None


# whole and fractional values alike: halves, thirds (a sprint's 10 s is 1/6 of a minute)
amounts = st.one_of(
    st.integers(min_value=1, max_value=90).map(float),
    st.integers(min_value=1, max_value=180).map(lambda n: n / 6),
)
intervals = st.builds(Interval, amounts, amounts, st.integers(1, 10), st.just("low"))
doses = st.builds(
    Dose,
    hold_s=st.none() | amounts,
    sets=st.none() | st.integers(1, 5),
    reps=st.none() | st.integers(1, 20),
    duration_min=st.none() | amounts,
    interval=st.none() | intervals,
    sessions_per_week=st.none() | st.integers(1, 7),
)
slugs = st.sampled_from(sorted(EXERCISES))


@given(
    st.lists(st.tuples(slugs, doses), min_size=1, max_size=14, unique_by=lambda x: x[0]),
    st.lists(st.tuples(slugs, doses), max_size=3, unique_by=lambda x: x[0]),
    st.none() | st.integers(min_value=20, max_value=120),
    st.data(),
)
def test_planned_day_answers_what_each_track_asked_alone_answers(tracks, parked, budget, data):
    state = State(baseline=None if budget is None else {"session_budget_min": budget})
    for slug, dose in tracks:
        ex = EXERCISES[slug]
        state.add(ex, block=ex.block, kind=ex.block, dose=dose, level=0, why=WHY)
    for slug, dose in parked:
        ex = EXERCISES[slug]
        state.parked[(ex.block, slug)] = _parked(ex.block, slug, dose)  # R3: waits to return
    day = PlannedDay(state)
    assert day.weekly_cardio_min == weekly_cardio_min(planned(state))
    for track in list(state.tracks.values()):
        dose = data.draw(doses)
        estimate = estimate_min([*rest_of(state, track), (track.key[0], dose)])
        assert day.minutes_with(track, dose) == estimate  # equal floats: the same bits
        assert day.admits(track, dose) == rescan_admits(state, track, dose)


def _parked(block: str, slug: str, dose: Dose) -> Track:
    scratch = State()
    return scratch.add(EXERCISES[slug], block=block, kind=block, dose=dose, level=0, why=WHY)
