"""Conformance: the released library and its faithful core (`impl/pysyncobj.py`) in lockstep.

The generic part (`library_conformance.LibraryTracker`): the adapter drives PySyncObj through
a schedule (`model.adapters.pysyncobj_adapter.Cluster`), and after every action the `Tracker`
takes the steps of the core that explain it, then compares the two.

Which core events an adapter action stands for is read from what the library did, never from
the core:

* a delivery, drop or copy of a Raft message is the same world action on the message the
  packet decodes to (`core_message`); client forwarding (`apply_command` and its response) is
  not a core message, and its delivery is only the tick after it;
* every library call ends with a tick of the node(s) concerned (`Cluster.apply`): a delivery's
  destination, every up node on a clock advance, the node a client called, a restarted node.
  In a tick, in the library's order: the journal's one-second timer fired if the node's count
  of them rose (`flush_journal`); an election started if the node sent `request_vote`
  (`Timeout`); a leader's heartbeat went out if its next-AppendEntries time moved (`Heartbeat`);
  a leader appended a client command if its log gained entries of its term (`Submit`);
* crashes, restarts, partitions and heals are the world's own.

After the action each node's state is compared: role, term, vote, log, commit index, last
applied, state machine, the leader it knows, a leader's nextIndex and matchIndex for every
peer (library index - 1, as the view), and the commit index its journal stored; and the bag of
Raft messages in flight. The first difference is a divergence: a `Violation` of lockstep's
`NO_DIVERGENCE`, which the PySyncObj fuzzer shrinks and saves like any violation.

What the core does not model stops the comparison for the rest of the run, and is counted
(`Unmodelled`): a leader stepping down on `leaderFallbackTimeout`, large-entry transmission or
snapshots, a cluster of one.
"""

from __future__ import annotations

from attrs import evolve, frozen

from raftcheck.impl.pysyncobj import (
    NO_PREV,
    NOOP,
    RELEASES,
    PySyncObjCore,
    stored_commit,
)
from raftcheck.impl.types import (
    AppendEntries,
    AppendEntriesResponse,
    Entry,
    LeaderState,
    Message,
    Node,
    RequestVote,
    RequestVoteResponse,
    Role,
)
from raftcheck.model import world as w
from raftcheck.model.adapters.library_conformance import (
    WHY as WHY,
    LibraryTracker,
    NoFaithfulCore as NoFaithfulCore,
    Unmodelled as Unmodelled,
    divergence as divergence,
)
from raftcheck.model.adapters.pysyncobj_adapter import (
    LIBRARY_VERSION,
    Cluster,
    Packet,
    _node_number,
    _private,
    message,
)


def faithful_core(version: str = LIBRARY_VERSION) -> PySyncObjCore:
    """The faithful core of a PySyncObj release."""
    core = RELEASES.get(version)
    if core is None:
        raise NoFaithfulCore(f"no faithful core models pysyncobj {version}; modelled "
                             f"releases: {', '.join(sorted(RELEASES))}")
    return core


# ------------------------------------------------------------------------------ messages


def core_message(packet: Packet, cluster: Cluster) -> Message | None:
    """The core message a packet carries (view indices: library index - 1), or None for
    client forwarding, which is not a core message."""
    m = message(packet)
    source, dest, kind = packet.source, packet.dest, packet.kind
    if kind == "request_vote":
        return RequestVote(source, dest, m["term"], m["last_log_index"] - 1, m["last_log_term"])
    if kind == "response_vote":
        return RequestVoteResponse(source, dest, m["term"], True)
    if kind == "append_entries":
        if "prevLogIdx" not in m or "transmission" in m:
            raise Unmodelled("a snapshot or large-entry transmission (not modelled)")
        prev = m["prevLogIdx"]
        prev_index, prev_term = (NO_PREV, NO_PREV) if prev is None else (prev - 1,
                                                                          m["prevLogTerm"])
        entries = tuple(Entry(term, cluster.command(command))
                        for command, _, term in m.get("entries", []))
        return AppendEntries(source, dest, m["term"], prev_index, prev_term, entries,
                             m["commit_index"] - 1)
    if kind == "next_node_idx":
        success = bool(m["success"])
        if bool(m["reset"]) == success:
            raise Unmodelled(f"next_node_idx with success={success} and reset={m['reset']} "
                             "(a transmission reply, not modelled)")
        last = m["next_node_idx"] - 2  # one before the next index, in view indices
        return AppendEntriesResponse(source, dest, 0, success, last if success else 0,
                                     0 if success else last)
    return None


