"""PySyncObj, driven by the suite: N library nodes in one process, with the suite in control of
every message, every clock tick and every crash.

PySyncObj (https://github.com/bakwc/PySyncObj, on PyPI as `pysyncobj`) is a released Raft
library. It is not a step function: a `SyncObj` owns a transport, reads a monotonic clock,
draws its election timeouts from the `random` module and writes a journal. This adapter
replaces each of those, and nothing else:

* **Transport.** `_SimTransport` is a `pysyncobj.transport.Transport` whose `send` captures
  the message (pickled, as the TCP transport would serialize it) as a `Packet` in the
  cluster's network. Nothing reaches a node unless the suite delivers it (`Deliver`), so the
  suite decides loss (`Drop`), duplication (`Duplicate`), reordering (any in-flight packet may
  be delivered, or with `ordering="fifo"` only the oldest of each link, as over TCP) and
  partitions. A message to an unknown node is an `AdapterFault`, not a Raft finding.
* **Time.** Inside every call into the library the module globals `monotonicTime`, `random`
  and `time` of `pysyncobj.syncobj` are swapped for the cluster's simulated clock, the node's
  seeded `random.Random` and a guard that raises `AdapterFault` on any use of real time
  (`time.sleep`). The library is driven with `autoTick=False`, and its poller is replaced by
  one that refuses to wait. So election timeouts, heartbeats, the leader's fallback timer and
  the journal's one-second flush fire only when the suite advances the clock (`NextTimer`,
  `Wait`, or one node's own clock: `FireTimer`), and a run is a function of (seed, actions).
* **Journal.** `_SimJournal` keeps each node's durable state in a `_Disk` that survives a
  `Crash`, with the durability of the library's own `FileJournal` (0.3.17): log entries and
  (term, voted-for) are durable when written; the commit index is durable only at the next
  one-second timer or term change. `Restart` builds a new `SyncObj` from the disk, so the
  library's own recovery code runs.
* **Clients.** `Submit` calls the replicated method `put(key, value)` (a `@replicated` method
  of `_KeyValue`) on a node, so the library's own path runs: the leader appends, a follower
  forwards an `apply_command` message to the leader it knows.

`Cluster.world()` maps the nodes to the properties' view (`model.world.World` of
`impl.types.Node`) and keeps the ghost `History`; see `Cluster.node_view` for what the library
does not show. Log compaction (snapshots) is disabled: with it on, the log the view reads is
no longer the whole log. Dynamic membership change and leadership transfer are not exercised.
"""

from __future__ import annotations

import logging
import pickle
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pysyncobj
import pysyncobj.syncobj as _syncobj
from attrs import frozen
from pysyncobj import SyncObj, SyncObjConf, replicated
from pysyncobj.journal import Journal
from pysyncobj.node import Node as LibraryNode
from pysyncobj.transport import Transport

from raftcheck.impl.pysyncobj import NOOP as NOOP  # a leader's election no-op, in the view
from raftcheck.impl.types import (
    CandidateState,
    Entry,
    LeaderState,
    Node,
    Persistent,
    Put,
    Role,
    Volatile,
)
from raftcheck.model.adapters.sim import (
    ACTION_TYPES as ACTION_TYPES,
    Action as Action,
    ActionNotEnabled as ActionNotEnabled,
    AdapterFault as AdapterFault,
    Crash as Crash,
    Deliver as Deliver,
    Drop as Drop,
    Duplicate as Duplicate,
    FireTimer as FireTimer,
    Heal as Heal,
    LibraryLog as LibraryLog,
    LogCapture,
    NextTimer as NextTimer,
    NoRealTime,
    Ordering as Ordering,
    Packet as Packet,
    Partition as Partition,
    Restart as Restart,
    SimCluster,
    Submit as Submit,
    Wait as Wait,
    capturing,
    check_cluster,
    describe_action as _describe_action,
    describe_node as describe_node,
    raised,
)

LIBRARY_VERSION: str = str(getattr(pysyncobj.syncobj, "VERSION", "unknown"))

