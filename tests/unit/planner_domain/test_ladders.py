"""The ladders: every dose a routine can reach has a way up, or is a declared maintenance ceiling.

Finding 1 of issue 11 (an ease-back from 5.0 or 5.5 kg landed on 4.5 kg, where +10 % rounded
down to 0.5 kg is no step: the calf raise stayed at 3 x 12 for good), D17 (external load is its
own step), D18 (sprints stay short) and D20 (maintenance at the top of a ladder).
"""

from collections import deque
from fractions import Fraction

from domain_builders import History
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.domain import rules_table as t
from planner.domain.exercises import EXERCISES
from planner.domain.ladder import (
    ease_back,
    next_step,
    starting_doses,
    starting_interval,
    starting_sprints,
)
from planner.domain.routine import Dose

# Loads climb for ever (+10 % a step); the search stops here, far above any first load.
_LOAD_SEARCH_KG = 40.0


def _reachable(slug: str) -> set[tuple[Dose, int]]:
    """Every (dose, level) reachable from the exercise's starting doses by steps up and down."""
    ex = EXERCISES[slug]
    todo = deque(starting_doses(ex))
    seen: set[tuple[Dose, int]] = set()
    while todo:
        dose, level = todo.popleft()
        if (dose, level) in seen or (dose.load_kg or 0) > _LOAD_SEARCH_KG:
            continue
        seen.add((dose, level))
        up = next_step(ex, dose, level)
        if up.dose is not None:
            todo.append((up.dose, up.level))
        down = ease_back(ex, dose, level)
        if down is not None:
            todo.append(down)
    return seen


def test_every_reachable_dose_has_a_way_up_or_is_a_declared_maintenance_ceiling():
    for slug, ex in EXERCISES.items():
        reachable = _reachable(slug)
        assert reachable, slug
        for dose, level in reachable:
            up = next_step(ex, dose, level)
            if up.dose is None:  # no step: only at the one ceiling the exercise declares
                assert up.rule == "D20" and up.reason, (slug, dose, level)
                assert (dose, level) == ex_ceiling(ex, reachable), (slug, dose, level)


def ex_ceiling(ex, reachable):
    tops = [(d, lv) for d, lv in reachable if next_step(ex, d, lv).dose is None]
    assert len(tops) <= 1, (ex.slug, tops)
    return tops[0]


def test_finding_1_ease_back_from_5_or_5_5_kg_never_lands_below_the_first_load():
    calf = EXERCISES["calf_raise"]
    top = len(calf.ladder) - 1
    at_5_5 = ease_back(calf, Dose(sets=3, reps=10, load_kg=5.5), top)
    assert at_5_5 == (Dose(sets=3, reps=10, load_kg=t.P2_FIRST_LOAD_KG), top)
    # below the first external load the exercise goes back to its unloaded form
    unloaded, level = ease_back(calf, Dose(sets=3, reps=10, load_kg=5.0), top)
    assert unloaded.load_kg is None and level == top
    assert next_step(calf, unloaded, level).dose is not None


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([s for s, e in EXERCISES.items() if e.first_load_kg]), st.data())
def test_load_steps_keep_the_10_percent_cap_and_the_equipment_step(slug, data):
    ex = EXERCISES[slug]
    doses = sorted(_reachable(slug), key=repr)
    dose, level = data.draw(st.sampled_from(doses))
    up = next_step(ex, dose, level)
    if up.dose is not None and dose.load_kg and up.dose.load_kg:
        assert Fraction(str(up.dose.load_kg)) <= Fraction(str(dose.load_kg)) * Fraction(11, 10)
        assert Fraction(str(up.dose.load_kg)) % Fraction(str(t.P2_EQUIPMENT_STEP_KG)) == 0
    down = ease_back(ex, dose, level)
    if down is not None and down[0].load_kg is not None:
        assert down[0].load_kg >= t.P2_FIRST_LOAD_KG


def test_d17_first_external_load_comes_alone_with_reps_back_at_8():
    for slug, ex in EXERCISES.items():
        for dose, level in _reachable(slug):
            up = next_step(ex, dose, level)
            if up.dose is None or dose.load_kg or not up.dose.load_kg:
                continue
            assert up.rule == "D17", slug
            assert up.level == level, f"{slug}: the first load came with a new variation"
            assert up.dose.reps == t.P2_REPS_MIN and up.dose.sets == dose.sets
            assert up.dose.load_kg == ex.first_load_kg


