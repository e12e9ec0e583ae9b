"""What every library adapter shares: its faults, its actions, the packets in flight, and a
`SimCluster` base that owns the simulated network (delivery, loss, duplication, reordering,
partitions), the simulated clock and the properties' view with its ghost history.

A library adapter subclasses `SimCluster` and supplies the library's side: how a packet is
handed to a node, how every up node is ticked after the clock moves, a client request, a crash
and a restart, the earliest pending timer, and the view of one node and of one disk. Nothing
here imports a library."""

from __future__ import annotations

import bisect
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

from attrs import field, frozen

from raftcheck.impl.types import Node, Persistent
from raftcheck.model.world import (
    Crash as Crash,
    Heal as Heal,
    History,
    Partition as Partition,
    Restart as Restart,
    World,
    _raised,
    record_history,
)

Ordering = Literal["fifo", "any"]


class AdapterFault(Exception):
    """The adapter failed, not the library's Raft: a message it cannot route, the library
    reaching for real time, a library exception the adapter cannot attribute to the library,
    or a state it cannot map. Reported apart from property violations (its own exit code),
    never as a Raft finding."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(kind, detail)
        self.kind = kind
        self.detail = detail

    def __str__(self) -> str:
        return f"adapter fault ({self.kind}): {self.detail}"


class ActionNotEnabled(Exception):
    """An action that does not apply in the current state (replaying a stale record, or a
    shrinking candidate that removed what it needed)."""


# ------------------------------------------------------------------------------ actions


@frozen(order=True)
class Deliver:
    """Hand the in-flight packet `seq` of link source→dest to its destination."""

    source: int
    dest: int
    seq: int


@frozen(order=True)
class Drop:
    source: int
    dest: int
    seq: int


@frozen(order=True)
class Duplicate:
    """Put a second copy of a packet in flight (it gets the next sequence number of its link)."""

    source: int
    dest: int
    seq: int


@frozen(order=True)
class NextTimer:
    """Advance the clock just past the earliest pending timer of any up node, then tick every
    up node (in id order)."""


@frozen(order=True)
class FireTimer:
    """Advance `node`'s own clock just past its earliest pending timer and tick it; every other
    node is paused meanwhile (its clock does not move), as a process the OS stopped or a
    garbage-collection pause would be. Raft's safety may not rest on clocks, so a run with
    paused nodes is one the library must survive in a deployment. `raftcheck hunt` times
    every counterexample's timers this way, and `raftcheck fuzz --pauses` draws it."""

    node: int


@frozen(order=True)
class Wait:
    """Advance the clock by `ms` milliseconds, then tick every up node (in id order)."""

    ms: int


@frozen(order=True)
class Submit:
    """A client asks `node` to replicate a write (the value is the cluster's next request
    number, so every command is distinct)."""

    node: int


# Crash, Restart, Partition and Heal are the world's own (model.world); delivery, timers and
# client requests differ here: packets are named by link and sequence number, time by clock.
Action = (Deliver | Drop | Duplicate | NextTimer | FireTimer | Wait | Submit | Crash | Restart
          | Partition | Heal)
ACTION_TYPES: tuple[type, ...] = (Deliver, Drop, Duplicate, NextTimer, FireTimer, Wait, Submit,
                                  Crash, Restart, Partition, Heal)
CLOCK_ACTIONS = (NextTimer, FireTimer, Wait)  # the actions that pass time


@frozen(order=True)
class Packet:
    """One message in flight, as the library put it on the wire (`payload`). `seq` numbers the
    messages of one link (source→dest) in sending order, which is deterministic even when the
    library iterates a hash-ordered set of peers: each iteration of such a loop sends on a
    different link."""

    source: int
    dest: int
    seq: int
    kind: str
    payload: bytes = field(repr=False)


@frozen
class LibraryLog:
    """A message the library logged during action number `step` (from 1), on node `node`."""

    step: int
    node: int
    level: str
    message: str


