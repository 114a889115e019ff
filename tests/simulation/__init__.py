"""A patient simulator: simulated patients follow the routine the planner gives them, send the
events an app would send, and every routine is checked against the invariants of DOMAIN.md.

    python -m tests.simulation --patients 500 --weeks 26 --seed 1 [--jobs 2] [--models a,b]
    make simulate SIMULATE_ARGS="--patients 50 --weeks 26 --seed 3 --examples"

It exits 1 when any invariant is violated. One patient of each model, 18 weeks, runs in
`make test` (test_patients_keep_the_invariants.py).

The modules:
- patients.py: the patient models, one small class each (how it attends, performs, reports pain).
- driver.py: one patient day by day: it opens its routine at the instant it trains, does the
  planned day, sends its events through the incremental fold, and has each routine checked.
- record.py: what the patient really did and reported, in its own local calendar: the evidence.
- doses.py: DOMAIN.md's dose arithmetic (steps, session time, a way up), written apart from the
  planner's ladder so the rules are not proved with themselves.
- routine_checks.py, event_checks.py, step_evidence.py, instant_checks.py: the invariants, one
  function each, named after what it checks; checks.py lists them with their rule ids.
- report.py: the printed tables.

Adding an invariant: a function in the module whose input it reads, and a line in checks.py.

Readings the checks take where DOMAIN.md leaves room (each is the least DOMAIN.md asks):
- Pain zones apply to pain during (or right after) exercise and to declared flares; the S2 gates
  and the "last 7 days" read those. "N quiet weeks" pass as sliding 7-day windows ending at the
  routine's instant or as whole local calendar weeks, each with >= 2 logged sessions.
- A step-up is judged (P5, D9, D16) at the next session, once every report about the session that
  earned it is in; a step the rules undid meanwhile (R5, B1) is not judged.
- D17: the first external load may not come with a change of variation (the catalogue's "holding a
  light weight" form counts as a new variation).
- B4 is judged on what was prescribed and done (RPE x D11's estimate), once 28 days of data exist;
  when the 21 days before the last 7 hold no load the ratio is 4 whatever the dose, and it is not
  judged (counted in the summary).
- D20 `maintenance` and D11's session estimate are read from the routine if present; a dose with no
  way up and no `maintenance` field is reported as "no `maintenance` field".
"""
