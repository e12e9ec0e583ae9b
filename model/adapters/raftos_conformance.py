"""Conformance: raftos and its faithful core (`impl/raftos.py`) in lockstep.

The generic part (`library_conformance.LibraryTracker`): the adapter drives raftos through a
schedule (`model.adapters.raftos_adapter.Cluster`), and after every action the `Tracker` takes
the steps of the core that explain it, then compares the two. Which core events an action
stands for is read from what the library did, never from the core:

* a delivery, drop or copy of a datagram is the same world action on the message it decodes to
  (`core_message`); a delivery runs the receiver's handler only (the clock does not move);
* on a clock advance (of every node's clock, or of one node's: `FireTimer`), for each node
  whose clock moved, in the library's order: a candidate whose election
  timer fired, or a leader whose step-down timer did, is a follower of the same term
  (`Timeout`); a node that sent `request_vote`
  stood for election (`Timeout`); a leader whose `request_id` rose sent heartbeats
  (`Heartbeat`, once per increment);
* after a delivery, a clock advance or a client call, a leader whose log gained entries of its
  term appended a client's command (`Submit`): a client that waited for an election runs when
  its node becomes leader;
* crashes, restarts, partitions and heals are the world's own.

Compared after each action, besides `LibraryTracker`'s fields: nothing more. Not compared: the
state machine, whose file survives a restart and is applied again from index 1 on top of its
old content (the core's starts empty; last applied and the log are compared).

What the core does not model stops the comparison (`Unmodelled`): a broadcast that reaches a
peer whose nextIndex is past the leader's log (`broadcast_stops`), a cluster of one.
"""

from __future__ import annotations

from typing import Any

from attrs import evolve, frozen

from raftcheck.impl.raftos import FAITHFUL_CORES, REFUSED, RaftosCore, broadcast_stops
from raftcheck.impl.types import (
    AppendEntries,
    AppendEntriesResponse,
    Message,
    Node,
    RequestVote,
    RequestVoteResponse,
    Role,
)
from raftcheck.model import world as w
from raftcheck.model.adapters.library_conformance import (
    LibraryTracker,
    NoFaithfulCore,
    Unmodelled,
)
from raftcheck.model.adapters.raftos_adapter import LIBRARY_VERSION, Cluster, decode
from raftcheck.model.adapters.sim import CLOCK_ACTIONS, Action, Packet, Restart


def faithful_core(version: str = LIBRARY_VERSION) -> RaftosCore:
    """The faithful core of a raftos release."""
    for core in FAITHFUL_CORES.values():
        if core.release == version:
            return core
    raise NoFaithfulCore(f"no faithful core models raftos {version}; modelled releases: "
                         + ", ".join(core.release for core in FAITHFUL_CORES.values()))


def core_message(packet: Packet, cluster: Cluster) -> Message:
    """The core message a datagram carries (see `impl.raftos`, "Messages")."""
    m = decode(packet.payload)
    source, dest, kind = packet.source, packet.dest, packet.kind
    if kind == "request_vote":
        return RequestVote(source, dest, m["term"], m["last_log_index"], m["last_log_term"])
    if kind == "request_vote_response":
        return RequestVoteResponse(source, dest, m["term"], bool(m.get("vote_granted")))
    if kind == "append_entries":
        entries = tuple(cluster._entry(source, entry) for entry in m["entries"])
        return AppendEntries(source, dest, m["term"], m["prev_log_index"], m["prev_log_term"],
                             entries, m["commit_index"])
    if kind == "append_entries_response":
        if "request_id" not in m:
            return AppendEntriesResponse(source, dest, m["term"], False, 0, REFUSED)
        last = int(m["last_log_index"]) if m["success"] else 0
        return AppendEntriesResponse(source, dest, m["term"], bool(m["success"]), last, last)
    raise Unmodelled(f"a {kind} datagram (not a raftos message)")


@frozen
class _Before:
    """What the inference of a tick's events needs from a node before the action."""

    state: Any  # its state object (Follower, Candidate or Leader)
    role: Role
    request_id: int  # a leader's heartbeat count


class Tracker(LibraryTracker):
    """raftos's faithful core, following one library cluster action by action (see the module
    docstring and `LibraryTracker`)."""

    cluster: Cluster

    def __init__(self, core: RaftosCore, cluster: Cluster) -> None:
        self.last_action: Action | None = None  # what `tick` follows: a clock advance or not
        super().__init__(core, cluster)

    def core_message(self, packet: Packet) -> Message | None:
        return core_message(packet, self.cluster)

    def before(self) -> list[Any]:
        found: list[_Before | None] = []
        for i, server in enumerate(self.cluster.servers):
            if server is None:
                found.append(None)
                continue
            state = server.state.state
            role = self.cluster.node_view(i).role
            found.append(_Before(state, role, getattr(state, "request_id", 0)))
        return found

    def ticked(self, action: Action) -> list[int]:
        """`LibraryTracker.ticked`, but for a restart: a restarted raftos node only starts, no
        timer of it runs (`Cluster._restart`), so its start-up is the core's `Restart`."""
        return [] if isinstance(action, Restart) else super().ticked(action)

    def tick(self, i: int, before: Any, sent: list[Packet]) -> None:
        cluster = self.cluster
        server = cluster.servers[i]
        if server is None:
            return
        view = cluster.node_view(i)
        timers = isinstance(self.last_action, CLOCK_ACTIONS)
        if timers and isinstance(before, _Before) and before.role is Role.LEADER:
            # Heartbeats first: a step-down stops the heartbeat timer.
            for _ in range(before.state.request_id - before.request_id):
                self._broadcast(i, w.Heartbeat(i))
        node = self._node(i)
        if timers and node.role is not Role.FOLLOWER and view.role is Role.FOLLOWER and \
                view.current_term == node.current_term:
            self.step(w.Timeout(i))  # a candidate's election timer, a leader's step-down
        if timers and any(p.source == i and p.kind == "request_vote" for p in sent):
            self.step(w.Timeout(i))
        node = self._node(i)
        if view.role is Role.LEADER and node.role is Role.LEADER and \
                view.log[:len(node.log)] == node.log:
            for entry in view.log[len(node.log):]:
                if entry.term != view.current_term:
                    break
                self._broadcast(i, w.Submit(i, entry.command.value, entry.command.key))

    def apply(self, action: Action) -> tuple[str, ...] | None:
        self.last_action = action
        return super().apply(action)

    def _broadcast(self, i: int, event: w.Action) -> None:
        if broadcast_stops(self._node(i)):
            raise Unmodelled(f"n{i} broadcast append_entries with a nextIndex past its log "
                             "(the library stops at that peer, in the order of a set)")
        self.step(event)

    def _node(self, i: int) -> Node:
        node = self.world.nodes[i]
        assert node is not None
        return node

    def comparable(self, node: Node | None) -> Node | None:
        """`LibraryTracker.comparable`, without the state machine (see the module
        docstring)."""
        node = super().comparable(node)
        if node is None:
            return None
        return evolve(node, volatile=evolve(node.volatile, state_machine=()))