# The library's command types (pysyncobj.syncobj._COMMAND_TYPE) and role numbers
# (_RAFT_STATE, 0/1/2 = follower/candidate/leader, the same numbering as impl.types.Role).
_REGULAR, _NO_OP = 0, 1


def message(packet: Packet) -> dict[str, Any]:
    """The message a packet carries (the transport pickles what `SyncObj.send` is given)."""
    value: dict[str, Any] = pickle.loads(packet.payload)
    return value

# ------------------------------------------------------------------------------ config


@frozen
class ClusterConfig:
    """The cluster: its size, the seed of the library's random timeouts, message ordering,
    and the library's timing settings (its defaults, in seconds)."""

    nodes: int = 3
    seed: int = 0
    ordering: Ordering = "any"
    raft_min_timeout: float = 0.4
    raft_max_timeout: float = 1.4
    append_entries_period: float = 0.1
    leader_fallback_timeout: float = 30.0
    # Scripted values of the library's `random.random()` (its only use: the election
    # timeout), per node, in the order drawn across restarts; past them, the seeded
    # generator. Every record saves them (empty unless it scripted some); the suite's own
    # runs leave them to the seed.
    draws: tuple[tuple[float, ...], ...] = ()

    def __attrs_post_init__(self) -> None:
        check_cluster(self.nodes, self.ordering)


# ------------------------------------------------------------------------------ library glue


class _Disk:
    """What survives a crash of one node: the journal's records and its saved metadata."""

    def __init__(self) -> None:
        self.entries: list[tuple[bytes, int, int]] = []
        self.meta: dict[str, Any] = {}


class _SimJournal(Journal):  # type: ignore[misc]  # pysyncobj is untyped
    """`pysyncobj.journal.Journal` over a `_Disk`, with `FileJournal`'s durability: `add` and
    `deleteEntriesFrom` write the record file at once (FileJournal writes an mmap), term and
    vote are stored synchronously, the commit index only on the one-second timer (FileJournal
    marks its metadata unsaved and stores it in `onOneSecondTimer`) or with the next term."""

    def __init__(self, disk: _Disk) -> None:
        self._disk = disk
        self._meta = dict(disk.meta)
        self._saved = True

    def add(self, command: bytes, idx: int, term: int) -> None:
        self._disk.entries.append((command, idx, term))

    def clear(self) -> None:
        self._disk.entries.clear()

    def deleteEntriesFrom(self, entryFrom: int) -> None:
        del self._disk.entries[entryFrom:]

    def deleteEntriesTo(self, entryTo: int) -> None:
        del self._disk.entries[:entryTo]

    def __getitem__(self, item: Any) -> Any:
        return self._disk.entries[item]

    def __len__(self) -> int:
        return len(self._disk.entries)

    def _destroy(self) -> None:
        pass

    def setRaftCommitIndex(self, raftCommitIndex: int) -> None:
        self._meta["raftCommitIndex"] = raftCommitIndex
        self._saved = False

    def getRaftCommitIndex(self) -> int:
        return int(self._meta.get("raftCommitIndex", 1))

    def setCurrentTerm(self, term: int, votedForNodeId: Any) -> None:
        self._meta["currentTerm"] = term
        self._meta["votedForNodeId"] = votedForNodeId
        self._store()

    def getCurrentTerm(self) -> int:
        return int(self._meta.get("currentTerm", 0))

    def getVotedForNodeId(self) -> Any:
        return self._meta.get("votedForNodeId")

    def onOneSecondTimer(self) -> None:
        if not self._saved:
            self._store()

    def _store(self) -> None:
        self._disk.meta = dict(self._meta)
        self._saved = True


class _ScriptedRandom(random.Random):
    """The library's `random` for one node: the config's scripted draws first (a record may
    carry some), then the seeded generator."""

    def __init__(self, seed: str, script: list[float]) -> None:
        super().__init__(seed)
        self._script = script

    def random(self) -> float:
        return self._script.pop(0) if self._script else super().random()


