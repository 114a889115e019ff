"""What the progress page shows, from the routine, its versions and the events (pure)."""

import functools
import itertools
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from planner.domain import LoggedEvent, derive_routine, progress
from planner.domain.versions import replay_versions
from planner.views import charts, page_model
from planner.views.page_model import VersionEntry, dose_text, grouped

sys.path.insert(0, str(Path(__file__).parent / "planner_domain"))
from scenario_runner import load, play


@functools.cache  # a story is played once for the module: it is the slow part
def story(name: str) -> tuple[list[LoggedEvent], datetime]:
    events = play(load(name)).events
    return events, max(e.occurred_at for e in events)


def shown(name: str) -> page_model.Page:
    events, as_of = story(name)
    return page_model.page(
        user_id="ana",
        routine=derive_routine(events, as_of).to_dict(),
        versions=[v.as_json() for v in replay_versions(events)],
        progress=progress(events, as_of),
        events=events,
        as_of=as_of,
    )


def test_doses_read_as_a_person_says_them():
    assert dose_text({"sets": 3, "reps": 10, "load_kg": 5}) == "3 x 10 reps, 5 kg"
    assert dose_text({"sets": 2, "hold_s": 30, "sessions_per_week": 4}) == (
        "2 x 30 s hold, 4x a week"
    )
    assert dose_text({"duration_min": 12.5, "sessions_per_week": 3}) == "12.5 min, 3x a week"
    interval = {"rounds": 4, "hard_min": 1, "easy_min": 2, "intensity": "low"}
    assert dose_text({"interval": interval}) == "4 rounds of 1 min low + 2 min easy"
    assert dose_text({}) == "as tolerated"


def test_a_steady_story_shows_every_block_every_version_and_four_charts():
    page = shown("steady_progress.json")
    events, as_of = story("steady_progress.json")
    routine = derive_routine(events, as_of).to_dict()
    assert page.status == "active" and page.pause_reason is None
    assert [b.block.lower() for b in page.blocks] == [b["block"] for b in routine["blocks"]]
    versions = replay_versions(events)
    assert [v.version for g in page.timeline for v in g] == [v.version for v in reversed(versions)]
    assert page.timeline[-1][0].changes[0].what == "Routine started"
    assert [c.title for c in page.charts] == [
        "Weekly pain (0-10)",
        "Sessions and minutes",
        "Training load (RPE x minutes)",
        "Acute:chronic workload ratio",
    ]
    weeks = progress(events, as_of)["weeks"]
    for chart in page.charts:
        assert len(chart.labels) == len(weeks)
        assert all(len(values) == len(weeks) for _, values in chart.series)
    assert page.charts[1].series[0][1] == tuple(float(w["sessions"]) for w in weeks)
    assert page.charts[3].guides == (("Caution 1.3", 1.3), ("Too steep 1.5", 1.5))


def test_a_red_flag_story_shows_the_pause_and_no_exercise():
    events, _ = story("red_flag.json")
    flag = next(e for e in events if e.payload.get("red_flags"))
    during = [e for e in events if e.occurred_at <= flag.occurred_at]
    page = page_model.page(
        user_id="ana",
        routine=derive_routine(during, flag.occurred_at).to_dict(),
        versions=[v.as_json() for v in replay_versions(during)],
        progress=progress(during, flag.occurred_at),
        events=during,
        as_of=flag.occurred_at,
    )
    assert page.status == "paused" and page.pause_reason
    assert page.blocks == ()
    assert all(a["rule"] != "R6" for a in page.advice)  # shown in the pause, not twice


def _pain(score: int, timing: str, at: datetime) -> LoggedEvent:
    return LoggedEvent(
        event_id=f"p-{timing}-{at.isoformat()}",
        type="pain.reported",
        user_id="ana",
        occurred_at=at,
        stream_version=1,
        position=1,
        source={"kind": "app", "name": "t"},
        payload={"score": score, "timing": timing, "location": "lower back"},
    )


def test_pain_is_averaged_per_local_week_and_timing():
    monday = datetime(2026, 9, 7, 9, 0, tzinfo=UTC)
    events = [
        _pain(4, "during", monday),
        _pain(2, "after", monday + timedelta(days=1)),
        _pain(1, "next_morning", monday + timedelta(days=2)),
        _pain(3, "rest", monday + timedelta(days=8)),
    ]
    series = page_model.weekly_pain_by_timing(
        events, monday + timedelta(days=9), ["2026-09-07", "2026-09-14"]
    )
    assert series == (
        ("During exercise", (3.0, None)),
        ("Next morning", (1.0, None)),
        ("At rest", (None, 3.0)),
    )


def _entry(version: int, changed: bool) -> VersionEntry:
    line = page_model.ChangeLine("P1", "why", "Plank", "change", ())
    return VersionEntry(version, "", "2026.12-1", "active", (line,) if changed else (), ())


@given(st.lists(st.booleans(), max_size=30))
def test_the_timeline_keeps_every_version_in_order_and_folds_only_quiet_runs(changed):
    entries = [_entry(n, c) for n, c in enumerate(changed)]
    groups = grouped(entries)
    assert [e for g in groups for e in g] == entries
    for group in groups:
        assert len(group) == 1 or not any(e.changes for e in group)
    for before, after in itertools.pairwise(groups):
        assert before[0].changes or after[0].changes  # two quiet runs are never side by side


def test_charts_are_svg_with_a_text_alternative_and_no_script():
    page = shown("steady_progress.json")
    for chart in page.charts:
        for narrow in (False, True):
            drawn = charts.svg(chart, "c", narrow=narrow)
            assert drawn.startswith("<svg ") and 'role="img"' in drawn
            assert 'aria-labelledby="c-title"' in drawn and "<script" not in drawn
            assert chart.summary