def check_cluster(nodes: int, ordering: str) -> None:
    """A cluster config's shared fields: 1 to 9 nodes, `fifo` or `any` ordering."""
    if not 1 <= nodes <= 9:
        raise ValueError(f"nodes must be between 1 and 9, got {nodes}")
    if ordering not in ("fifo", "any"):
        raise ValueError(f"ordering must be fifo or any, got {ordering!r}")


class NoRealTime:
    """Replaces the `time` module inside the library while the suite drives it."""

    def __getattr__(self, name: str) -> Any:
        raise AdapterFault("real time", f"the library called time.{name} during a step; only "
                           "the simulated clock may pass time")


class LogCapture(logging.Handler):
    """Keeps the library's warnings (and worse) with the run (`SimCluster.library_log`),
    tagged with the node it runs for and the number of the action being applied."""

    def __init__(self, cluster: SimCluster) -> None:
        super().__init__(logging.WARNING)
        self._cluster = cluster
        self.node_id = 0  # set by `capturing` before each call into the library

    def emit(self, record: logging.LogRecord) -> None:
        self._cluster.log(self.node_id, record.levelname, record.getMessage())


@contextmanager
def capturing(logger: logging.Logger, handler: LogCapture, node_id: int) -> Iterator[None]:
    """While library code runs for `node_id`: what `logger` gets goes to `handler` only."""
    handler.node_id = node_id
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def raised(error: BaseException) -> str:
    """`Type: message at file:line in function`, for the innermost frame of `error`."""
    return _raised(error)


# ------------------------------------------------------------------------------ the cluster