class _SimTransport(Transport):  # type: ignore[misc]  # pysyncobj is untyped
    """Captures every message a node sends into the cluster's network; never delivers."""

    def __init__(self, cluster: Cluster, node_id: int) -> None:
        super().__init__(None, None, None)
        self._cluster = cluster
        self._node_id = node_id

    def send(self, node: Any, message: Any) -> bool:
        self._cluster._capture(self._node_id, node, message)
        return True

    def deliver(self, source: LibraryNode, message: dict[str, Any]) -> None:
        self._onMessageReceived(source, message)

    def connect(self, node: LibraryNode) -> None:
        self._onNodeConnected(node)

    def destroy(self) -> None:
        pass


class _NoWaitPoller:
    """Stands in for the library's socket poller: a node never waits for I/O in simulated
    time, and a wait is a timer outside the suite's control."""

    def __init__(self, node_id: int) -> None:
        self._node_id = node_id

    def poll(self, timeout: float) -> None:
        if timeout and timeout > 0:
            raise AdapterFault("real time", f"n{self._node_id} tried to wait {timeout} s for I/O")

    def subscribe(self, *args: Any) -> None:
        raise AdapterFault("unroutable", f"n{self._node_id} tried to subscribe a socket")

    def unsubscribe(self, *args: Any) -> None:
        pass


class _KeyValue(SyncObj):  # type: ignore[misc]  # pysyncobj is untyped
    """The replicated state machine: a key-value map written by the replicated `put`."""

    def __init__(self, self_node: LibraryNode, others: list[LibraryNode], conf: SyncObjConf,
                 transport: _SimTransport) -> None:
        super().__init__(self_node, others, conf, transport=transport)
        self.kv: dict[str, int] = {}

    @replicated  # type: ignore[untyped-decorator, misc, unused-ignore]
    def put(self, key: str, value: int) -> int:
        self.kv[key] = value
        return value


_LIBRARY_LOGGER = logging.getLogger("pysyncobj")


def _private(obj: Any, name: str) -> Any:
    """A name-mangled private attribute of `SyncObj` (`self.__raftCurrentTerm`, ...)."""
    return getattr(obj, "_SyncObj__" + name)


# ------------------------------------------------------------------------------ the cluster


@frozen
class ClientReply:
    """What a client was told: the library's callback result and FAIL_REASON code."""

    node: int
    value: int
    result: Any
    error: int