# ------------------------------------------------------------------------------ the tracker


@frozen
class _Before:
    """What the inference of a tick's events needs from a node before the action."""

    obj: int  # id() of its SyncObj (a restart makes a new one)
    leader: bool
    next_append: float
    dumps: int


class Tracker(LibraryTracker):
    """PySyncObj's faithful core, following one library cluster action by action (see the
    module docstring and `LibraryTracker`)."""

    cluster: Cluster

    def __init__(self, core: PySyncObjCore, cluster: Cluster) -> None:
        super().__init__(core, cluster)

    def core_message(self, packet: Packet) -> Message | None:
        return core_message(packet, self.cluster)

    def before(self) -> list[_Before | None]:
        found: list[_Before | None] = []
        for obj in self.cluster.objects:
            found.append(None if obj is None else _Before(
                id(obj), _private(obj, "raftState") == int(Role.LEADER),
                _private(obj, "newAppendEntriesTime"), _private(obj, "numOneSecondDumps")))
        return found

    def tick(self, i: int, before: _Before | None, sent: list[Packet]) -> None:
        obj = self.cluster.objects[i]
        assert obj is not None
        same = before is not None and before.obj == id(obj)
        if same and before is not None and _private(obj, "numOneSecondDumps") > before.dumps:
            node = self.world.nodes[i]
            assert node is not None
            node, disk = self.core.flush_journal(node)
            self.replace_node(i, node, disk)
        if any(p.source == i and p.kind == "request_vote" for p in sent):
            self.step(w.Timeout(i))
        if same and before is not None and before.leader and \
                _private(obj, "newAppendEntriesTime") != before.next_append:
            self.step(w.Heartbeat(i))
        node = self.world.nodes[i]
        assert node is not None
        view = self.cluster.node_view(i)
        if node.role is Role.LEADER and view.role is Role.FOLLOWER and \
                view.current_term == node.current_term:
            raise Unmodelled(f"n{i} stepped down on leaderFallbackTimeout (not modelled)")
        if view.role is Role.LEADER and view.log[:len(node.log)] == node.log:
            for entry in view.log[len(node.log):]:
                if entry.term != view.current_term or entry.command == NOOP:
                    break
                self.step(w.Submit(i, entry.command.value, entry.command.key))

    # -------------------------------------------------------------- comparing

    def node_extra(self, i: int, core_node: Node | None) -> list[str]:
        """The commit index its journal stored."""
        cluster = self.cluster
        if cluster.objects[i] is None and core_node is not None:
            return []
        stored = int(cluster.disks[i].meta.get("raftCommitIndex", 1)) - 1
        mine = stored_commit(self.world.disk[i])
        if stored != mine:
            return [f"n{i}: stored commit index {stored} (library) vs {mine} (core)"]
        return []

    def library_node(self, i: int) -> Node:
        """The adapter's view of node i, with a leader's nextIndex and matchIndex read raw
        (library index - 1; the view clamps a matchIndex of 0 to 0)."""
        view = self.cluster.node_view(i)
        if view.leader is not None:
            obj = self.cluster.objects[i]
            n = self.cluster.config.nodes
            raw_next = {_node_number(k.id, n): v for k, v in
                        _private(obj, "raftNextIndex").items()}
            raw_match = {_node_number(k.id, n): v for k, v in
                         _private(obj, "raftMatchIndex").items()}
            view = evolve(view, leader=LeaderState(
                tuple(raw_next.get(j, 1) - 1 for j in range(n)),
                tuple(raw_match.get(j, 0) - 1 for j in range(n))))
        comparable = self.comparable(view)
        assert comparable is not None
        return comparable
