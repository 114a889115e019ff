"""The printed summary: violations per invariant, and per patient model what the routine did."""

from collections import Counter, defaultdict
from statistics import mean, median

from tests.simulation.checks import ALL_CHECKS
from tests.simulation.driver import MILESTONES, PatientResult


def invariant_table(results: list[PatientResult]) -> str:
    total: Counter[str] = Counter()
    patients: Counter[str] = Counter()
    example: dict[str, str] = {}
    for r in results:
        for name, count in r.violations.items():
            total[name] += count
            patients[name] += 1
            if name not in example and r.examples.get(name):
                example[name] = f"{r.model}#{r.seed} {r.examples[name][0]}"
    rows: list[tuple[str, ...]] = [("invariant", "rule", "violations", "patients", "first example")]
    for name, rule in ALL_CHECKS.items():
        rows.append((name, rule, str(total[name]), str(patients[name]), example.get(name, "")))
    return _table(rows, clip=110)


def model_table(results: list[PatientResult]) -> str:
    by_model: dict[str, list[PatientResult]] = defaultdict(list)
    for r in results:
        by_model[r.model].append(r)
    head = ("model", "n", "sess/wk", "full min", "max min", "wk min", "ups/sess", "max ups")
    rows: list[tuple[str, ...]] = [head + tuple(f"wk:{m}" for m in MILESTONES)]
    for model, rs in by_model.items():
        weeks = sum(r.weeks for r in rs)
        sessions = sum(r.sessions for r in rs)
        full = [x for r in rs for x in r.full_session_minutes]
        ups = [x for r in rs for x in r.step_ups_per_session]
        row = (
            model,
            str(len(rs)),
            f"{sessions / weeks:.1f}",
            f"{mean(full):.0f}" if full else "-",
            f"{max(full):.0f}" if full else "-",
            f"{sum(r.prescribed_minutes for r in rs) / weeks:.0f}",
            f"{mean(ups):.2f}" if ups else "-",
            str(max(ups)) if ups else "-",
        )
        milestones = []
        for m in MILESTONES:
            days = [r.reached[m] for r in rs if m in r.reached]
            share = 100 * len(days) // len(rs)
            milestones.append(f"{median(days) / 7:.0f} ({share}%)" if days else "never")
        rows.append(row + tuple(milestones))
    notes = (
        "sess/wk: sessions a week; full min: D11 estimate of a strength/core session as prescribed; "
        "wk min: prescribed minutes a week;\nups/sess: step-ups a session (at it, or at the report that settled it: D9); wk:<milestone>: median "
        "week it was first prescribed (share of patients that reached it)."
    )
    return _table(rows) + "\n" + notes


def _table(rows: list[tuple[str, ...]], clip: int = 60) -> str:
    rows = [tuple(c if len(c) <= clip else c[: clip - 1] + "…" for c in r) for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
