"""Reachability goals (Stateright's `sometimes`, DSLabs' goals). A run that never elects a
leader or commits an entry has checked nothing interesting, however green its invariants are,
so every report says which of these were reached."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the state types, for annotations only
    from raftcheck.model.state import Bounds, Config, World


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


def _election_possible(config: Config, bounds: Bounds) -> bool:
    """A node reaches term 1 and wins it: alone, or with a message in flight at a time."""
    return bounds.max_term >= 1 and (config.cluster_size == 1 or bounds.max_messages >= 1)


def _entry_possible(config: Config, bounds: Bounds) -> bool:
    """An elected leader takes a client request."""
    return _election_possible(config, bounds) and bounds.max_log >= 1 and bounds.values >= 1


def _second_leader_possible(config: Config, bounds: Bounds) -> bool:
    """A second term, and a way to depose the first leader: another server, or a crash."""
    return (_election_possible(config, bounds) and bounds.max_term >= 2
            and (config.cluster_size > 1 or bounds.max_crashes != 0))


GOALS: dict[str, Callable[[World], bool]] = {
    "leader elected": leader_elected,
    "entry committed": entry_committed,
    "leader replaced": leader_replaced,
    "entry applied on every node": entry_applied_everywhere,
}


# Whether the bounds allow each goal at all. A goal they rule out is not expected of any run:
# reported as ruled out, not as missed. One the bounds allow but a complete search never
# reached says the core cannot get there, and no engine calls that a pass.
POSSIBLE: dict[str, Callable[[Config, Bounds], bool]] = {
    "leader elected": _election_possible,
    "entry committed": _entry_possible,
    "leader replaced": _second_leader_possible,
    "entry applied on every node": _entry_possible,
}


def goals_reached(world: World) -> frozenset[str]:
    return frozenset(name for name, reached in GOALS.items() if reached(world))
