"""A patient simulator: simulated patients follow the routine the planner gives them, send the
events an app would send, and every routine is checked against the invariants of DOMAIN.md.

`python -m tests.simulation --patients 500 --weeks 26 --seed 1` (or `make simulate`) runs a
randomized population and prints violations per invariant and a summary per patient model.
"""