class Cluster(SimCluster):
    """N PySyncObj nodes, a network of captured packets, a simulated clock and durable disks.

    `apply(action)` performs one action and then ticks the node(s) it concerns, exactly as
    the library's own loop would run `_onTick` right after receiving a message; `world()` is
    the properties' view of the result. Deterministic: the same config and actions give the
    same packets, states and replies. Call `close()` when done."""

    def __init__(self, config: ClusterConfig) -> None:
        super().__init__(config.nodes, config.ordering)
        self.config = config
        n = config.nodes
        self.disks = [_Disk() for _ in range(n)]
        self.objects: list[_KeyValue | None] = [None] * n
        self.transports: list[_SimTransport] = [_SimTransport(self, i) for i in range(n)]
        self.incarnation = [0] * n
        self.replies: list[ClientReply] = []
        self._log_handler = LogCapture(self)
        self._rngs: list[random.Random] = [random.Random() for _ in range(n)]
        self._scripts = [list(config.draws[i]) if i < len(config.draws) else []
                         for i in range(n)]
        self._commands: dict[bytes, Put] = {}
        for i in range(n):
            self._start(i)

    # -------------------------------------------------------------- library context

    @contextmanager
    def _inside(self, node_id: int, what: str) -> Iterator[None]:
        """Run library code for node `node_id` under simulated time and its own random
        source; a library exception becomes an AdapterFault naming the call, and what the
        library logs (warnings and worse) is kept in `library_log` instead of printed."""
        saved = (_syncobj.monotonicTime, _syncobj.random, _syncobj.time)
        _syncobj.monotonicTime = lambda: self.clock_us(node_id) / 1_000_000
        _syncobj.random = self._rngs[node_id]
        _syncobj.time = NoRealTime()
        try:
            with capturing(_LIBRARY_LOGGER, self._log_handler, node_id):
                yield
        except (AdapterFault, ActionNotEnabled):
            raise
        except Exception as error:
            raise AdapterFault("library exception",
                               f"n{node_id} {what} raised {raised(error)}") from error
        finally:
            _syncobj.monotonicTime, _syncobj.random, _syncobj.time = saved

    def _conf(self) -> SyncObjConf:
        c = self.config
        return SyncObjConf(
            autoTick=False, appendEntriesUseBatch=True, pollerType="select", useFork=False,
            raftMinTimeout=c.raft_min_timeout, raftMaxTimeout=c.raft_max_timeout,
            appendEntriesPeriod=c.append_entries_period,
            leaderFallbackTimeout=c.leader_fallback_timeout,
            # The TCP transport's (unused here); the library requires it >= raftMaxTimeout.
            connectionTimeout=max(3.5, c.raft_max_timeout),
            # Snapshots off: the view reads the whole log (see the module docstring).
            logCompactionMinEntries=10**12, logCompactionMinTime=10**12,
            dynamicMembershipChange=False, commandsWaitLeader=True)

    def _start(self, i: int) -> None:
        """Build node i's SyncObj from its disk (a fresh disk at first start)."""
        n = self.config.nodes
        self._rngs[i] = _ScriptedRandom(
            f"pysyncobj:{self.config.seed}:{i}:{self.incarnation[i]}", self._scripts[i])
        names = [LibraryNode(f"n{j}") for j in range(n)]
        transport = self.transports[i] = _SimTransport(self, i)
        journal = _SimJournal(self.disks[i])
        saved_create = _syncobj.createJournal
        _syncobj.createJournal = lambda _path: journal
        try:
            with self._inside(i, "start"):
                obj = _KeyValue(names[i], [names[j] for j in range(n) if j != i],
                                self._conf(), transport)
        finally:
            _syncobj.createJournal = saved_create
        obj._poller = _NoWaitPoller(i)
        with self._inside(i, "connect"):
            for j in range(n):  # every peer is connected: the network model decides delivery
                if j != i:
                    transport.connect(names[j])
        self.objects[i] = obj

    def _up(self, i: int) -> _KeyValue:
        if not 0 <= i < self.config.nodes:
            raise ActionNotEnabled(f"no node n{i} in a cluster of {self.config.nodes}")
        obj = self.objects[i]
        if obj is None:
            raise ActionNotEnabled(f"n{i} is down")
        return obj

    def _tick(self, i: int) -> None:
        obj = self._up(i)
        with self._inside(i, "tick"):
            obj.doTick(0.0)

    def _capture(self, source: int, node: Any, message: Any) -> None:
        dest_id = getattr(node, "id", None)
        dest = _node_number(dest_id, self.config.nodes)
        if dest is None or dest == source:
            raise AdapterFault("unroutable", f"n{source} sent {_kind(message)} to {node!r}, "
                               "which is not another node of the cluster")
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise AdapterFault("unroutable", f"n{source} sent a non-message {message!r:.60}")
        try:
            payload = pickle.dumps(message)
        except Exception as error:
            raise AdapterFault("unroutable", f"n{source} sent an unpicklable message: "
                               f"{raised(error)}") from error
        self._enqueue(source, dest, message["type"], payload)

    # -------------------------------------------------------------- actions

    def is_up(self, i: int) -> bool:
        return self.objects[i] is not None

    def _deliver(self, packet: Packet) -> None:
        self._up(packet.dest)
        with self._inside(packet.dest, f"receiving {packet.kind}"):
            self.transports[packet.dest].deliver(LibraryNode(f"n{packet.source}"),
                                                 message(packet))
        self._tick(packet.dest)

    def _submit(self, node: int, value: int) -> None:
        obj = self._up(node)

        def reply(result: Any, error: int) -> None:
            self.replies.append(ClientReply(node, value, result, int(error)))

        with self._inside(node, "put"):
            obj.put("x", value, callback=reply)
        self._tick(node)

    def _crash(self, node: int) -> None:
        self.objects[node] = None  # no destroy(): a crash runs no library code

    def _restart(self, node: int) -> None:
        self.incarnation[node] += 1
        self._start(node)
        self._tick(node)

    def _past(self, i: int, deadline: float) -> int:
        """The first microsecond of node i's clock strictly after `deadline` (the library tests
        `deadline < now`), never earlier than its clock now."""
        now = max(self.clock_us(i), int(deadline * 1_000_000))
        while now / 1_000_000 <= deadline:
            now += 1
        return now

    def node_deadline_us(self, i: int) -> int:
        return self._past(i, self.node_deadline(i))

    def node_deadline(self, i: int) -> float:
        """The earliest time of up node i's clock at which one of its timers is due: a
        follower's or candidate's election deadline, a leader's next AppendEntries round or
        its fallback deadline (no majority heard from in leaderFallbackTimeout), and the
        one-second journal flush."""
        obj = self._up(i)
        due: list[float] = []
        if _private(obj, "raftState") == int(Role.LEADER):
            due.append(_private(obj, "newAppendEntriesTime"))
            heard = sorted(_private(obj, "lastResponseTime").values(), reverse=True)
            majority_others = self.config.nodes // 2  # others needed besides itself
            if majority_others and len(heard) >= majority_others:
                due.append(heard[majority_others - 1] + self.config.leader_fallback_timeout)
        else:
            due.append(_private(obj, "raftElectionDeadline"))
        due.append(_private(obj, "startTime") + _private(obj, "numOneSecondDumps"))
        return min(due)

    # -------------------------------------------------------------- the properties' view

    def node_view(self, i: int) -> Node:
        """Node i as `impl.types.Node`. What maps directly: current_term, voted_for (the
        library keeps it and stores it with the term), role, the log (entry terms; a command
        decoded from its pickled `put` call, a leader's no-op as `noop=0`), commit_index,
        last_applied, the state machine (the `put` map), and a leader's next/match index.

        Indices: the library's journal starts with a term-0 no-op at index 1 that every node
        creates for itself (it is not a replicated entry), so view index = library index - 1.

        Not visible: which peers granted a candidate its votes (the library keeps a count),
        so `candidate.votes_granted` is empty; no property reads it."""
        obj = self.objects[i]
        assert obj is not None
        n = self.config.nodes
        role = Role(_private(obj, "raftState"))
        log = self._log_view(i, self.disks[i].entries)
        voted = _private(obj, "votedForNodeId")
        voted_for = None if voted is None else _node_number(voted, n)
        if voted is not None and voted_for is None:
            raise AdapterFault("view", f"n{i} voted for {voted!r}, not a node of the cluster")
        commit = _private(obj, "raftCommitIndex") - 1
        applied = _private(obj, "raftLastApplied") - 1
        leader = _private(obj, "raftLeader")
        volatile = Volatile(commit_index=commit, last_applied=applied,
                            state_machine=tuple(sorted(obj.kv.items())),
                            leader_hint=_node_number(getattr(leader, "id", None), n))
        candidate = CandidateState(frozenset()) if role is Role.CANDIDATE else None
        leader_state = None
        if role is Role.LEADER:
            next_by = {_node_number(k.id, n): v for k, v in _private(obj, "raftNextIndex").items()}
            match_by = {_node_number(k.id, n): v
                        for k, v in _private(obj, "raftMatchIndex").items()}
            leader_state = LeaderState(
                next_index=tuple(len(log) + 1 if j == i else max(next_by.get(j, 1) - 1, 0)
                                 for j in range(n)),
                match_index=tuple(len(log) if j == i else max(match_by.get(j, 0) - 1, 0)
                                  for j in range(n)))
        persistent = Persistent(current_term=_private(obj, "raftCurrentTerm"),
                                voted_for=voted_for, log=log)
        return Node(id=i, cluster_size=n, role=role, persistent=persistent, volatile=volatile,
                    candidate=candidate, leader=leader_state)

    def disk_view(self, i: int) -> Persistent:
        """What node i would restart with: the library takes max(stored term, last log term)
        and the stored vote."""
        disk = self.disks[i]
        log = self._log_view(i, disk.entries)
        last_term = disk.entries[-1][2] if disk.entries else 0
        term = max(int(disk.meta.get("currentTerm", 0)), last_term)
        voted = disk.meta.get("votedForNodeId")
        return Persistent(current_term=term, voted_for=_node_number(voted, self.config.nodes),
                          log=log)

    def _log_view(self, i: int, entries: list[tuple[bytes, int, int]]) -> tuple[Entry, ...]:
        if not entries or entries[0][1] != 1 or entries[0][2] != 0 or \
                entries[0][0][:1] != bytes([_NO_OP]):
            first = entries[0] if entries else None
            raise AdapterFault("view", f"n{i}'s journal does not start with the library's "
                               f"term-0 no-op at index 1: {first!r:.80}")
        view = []
        for position, (command, idx, term) in enumerate(entries[1:], 2):
            if idx != position:
                raise AdapterFault("view", f"n{i}'s journal holds index {idx} at position "
                                   f"{position} (compaction is off, so there must be no gap)")
            view.append(Entry(term, self.command(command)))
        return tuple(view)

    def command(self, command: bytes) -> Put:
        """A journal record's command as the view shows it: `put(k, v)` as `Put(k, v)`, the
        leader's no-op as `NOOP`."""
        put = self._commands.get(command)
        if put is None:
            kind = command[0]
            if kind == _NO_OP:
                put = NOOP
            elif kind == _REGULAR:
                call = pickle.loads(command[1:])
                args: Any = call[1] if isinstance(call, tuple) and len(call) >= 2 else ()
                if len(args) != 2:
                    raise AdapterFault("view", f"cannot decode command {call!r:.60}")
                put = Put(str(args[0]), int(args[1]))
            else:
                put = Put(f"command-type-{kind}", 0)
            self._commands[command] = put
        return put

    def close(self) -> None:
        """Drop every node (nothing to release: no sockets, threads or files were opened)."""
        self.objects = [None] * self.config.nodes


