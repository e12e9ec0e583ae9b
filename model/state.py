"""The values of the world: its configuration and bounds, the actions, and its states.

Immutable values with a stable order (attrs frozen, tuples and frozensets), importable by
everything that reads states (the fingerprint, symmetry and the trace printer) without the
machinery that computes them: `raftcheck.model.world.Model` builds on this module, and
re-exports its names.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Literal

from attrs import field, frozen

from raftcheck.impl.types import Entry, Message, Node, Persistent

CORE_FAULT = "Core Fault"  # the "property" a CoreFault is reported under, beside Figure 3's


# ------------------------------------------------------------------------------ configuration


@frozen
class Config:
    """What the cluster is: its size and how time passes."""

    cluster_size: int = 3
    timing: Literal["untimed", "timed"] = "untimed"
    seed: int = 0  # seeds the timed world's election-timeout draws
    election_timeout_ms: tuple[int, int] = (150, 300)
    heartbeat_ms: int = 50

    def __attrs_post_init__(self) -> None:
        if not 1 <= self.cluster_size <= 9:
            raise ValueError(f"cluster_size must be between 1 and 9, got {self.cluster_size}")
        low, high = self.election_timeout_ms
        if not 0 < low <= high or self.heartbeat_ms <= 0:
            raise ValueError("timeouts must be positive and election_timeout_ms low <= high")


# The largest value a numeric bound takes: far beyond any search that ends, and it keeps a
# state's actions (one client request per value at each leader) numbered in 16 bits.
MAX_BOUND = 1_000


@frozen
class Bounds:
    """Every bound of the state space in one value, printed in every report. `None` means
    unbounded. A successor outside the bounds is not part of the model (like a TLC state
    constraint): it is neither explored nor checked."""

    max_term: int = 3
    max_log: int = 2  # longest log a leader may grow by client requests
    values: int = 1  # distinct command values a client may submit (raft.tla's Value set)
    max_messages: int = 4  # messages in flight
    max_crashes: int | None = 1
    max_partitions: int | None = 0
    drop: bool = True
    duplicate: bool = False

    def __attrs_post_init__(self) -> None:
        for name in ("max_term", "max_log", "values", "max_messages"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
            if getattr(self, name) > MAX_BOUND:
                raise ValueError(f"{name} must be at most {MAX_BOUND:,}, got "
                                 f"{getattr(self, name):,}")
        for name in ("max_crashes", "max_partitions"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be >= 0 or None")

    def within(self, other: Bounds) -> bool:
        """Whether every behaviour these bounds allow, `other` allows too (each bound at
        most the other's; None is unbounded)."""
        def at_most(mine: int | None, theirs: int | None) -> bool:
            return theirs is None or (mine is not None and mine <= theirs)

        return (all(at_most(getattr(self, name), getattr(other, name))
                    for name in ("max_term", "max_log", "values", "max_messages",
                                 "max_crashes", "max_partitions"))
                and other.drop >= self.drop and other.duplicate >= self.duplicate)

    def describe(self) -> str:
        def show(value: int | None) -> str:
            return "∞" if value is None else str(value)

        return (
            f"term≤{self.max_term} log≤{self.max_log} values={self.values} "
            f"msgs≤{self.max_messages} crashes≤{show(self.max_crashes)} "
            f"partitions≤{show(self.max_partitions)} drop={'on' if self.drop else 'off'} "
            f"duplicate={'on' if self.duplicate else 'off'}"
        )


# ------------------------------------------------------------------------------ actions


def _node_set(nodes: Iterable[int]) -> frozenset[int]:
    return frozenset(nodes)


@frozen(order=True)
class Deliver:
    message: Message


@frozen(order=True)
class Drop:
    message: Message


@frozen(order=True)
class Duplicate:
    message: Message


@frozen(order=True)
class Timeout:
    """Node `node`'s election timer fires (untimed world)."""

    node: int


@frozen(order=True)
class Heartbeat:
    """Leader `node`'s heartbeat interval elapses (untimed world)."""

    node: int


@frozen(order=True)
class Submit:
    """A client submits `Put(key, value)` to `node`."""

    node: int
    value: int
    key: str = "x"


@frozen(order=True)
class Crash:
    node: int


@frozen(order=True)
class Restart:
    node: int


@frozen(order=True)
class Partition:
    """Isolate `isolated` from the rest of the cluster (both sides keep talking inside)."""

    isolated: frozenset[int] = field(converter=_node_set)


@frozen(order=True)
class Heal:
    pass


@frozen(order=True)
class Tick:
    """Timed world: advance the clock to the earliest timer deadline and fire it."""


Action = (Deliver | Drop | Duplicate | Timeout | Heartbeat | Submit | Crash | Restart | Partition
          | Heal | Tick)


# ------------------------------------------------------------------------------ world state


@frozen
class Committed:
    """An entry known committed at some index, and the term of the node that committed it."""

    entry: Entry
    term: int


@frozen
class History:
    """PROOF-ONLY ghost state (raft.tla's history variables). No node reads it; the properties
    use it to speak of the past: who has ever led which term, who voted for a campaign still
    running, what has ever been committed and applied. Committed and applied indices are
    contiguous from 1, so they are tuples: `committed[i-1]` is the first entry any node
    committed at index i."""

    leaders: frozenset[tuple[int, int]] = frozenset()  # (term, node)
    committed: tuple[Committed, ...] = ()
    applied: tuple[Entry, ...] = ()
    # (term, voter, candidate): votes granted to campaigns still running. A vote outlives the
    # voter's own record of it (the voter moves to a later term and forgets it), so the
    # majority a new leader needs is counted here; a campaign's ballots are dropped as soon
    # as it ends (won, lost, or crashed), so they add no states once it is over.
    ballots: frozenset[tuple[int, int, int]] = frozenset()


@frozen
class Clock:
    """Timed world only: the current time, each node's next timer deadline (None while down),
    and the state of the seeded generator that draws election timeouts."""

    now: int
    deadlines: tuple[int | None, ...]
    rng: int


@frozen
class World:
    nodes: tuple[Node | None, ...]  # None while the node is down
    disk: tuple[Persistent, ...]  # what each node last wrote to stable storage
    network: tuple[Message, ...]  # a bag, sorted by message_key
    isolated: frozenset[int] = frozenset()  # empty: no partition
    crashes: int = 0
    partitions: int = 0
    history: History = History()
    clock: Clock | None = None

    def persistent_of(self, node_id: int) -> Persistent:
        """The persistent state a node has: in memory if up, on disk if down."""
        node = self.nodes[node_id]
        return self.disk[node_id] if node is None else node.persistent

    def up_nodes(self) -> Iterator[Node]:
        return (node for node in self.nodes if node is not None)

    def connected(self, a: int, b: int) -> bool:
        return (a in self.isolated) == (b in self.isolated)


class ModelError(Exception):
    """An action that is not enabled in the state it was applied to (a bad trace file or a
    scenario that no longer applies), as opposed to a property violation."""


