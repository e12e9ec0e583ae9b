"""Conformance: the released library and its faithful core (`impl/pysyncobj.py`) in lockstep.

Trace validation, as the CCF and etcd TLA+ work do it: the adapter drives PySyncObj through a
schedule (`model.adapters.pysyncobj_adapter.Cluster`), and after every action a `Tracker`
takes the step of the core that explains it, in a world of its own (`model.world.Model`),
then compares the two. The library must never do what the core does not allow.

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

from collections import Counter
from collections.abc import Sequence

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
    CandidateState,
    Entry,
    LeaderState,
    Message,
    Node,
    Persistent,
    RequestVote,
    RequestVoteResponse,
    Role,
    message_key,
)
from raftcheck.model import world as w
from raftcheck.model.adapters.pysyncobj_adapter import (
    LIBRARY_VERSION,
    Action,
    Cluster,
    Crash,
    Deliver,
    Drop,
    Duplicate,
    Heal,
    NextTimer,
    Packet,
    Partition,
    Restart,
    Submit,
    Wait,
    _node_number,
    _private,
    message,
)
from raftcheck.model.lockstep import NO_DIVERGENCE, node_differences
from raftcheck.model.trace import show_message
from raftcheck.properties import Violation

WHY = ("the library took a step its faithful core does not allow: the model no longer "
       "describes the library, so what the engines find on the core says nothing about it "
       "until the rule is fixed")


class Unmodelled(Exception):
    """The library did something the faithful core leaves out (see the module docstring)."""


class NoFaithfulCore(Exception):
    """No faithful core models the installed release; one line."""


def faithful_core(version: str = LIBRARY_VERSION) -> PySyncObjCore:
    """The faithful core of a PySyncObj release."""
    core = RELEASES.get(version)
    if core is None:
        raise NoFaithfulCore(f"no faithful core models pysyncobj {version}; modelled "
                             f"releases: {', '.join(sorted(RELEASES))}")
    return core


def divergence(lines: Sequence[str]) -> Violation:
    return Violation(NO_DIVERGENCE, "\n".join(lines), WHY)


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


class Tracker:
    """The faithful core, following one library cluster action by action (see the module
    docstring). `apply(action)` applies the action to the cluster too, and returns the
    divergence after it (None: they agree). Once something unmodelled happens, `stopped`
    says what, and the rest of the run is not compared."""

    def __init__(self, core: PySyncObjCore, cluster: Cluster) -> None:
        self.core = core
        self.cluster = cluster
        self.model = w.Model(core, w.Config(cluster_size=cluster.config.nodes))
        self.world = self.model.initial_state()
        self.stopped: str | None = None
        self.steps = 0  # actions compared
        self.events: list[w.Action] = []  # the core's world actions for the last action
        if cluster.config.nodes < 2:
            self.stopped = "a cluster of one (not modelled)"
        self.initial = self.differences()

    # -------------------------------------------------------------- one action

    def apply(self, action: Action) -> tuple[str, ...] | None:
        cluster = self.cluster
        message: Message | None = None
        if self.stopped is None and isinstance(action, (Deliver, Drop, Duplicate)):
            try:
                message = core_message(cluster.packet(action.source, action.dest, action.seq),
                                       cluster)
            except Unmodelled as error:
                self.stopped = str(error)
        before = self._before()
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

    def _before(self) -> list[_Before | None]:
        found: list[_Before | None] = []
        for obj in self.cluster.objects:
            found.append(None if obj is None else _Before(
                id(obj), _private(obj, "raftState") == int(Role.LEADER),
                _private(obj, "newAppendEntriesTime"), _private(obj, "numOneSecondDumps")))
        return found

    def _step(self, action: w.Action) -> None:
        self.world = self.model.next_state(self.world, action)
        self.events.append(action)

    def _follow(self, action: Action, message: Message | None, before: list[_Before | None],
                sent: list[Packet]) -> None:
        """The core's events for `action`, in the library's order."""
        ticked: list[int] = []
        if isinstance(action, Deliver):
            if message is not None:
                self._step(w.Deliver(message))
            ticked = [action.dest]
        elif isinstance(action, Drop):
            if message is not None:
                self._step(w.Drop(message))
        elif isinstance(action, Duplicate):
            if message is not None:
                self._step(w.Duplicate(message))
        elif isinstance(action, (NextTimer, Wait)):
            ticked = self.cluster.up()
        elif isinstance(action, Submit):
            ticked = [action.node]
        elif isinstance(action, Crash):
            self._step(w.Crash(action.node))
            if self.cluster.config.ordering == "fifo":  # its TCP connections reset
                network = tuple(m for m in self.world.network
                                if action.node not in (m.source, m.dest))
                self.world = evolve(self.world, network=network)
        elif isinstance(action, Restart):
            self._step(w.Restart(action.node))
            ticked = [action.node]
        elif isinstance(action, Partition):
            self._step(w.Partition(action.isolated))
        elif isinstance(action, Heal):
            self._step(w.Heal())
        for node in ticked:
            self._tick(node, before[node], sent)

    def _tick(self, i: int, before: _Before | None, sent: list[Packet]) -> None:
        obj = self.cluster.objects[i]
        assert obj is not None
        same = before is not None and before.obj == id(obj)
        if same and before is not None and _private(obj, "numOneSecondDumps") > before.dumps:
            node = self.world.nodes[i]
            assert node is not None
            node, disk = self.core.flush_journal(node)
            self.world = evolve(self.world,
                                nodes=(*self.world.nodes[:i], node, *self.world.nodes[i + 1:]),
                                disk=(*self.world.disk[:i], disk, *self.world.disk[i + 1:]))
        if any(p.source == i and p.kind == "request_vote" for p in sent):
            self._step(w.Timeout(i))
        if same and before is not None and before.leader and \
                _private(obj, "newAppendEntriesTime") != before.next_append:
            self._step(w.Heartbeat(i))
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
                self._step(w.Submit(i, entry.command.value, entry.command.key))

    # -------------------------------------------------------------- comparing

    def differences(self) -> list[str]:
        """Where the library and the core differ now (empty: they agree)."""
        lines: list[str] = []
        cluster = self.cluster
        for i, core_node in enumerate(self.world.nodes):
            library = None if cluster.objects[i] is None else self._library_node(i)
            for line in node_differences(library, _comparable(core_node)):
                lines.append(f"n{i}: {_labelled(line)}")
            if cluster.objects[i] is not None or core_node is None:
                stored = int(cluster.disks[i].meta.get("raftCommitIndex", 1)) - 1
                mine = stored_commit(self.world.disk[i])
                if stored != mine:
                    lines.append(f"n{i}: stored commit index {stored} (library) vs {mine} "
                                 "(core)")
        library_bag: Counter[Message] = Counter()
        for packet in cluster.network:
            message = core_message(packet, cluster)
            if message is not None:
                library_bag[message] += 1
        core_bag = Counter(self.world.network)
        for message in sorted((library_bag - core_bag).elements(), key=message_key):
            lines.append(f"in flight in the library only: {show_message(message)}")
        for message in sorted((core_bag - library_bag).elements(), key=message_key):
            lines.append(f"in flight in the core only: {show_message(message)}")
        return lines

    def _library_node(self, i: int) -> Node:
        """The adapter's view of node i, with a leader's nextIndex and matchIndex read raw
        (library index - 1; the view clamps a matchIndex of 0 to 0) and the leader's own slot
        and vote tally in one form for both sides (`_comparable`)."""
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
        comparable = _comparable(view)
        assert comparable is not None
        return comparable


def _comparable(node: Node | None) -> Node | None:
    """A node in the form both sides can be compared in: persistent state without the
    stored commit index (compared apart), the leader's own slots as its log, and a
    candidate's tally as a count only (the library keeps no set of voters)."""
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


def _labelled(line: str) -> str:
    return line.replace("(OLD)", "(library)").replace("(NEW)", "(core)")