class SimCluster:
    """N library nodes in one process around a simulated network and clock.

    `apply(action)` performs one action: the network's own actions (drop, copy, partition,
    heal) here, the ones that run library code through the subclass's hooks (`_deliver`,
    `_tick`, `_submit`, `_crash`, `_restart`, `node_deadline_us`).

    Each node has its own clock: the cluster's (`now_us`, which `NextTimer` and `Wait` move
    for every node) plus how far the node ran alone (`ahead_us`, which `FireTimer` moves);
    `clock_us(i)` is what node i's library code reads. `world()` is the
    properties' view after it, built from the subclass's `node_view` and `disk_view`, with the
    ghost history kept by `record_history`."""

    def __init__(self, nodes: int, ordering: Ordering) -> None:
        self.nodes = nodes
        self.ordering = ordering
        self.now_us = 1_000_000
        self.ahead_us = [0] * nodes
        self.network: list[Packet] = []
        self.link_seq: dict[tuple[int, int], int] = {}
        self.isolated: frozenset[int] = frozenset()
        self.crashes = 0
        self.partitions = 0
        self.submitted = 0
        self.library_log: list[LibraryLog] = []
        self.actions_applied = 0
        self.history = History()
        self._world: World | None = None

    def log(self, node: int, level: str, message: str) -> None:
        """Keep what the library logged (or what its event loop reported) for this action."""
        self.library_log.append(LibraryLog(self.actions_applied + 1, node, level, message))

    # -------------------------------------------------------------- the library's side

    def is_up(self, i: int) -> bool:
        raise NotImplementedError

    def _deliver(self, packet: Packet) -> None:
        raise NotImplementedError

    def _tick(self, i: int) -> None:
        """Run what is due on up node i at its clock."""
        raise NotImplementedError

    def _submit(self, node: int, value: int) -> None:
        raise NotImplementedError

    def _crash(self, node: int) -> None:
        raise NotImplementedError

    def _restart(self, node: int) -> None:
        raise NotImplementedError

    def node_deadline_us(self, i: int) -> int | None:
        """The first microsecond of up node i's own clock at which its earliest pending timer
        fires; None when it has none."""
        raise NotImplementedError

    def node_view(self, i: int) -> Node:
        raise NotImplementedError

    def disk_view(self, i: int) -> Persistent:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # -------------------------------------------------------------- clocks

    def clock_us(self, i: int) -> int:
        """Node i's clock (see the class docstring)."""
        return self.now_us + self.ahead_us[i]

    def next_deadline_us(self) -> int:
        """The first microsecond of the cluster's clock at which some up node's earliest
        timer fires."""
        due = [deadline - self.ahead_us[i] for i in self.up()
               if (deadline := self.node_deadline_us(i)) is not None]
        if not due:
            raise ActionNotEnabled("no timer is pending on any up node")
        return min(due)

    def _tick_all(self) -> None:
        for i in self.up():
            self._tick(i)

    # -------------------------------------------------------------- the network

    def _enqueue(self, source: int, dest: int, kind: str, payload: bytes) -> None:
        seq = self.link_seq.get((source, dest), 0)
        self.link_seq[(source, dest)] = seq + 1
        bisect.insort(self.network, Packet(source, dest, seq, kind, payload))

    def packet(self, source: int, dest: int, seq: int) -> Packet:
        for packet in self.network:
            if (packet.source, packet.dest, packet.seq) == (source, dest, seq):
                return packet
        raise ActionNotEnabled(f"no packet n{source}→n{dest} #{seq} in flight")

    def deliverable(self) -> list[Packet]:
        """Packets that may be delivered now: destination up, same side of any partition,
        and (with fifo ordering) the oldest in flight on its link."""
        heads: set[tuple[int, int]] = set()
        found = []
        for packet in self.network:  # sorted by (source, dest, seq)
            link = (packet.source, packet.dest)
            first = link not in heads
            heads.add(link)
            if self.ordering == "fifo" and not first:
                continue
            if self.is_up(packet.dest) and self.connected(*link):
                found.append(packet)
        return found

    def connected(self, a: int, b: int) -> bool:
        return (a in self.isolated) == (b in self.isolated)

    def up(self) -> list[int]:
        return [i for i in range(self.nodes) if self.is_up(i)]

    def down(self) -> list[int]:
        return [i for i in range(self.nodes) if not self.is_up(i)]

    def _check_up(self, i: int) -> None:
        if not 0 <= i < self.nodes:
            raise ActionNotEnabled(f"no node n{i} in a cluster of {self.nodes}")
        if not self.is_up(i):
            raise ActionNotEnabled(f"n{i} is down")

    # -------------------------------------------------------------- actions

    def apply(self, action: Action) -> None:
        """Perform `action`; raises ActionNotEnabled if it does not apply, AdapterFault if the
        adapter fails."""
        self._world = None
        if isinstance(action, Deliver):
            packet = self.packet(action.source, action.dest, action.seq)
            if packet not in self.deliverable():
                raise ActionNotEnabled(f"packet n{packet.source}→n{packet.dest} #{packet.seq} "
                                       "is not deliverable now")
            self.network.remove(packet)
            self._deliver(packet)
        elif isinstance(action, Drop):
            self.network.remove(self.packet(action.source, action.dest, action.seq))
        elif isinstance(action, Duplicate):
            packet = self.packet(action.source, action.dest, action.seq)
            self._enqueue(packet.source, packet.dest, packet.kind, packet.payload)
        elif isinstance(action, (NextTimer, Wait)):
            if not self.up():
                raise ActionNotEnabled("every node is down: no timer runs")
            if isinstance(action, Wait):
                if action.ms <= 0:
                    raise ActionNotEnabled("Wait needs a positive number of ms")
                self.now_us += action.ms * 1000
            else:
                self.now_us = max(self.now_us, self.next_deadline_us())
            self._tick_all()
        elif isinstance(action, FireTimer):
            self._check_up(action.node)
            deadline = self.node_deadline_us(action.node)
            if deadline is None:
                raise ActionNotEnabled(f"no timer is pending on n{action.node}")
            self.ahead_us[action.node] = max(self.ahead_us[action.node],
                                             deadline - self.now_us)
            self._tick(action.node)
        elif isinstance(action, Submit):
            self._check_up(action.node)
            self.submitted += 1
            self._submit(action.node, self.submitted)
        elif isinstance(action, Crash):
            self._check_up(action.node)
            self._crash(action.node)
            self.crashes += 1
            if self.ordering == "fifo":  # one connection per link: it resets
                self.network = [p for p in self.network if action.node not in (p.source, p.dest)]
        elif isinstance(action, Restart):
            if not 0 <= action.node < self.nodes or self.is_up(action.node):
                raise ActionNotEnabled(f"n{action.node} is not down")
            self._restart(action.node)
        elif isinstance(action, Partition):
            n = self.nodes
            if self.isolated:
                raise ActionNotEnabled("already partitioned: heal first")
            if not action.isolated or len(action.isolated) >= n or \
                    not action.isolated <= set(range(n)):
                raise ActionNotEnabled(f"not a partition: {sorted(action.isolated)}")
            self.isolated = action.isolated
            self.partitions += 1
        elif isinstance(action, Heal):
            if not self.isolated:
                raise ActionNotEnabled("no partition to heal")
            self.isolated = frozenset()
        else:
            raise ActionNotEnabled(f"unknown action {action!r}")
        self.history = self._record(self.history)
        self.actions_applied += 1

    # -------------------------------------------------------------- the properties' view

    def world(self) -> World:
        """The properties' view of the cluster now (cached until the next action)."""
        if self._world is None:
            n = self.nodes
            nodes = tuple(self.node_view(i) if self.is_up(i) else None for i in range(n))
            self._world = World(nodes=nodes, disk=tuple(self.disk_view(i) for i in range(n)),
                                network=(), isolated=self.isolated, crashes=self.crashes,
                                partitions=self.partitions, history=self.history)
        return self._world

    def _record(self, history: History) -> History:
        nodes = self.world().nodes
        for node in self.world().up_nodes():
            history = record_history(history, node, nodes)
        if history is not self.history:
            self._world = None
        return history


