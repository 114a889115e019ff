"""Which partitions an instance should hold. Pure.

The broker balances nothing between planners: a queue with single active consumer gives every
delivery to its first consumer for as long as it stays, so a planner started later would only
wait. So the planners agree, through claims in their database, on an even split: with N live
instances and P partitions, the instance ranked r (by name) holds P // N partitions, plus one
when r < P % N. The targets add up to P, so once each instance has released what it holds
beyond its target and taken free partitions up to it, every partition has exactly one holder.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass


def target(partitions: int, live: Sequence[str], me: str) -> int:
    """How many partitions `me` should hold among the live instances (me among them)."""
    ranked = sorted({*live, me})
    rank = ranked.index(me)
    return partitions // len(ranked) + (1 if rank < partitions % len(ranked) else 0)


@dataclass(frozen=True)
class Moves:
    take: tuple[int, ...] = ()
    release: tuple[int, ...] = ()


def moves(
    partitions: int,
    live: Sequence[str],
    me: str,
    held: Collection[int],
    free: Collection[int],
) -> Moves:
    """What `me` does next: release its highest partitions beyond its target, or take its
    lowest free ones up to it. A partition of a dead instance is free once its claim lapsed."""
    goal = target(partitions, live, me)
    mine = sorted(p for p in held if p < partitions)
    extra = [p for p in held if p >= partitions]  # PLANNER_PARTITIONS was lowered
    if len(mine) > goal:
        return Moves(release=tuple(mine[goal:] + extra))
    takeable = sorted(p for p in free if p < partitions and p not in held)
    return Moves(take=tuple(takeable[: goal - len(mine)]), release=tuple(extra))
