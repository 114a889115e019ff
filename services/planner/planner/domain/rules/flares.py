"""D13: a flare-up attributed to strength, stretch or cardio work eases that kind one step and
freezes it for 2 clean sessions (a core flare keeps R3: held out until a doctor is seen)."""

from datetime import datetime

from planner.domain import rules_table as t
from planner.domain.ladder import ex_name
from planner.domain.routine import Hold
from planner.domain.rules.ease import d12_ease_one_dimension
from planner.domain.state import State, Why

EASED_BY_FLARE = ("strength", "stretching", "cardio")


def d13_ease_what_caused_it(
    state: State, block: str, causes: tuple[str, ...], at: datetime
) -> None:
    if block not in EASED_BY_FLARE:
        return
    for key in sorted(k for k in state.tracks if k[0] == block):
        track = state.tracks[key]
        last = track.rx.last_change
        already = last.caused_by == causes and last.direction in ("down", "revert")
        if not already:  # R2 may have eased it for the same report: one step, not two
            standing, level = state.standing(track)
            lower = d12_ease_one_dimension(state, track, standing, level)
            if lower is not None:
                state.set_standing(
                    track,
                    why=Why(
                        "D13",
                        f"A flare-up you put down to {block} work: {ex_name(track.ex)} eases "
                        f"one step and stays there for {t.D13_CLEAN_SESSIONS_TO_UNFREEZE} "
                        "sessions without pain.",
                        causes,
                        at,
                    ),
                    dose=lower[0],
                    level=lower[1],
                    direction="down",
                )
        track.frozen_clean_needed = max(track.frozen_clean_needed, t.D13_CLEAN_SESSIONS_TO_UNFREEZE)
        track.hold = Hold(
            "D13",
            f"Waiting for {t.D13_CLEAN_SESSIONS_TO_UNFREEZE} pain-free sessions after a flare-up.",
        )
