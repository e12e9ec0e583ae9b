"""Reachability goals (Stateright's `sometimes`, DSLabs' goals). A run that never elects a
leader or commits an entry has checked nothing interesting, however green its invariants are,
so every report says which of these were reached."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the state type, for annotations only
    from raftcheck.model.state import World


def leader_elected(world: World) -> bool:
    return bool(world.history.leaders)


def entry_committed(world: World) -> bool:
    return bool(world.history.committed)


def leader_replaced(world: World) -> bool:
    """A leader was elected in a later term than an earlier leader."""
    return len({term for term, _ in world.history.leaders}) >= 2


def entry_applied_everywhere(world: World) -> bool:
    """Every server is up and has applied at least one entry."""
    return all(node is not None and node.last_applied >= 1 for node in world.nodes)


GOALS: dict[str, Callable[[World], bool]] = {
    "leader elected": leader_elected,
    "entry committed": entry_committed,
    "leader replaced": leader_replaced,
    "entry applied on every node": entry_applied_everywhere,
}


def goals_reached(world: World) -> frozenset[str]:
    return frozenset(name for name, reached in GOALS.items() if reached(world))