def describe_node(node: Node | None, node_id: int) -> str:
    if node is None:
        return f"n{node_id} down"
    vote = "-" if node.voted_for is None else f"n{node.voted_for}"
    log = " ".join(f"{k}:{e.term}:{e.command}" for k, e in enumerate(node.log, 1))
    return (f"n{node.id} {node.role} term={node.current_term} vote={vote} log=[{log}] "
            f"commit={node.commit_index} applied={node.last_applied}")


def describe_action(action: Action, cluster: SimCluster | None,
                    describe_packet: Callable[[Packet], str]) -> str:
    """One line per action; a delivery, drop or copy names its message (`describe_packet`, the
    library's wording) while the packet is still in `cluster`."""
    if isinstance(action, (Deliver, Drop, Duplicate)):
        verb = type(action).__name__.lower()
        if cluster is not None:
            try:
                packet = cluster.packet(action.source, action.dest, action.seq)
                return f"{verb} {describe_packet(packet)}"
            except ActionNotEnabled:
                pass
        return f"{verb} n{action.source}→n{action.dest} #{action.seq}"
    if isinstance(action, NextTimer):
        return "advance the clock to the next timer"
    if isinstance(action, FireTimer):
        return f"n{action.node}'s clock runs to its next timer (the others paused)"
    if isinstance(action, Wait):
        return f"advance the clock by {action.ms} ms"
    if isinstance(action, Submit):
        value = "" if cluster is None else f" x={cluster.submitted + 1}"
        return f"client → n{action.node}: put{value}"
    if isinstance(action, Crash):
        return f"n{action.node} crashes"
    if isinstance(action, Restart):
        return f"n{action.node} restarts from its disk"
    if isinstance(action, Partition):
        return f"partition {{{', '.join(f'n{i}' for i in sorted(action.isolated))}}} | rest"
    return "heal the partition"