def _node_number(node_id: object, n: int) -> int | None:
    if isinstance(node_id, str) and node_id.startswith("n") and node_id[1:].isdigit():
        number = int(node_id[1:])
        if 0 <= number < n:
            return number
    return None


def _kind(message: object) -> str:
    return str(message.get("type")) if isinstance(message, dict) else type(message).__name__


# ------------------------------------------------------------------------------ describing


def describe_packet(packet: Packet) -> str:
    """One line, in the view's indexing (library index - 1)."""
    m = message(packet)
    route = f"n{packet.source}→n{packet.dest} #{packet.seq}"
    kind = packet.kind
    if kind == "request_vote":
        return (f"request_vote {route} term={m['term']} "
                f"last={m['last_log_term']}/{m['last_log_index'] - 1}")
    if kind == "response_vote":
        return f"response_vote {route} term={m['term']} (granted)"
    if kind == "append_entries":
        if "prevLogIdx" not in m:
            return f"append_entries {route} term={m['term']} (snapshot)"
        entries = " ".join(f"{e[1] - 1}:{e[2]}" for e in m.get("entries", []))
        return (f"append_entries {route} term={m['term']} prev={m['prevLogTerm']}/"
                f"{m['prevLogIdx'] - 1} entries=[{entries}] commit={m['commit_index'] - 1}")
    if kind == "next_node_idx":
        return (f"next_node_idx {route} next={m['next_node_idx'] - 1} "
                f"{'success' if m['success'] else 'failure'}{' reset' if m['reset'] else ''} "
                "(carries no term)")
    if kind == "apply_command":
        return f"apply_command {route} (forwarded client request)"
    if kind == "apply_command_response":
        outcome = f"error={m['error']}" if "error" in m else f"index={m.get('log_idx', 0) - 1}"
        return f"apply_command_response {route} {outcome}"
    return f"{kind} {route}"


def describe_action(action: Action, cluster: Cluster | None = None) -> str:
    """`deliver append_entries n0→n1 #3 term=2 ...` when the packet is still in `cluster`."""
    return _describe_action(action, cluster, describe_packet)