def test_d17_no_step_changes_the_variation_and_the_load_together():
    for slug, ex in EXERCISES.items():
        for dose, level in _reachable(slug):
            up = next_step(ex, dose, level)
            if up.dose is not None and up.level != level:
                assert up.dose.load_kg == dose.load_kg, slug


def test_d18_hill_sprints_stay_short_and_grow_by_repetitions_up_to_8():
    sprints = EXERCISES["hill_sprints"]
    assert starting_sprints().hard_min * 60 <= t.D18_SPRINT_HARD_MAX_S
    for dose, level in _reachable("hill_sprints"):
        assert dose.interval is not None
        assert dose.interval.hard_min * 60 <= t.D18_SPRINT_HARD_MAX_S
        assert dose.interval.rounds <= t.D18_SPRINT_ROUNDS_MAX
        up = next_step(sprints, dose, level)
        if up.dose is not None:
            assert up.dose.interval.hard_min == dose.interval.hard_min
            assert up.dose.interval.rounds == dose.interval.rounds + 1
    top = next_step(
        sprints,
        Dose(interval=starting_sprints().with_rounds(t.D18_SPRINT_ROUNDS_MAX), sessions_per_week=1),
        0,
    )
    assert top.dose is None and top.rule == "D20"


def test_d18_interval_hard_parts_stop_at_3_minutes():
    intervals = EXERCISES["intervals"]
    assert starting_interval().hard_min == t.P4_INTERVAL_HARD_MIN
    for dose, _ in _reachable("intervals"):
        assert dose.interval.hard_min <= t.D18_INTERVAL_HARD_CAP_MIN
    top = next_step(
        intervals,
        Dose(
            interval=starting_interval().with_hard(t.D18_INTERVAL_HARD_CAP_MIN), sessions_per_week=1
        ),
        0,
    )
    assert top.dose is None and top.rule == "D20"


def test_d20_the_top_of_a_ladder_is_marked_maintenance_with_a_reason():
    from planner.domain.engine import fold
    from planner.domain.output import build_routine
    from planner.domain.state import Why

    h = History()
    h.baseline(walk_min=10)
    state = fold(h.events)
    top = len(EXERCISES["cat_cow"].ladder) - 1
    track = state.tracks[("stretching", "cat_cow")]
    assert build_routine(state, h.at(1)).prescription("cat_cow").maintenance is None
    state.change(
        track,
        why=Why("P1", "test", (), h.at(1)),
        dose=Dose(hold_s=t.P1_HOLD_CAP_S, sets=2, sessions_per_week=4),
        level=top,
        direction="up",
    )
    marked = build_routine(state, h.at(1)).prescription("cat_cow")
    assert marked.maintenance is not None and marked.maintenance.rule == "D20"
    assert marked.to_dict()["maintenance"]["reason"]


def test_d13_an_ease_back_at_one_set_of_8_goes_back_a_form():
    """D4/D13: one set at the fewest reps in a harder form is not the bottom of the ladder: the
    step down is the previous form at the same reps and sets (one dimension, as planks do). The
    simulator found a strength flare leaving lunge at 1 x 8 in its second form, uneased."""
    moved = 0
    for slug, ex in EXERCISES.items():
        if ex.measure == "hold" or ex.block not in ("strength", "core"):
            continue
        floor = t.P2_REPS_MIN if ex.block == "strength" else t.P3_REPS_MIN
        for level in range(1, len(ex.ladder)):
            assert ease_back(ex, Dose(sets=1, reps=floor), level) == (
                Dose(sets=1, reps=floor),
                level - 1,
            ), (slug, level)
            moved += 1
        assert ease_back(ex, Dose(sets=1, reps=floor), 0) is None, slug
    assert moved  # some exercise has a harder form


def test_a_plank_at_its_floor_in_a_harder_form_goes_back_a_form():
    """Simulator (irregular#96508444, 52 weeks, seed 3, d14_back_from_a_break_resumes_lower):
    the full plank (a harder form) eased to the hold's floor, 2 x 20 s, had no step down, so a
    three-week break eased every exercise but the plank, and R1's "regress one step" could not
    regress it either. The step down is the easier form at the same hold (one dimension)."""
    plank = EXERCISES["plank"]
    assert len(plank.ladder) > 1
    dose = Dose(hold_s=t.P3_PLANK_FLOOR_S, sets=2, sessions_per_week=3)
    for level in range(1, len(plank.ladder)):
        assert ease_back(plank, dose, level) == (dose, level - 1), level
    assert ease_back(plank, dose, 0) is None  # the easiest form at the floor: the bottom
