"""Conformance, for any library: the released library and its faithful core in lockstep.

Trace validation, as the CCF and etcd TLA+ work do it: an adapter drives the library through a
schedule (a `sim.SimCluster`), and after every action a `LibraryTracker` takes the steps of the
core that explain it, in a world of its own (`model.world.Model`), then compares the two. The
library must never do what the core does not allow.

What is the same for every library is here: a delivery, drop or copy of a Raft message is the
same world action on the message the packet decodes to; crashes, restarts, partitions and
heals are the world's own; after the action each node is compared (role, term, vote, log,
commit index, last applied, state machine, the leader it knows, a leader's nextIndex and
matchIndex for every peer) and so is the bag of Raft messages in flight. The first difference
is a divergence: a `Violation` of lockstep's `NO_DIVERGENCE`, which the library fuzzer shrinks
and saves like any violation. What each library's subclass says: which packets are core
messages (`core_message`), which core events a tick of a node stands for, read from what the
library did (`tick`), and what else it compares.

What a core does not model stops the comparison for the rest of the run, and is counted
(`Unmodelled`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from attrs import evolve

from raftcheck.impl.types import (
    CandidateState,
    LeaderState,
    Message,
    Node,
    Persistent,
    message_key,
)
from raftcheck.model import world as w
from raftcheck.model.adapters.sim import (
    Action,
    Crash,
    Deliver,
    Drop,
    Duplicate,
    FireTimer,
    Heal,
    NextTimer,
    Packet,
    Partition,
    Restart,
    SimCluster,
    Submit,
    Wait,
)
from raftcheck.model.lockstep import NO_DIVERGENCE, node_differences
from raftcheck.model.trace import show_message
from raftcheck.properties import Violation

WHY = ("the library took a step its faithful core does not allow: the model no longer "
       "describes the library, so what the engines find on the core says nothing about it "
       "until the rule is fixed")


class NoFaithfulCore(ValueError):
    """No faithful core models the release asked for; one line."""


class Unmodelled(Exception):
    """The library did something its faithful core leaves out."""


def divergence(lines: Sequence[str]) -> Violation:
    return Violation(NO_DIVERGENCE, "\n".join(lines), WHY)


class LibraryTracker:
    """A faithful core, following one library cluster action by action (see the module
    docstring). `apply(action)` applies the action to the cluster too, and returns the
    divergence after it (None: they agree). Once something unmodelled happens, `stopped`
    says what, and the rest of the run is not compared."""

    def __init__(self, core: Any, cluster: SimCluster) -> None:
        self.core = core
        self.cluster = cluster
        self.model = w.Model(core, w.Config(cluster_size=cluster.nodes))
        self.world = self.model.initial_state()
        self.stopped: str | None = None
        self.steps = 0  # actions compared
        self.events: list[w.Action] = []  # the core's world actions for the last action
        if cluster.nodes < 2:
            self.stopped = "a cluster of one (not modelled)"
        self.initial = self.differences()

    # -------------------------------------------------------------- what a library says

    def core_message(self, packet: Packet) -> Message | None:
        """The core message a packet carries, or None for traffic that is not a core
        message; raises `Unmodelled` for a message the core leaves out."""
        raise NotImplementedError

    def before(self) -> list[Any]:
        """What `tick` needs to know of each node from before the action."""
        return [None] * self.cluster.nodes

    def ticked(self, action: Action) -> list[int]:
        """The nodes whose library code ran after the action's own event."""
        if isinstance(action, Deliver):
            return [action.dest]
        if isinstance(action, (NextTimer, Wait)):
            return self.cluster.up()
        if isinstance(action, FireTimer):
            return [action.node]
        if isinstance(action, (Submit, Restart)):
            return [action.node]
        return []

    def tick(self, i: int, before: Any, sent: list[Packet]) -> None:
        """The core's events for what node i's library code did (`step` each)."""
        raise NotImplementedError

    def library_node(self, i: int) -> Node:
        """Up node i as the library holds it, in the compared form."""
        node = self.comparable(self.cluster.node_view(i))
        assert node is not None
        return node

    def node_extra(self, i: int, core_node: Node | None) -> list[str]:
        """Differences of node i the node comparison does not see."""
        return []

    def comparable(self, node: Node | None) -> Node | None:
        """A node in the form both sides can be compared in: persistent state as
        `Persistent`, the leader's own slots as its log, and a candidate's tally as a count
        only (the libraries keep no set of voters)."""
        if node is None:
            return None
        leader = node.leader
        if leader is not None:
            me, last = node.id, node.last_log_index
            leader = LeaderState(
                tuple(last + 1 if j == me else v for j, v in enumerate(leader.next_index)),
                tuple(last if j == me else v for j, v in enumerate(leader.match_index)))
        candidate = None if node.candidate is None else CandidateState(frozenset())
        return Node(node.id, node.cluster_size, node.role,
                    Persistent(node.current_term, node.voted_for, node.log), node.volatile,
                    candidate, leader)

    # -------------------------------------------------------------- one action

    def apply(self, action: Action) -> tuple[str, ...] | None:
        cluster = self.cluster
        message: Message | None = None
        if self.stopped is None and isinstance(action, (Deliver, Drop, Duplicate)):
            try:
                message = self.core_message(cluster.packet(action.source, action.dest,
                                                           action.seq))
            except Unmodelled as error:
                self.stopped = str(error)
        before = self.before()
        link_seq = dict(cluster.link_seq)
        self.events = []
        cluster.apply(action)  # ActionNotEnabled and AdapterFault leave the core untouched
        if self.stopped is not None:
            return None
        try:
            sent = [p for p in cluster.network
                    if p.seq >= link_seq.get((p.source, p.dest), 0)]
            self._follow(action, message, before, sent)
            lines = self.differences()
        except Unmodelled as error:
            self.stopped = str(error)
            return None
        except (w.ModelError, w.CoreFault) as error:
            lines = [f"the core cannot take the library's step: {error}"]
        self.steps += 1
        return tuple(lines) if lines else None

    def step(self, action: w.Action) -> None:
        self.world = self.model.next_state(self.world, action)
        self.events.append(action)

    def _follow(self, action: Action, message: Message | None, before: list[Any],
                sent: list[Packet]) -> None:
        """The core's events for `action`, in the library's order."""
        if isinstance(action, Deliver):
            if message is not None:
                self.step(w.Deliver(message))
        elif isinstance(action, Drop):
            if message is not None:
                self.step(w.Drop(message))
        elif isinstance(action, Duplicate):
            if message is not None:
                self.step(w.Duplicate(message))
        elif isinstance(action, Crash):
            self.step(w.Crash(action.node))
            if self.cluster.ordering == "fifo":  # as `SimCluster.apply`: its links reset
                network = tuple(m for m in self.world.network
                                if action.node not in (m.source, m.dest))
                self.world = evolve(self.world, network=network)
        elif isinstance(action, Restart):
            self.step(w.Restart(action.node))
        elif isinstance(action, Partition):
            self.step(w.Partition(action.isolated))
        elif isinstance(action, Heal):
            self.step(w.Heal())
        for node in self.ticked(action):
            self.tick(node, before[node], sent)

    # -------------------------------------------------------------- comparing

    def differences(self) -> list[str]:
        """Where the library and the core differ now (empty: they agree)."""
        lines: list[str] = []
        cluster = self.cluster
        for i, core_node in enumerate(self.world.nodes):
            library = self.library_node(i) if cluster.is_up(i) else None
            for line in node_differences(library, self.comparable(core_node)):
                lines.append(f"n{i}: {_labelled(line)}")
            lines += self.node_extra(i, core_node)
        library_bag: Counter[Message] = Counter()
        for packet in cluster.network:
            message = self.core_message(packet)
            if message is not None:
                library_bag[message] += 1
        core_bag = Counter(self.world.network)
        for message in sorted((library_bag - core_bag).elements(), key=message_key):
            lines.append(f"in flight in the library only: {show_message(message)}")
        for message in sorted((core_bag - library_bag).elements(), key=message_key):
            lines.append(f"in flight in the core only: {show_message(message)}")
        return lines

    def replace_node(self, i: int, node: Node, disk: Persistent | None = None) -> None:
        """Set node i of the core's world (and its disk) outside a world action."""
        world = self.world
        self.world = evolve(world, nodes=(*world.nodes[:i], node, *world.nodes[i + 1:]),
                            disk=world.disk if disk is None else
                            (*world.disk[:i], disk, *world.disk[i + 1:]))


def _labelled(line: str) -> str:
    return line.replace("(OLD)", "(library)").replace("(NEW)", "(core)")
