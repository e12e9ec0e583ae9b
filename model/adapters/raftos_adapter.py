"""raftos, driven by the suite: N library nodes in one process, with the suite in control of
every datagram, every clock tick and every crash.

raftos (https://github.com/zhebrak/raftos, on PyPI as `raftos`) is an asyncio Raft library:
a node (`raftos.server.Node`) owns a UDP endpoint on the event loop, its timers are the loop's
`call_later`, it draws election timeouts from the `random` module, and it keeps its term, vote,
log and state machine in files. This adapter replaces each of those, and nothing else; the
library's Raft code (`raftos.state`) runs as shipped:

* **Network.** Each node gets its own `_SimLoop`, whose `create_datagram_endpoint` hands the
  library's own `UDPProtocol` a `_SimDatagramTransport`: `sendto` captures the datagram (as the
  library serialized it) as a `Packet` in the cluster's network, and `Deliver` hands it to the
  destination's protocol (`datagram_received`), so the suite decides loss, duplication,
  reordering and partitions, as UDP allows all of them.
* **Time.** `_SimLoop` is an asyncio event loop whose clock is the cluster's simulated clock
  and which never waits: after an action the adapter runs the loops it concerns until nothing
  is ready or due. A timer fires only when the suite advances the clock (`NextTimer`, `Wait`,
  or one node's own clock: `FireTimer`).
  While a node's loop runs, `raftos.state.random` is the node's seeded `random.Random` (per
  node and incarnation) and `raftos.state.time` a guard that raises `AdapterFault` on use.
* **Disk.** While a node's loop runs, `raftos.storage.open` and `raftos.storage.os` are that
  node's in-memory file system (`_Disk`): the library's own `FileStorage`, `Log` and
  `StateMachine` write and read their files as shipped, and the files survive a `Crash`.
* **One process, N nodes.** raftos keeps `State.leader`, `State.loop` and the client futures
  as class attributes, one node per process; each node here gets its own subclass of `State`,
  so those are per node as they are in a deployment.
* **Python 3.11.** raftos 0.2.6 was written for Python 3.5: it builds its send queue as
  `asyncio.Queue(loop=...)` (the argument was removed in Python 3.10: TypeError at start) and
  catches `asyncio.futures.InvalidStateError` when it applies an entry (moved out of
  `asyncio.futures` in Python 3.8: evaluating that `except` clause raises AttributeError, so
  every follower's first apply aborts the handler). While a node runs, `raftos.server` and
  `raftos.state` see `_AsyncioCompat`, an `asyncio` with both restored; nothing else differs.
* **Configuration.** `raftos.configure` sets the library's own `JSONSerializer` (its default
  `MessagePackSerializer` passes `encoding=` to `msgpack.unpackb`, which msgpack 1.0 removed)
  and its `DummyCryptor` (no encryption: it would only make the captured bytes random). Timing
  settings are the library's defaults (`RaftosConfig`).

Crash drops the node's loop without running anything on it; Restart builds a new node on the
same disk, so the library's own start-up runs. `Cluster.world()` maps the nodes to the
properties' view (`model.world.World` of `impl.types.Node`); see `Cluster.node_view`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import importlib.metadata
import logging
import math
import os
import random
import types
from collections.abc import Callable, Iterator
from typing import Any

import raftos
import raftos.server as _server
import raftos.state as _state
import raftos.storage as _storage
from attrs import frozen
from raftos.cryptors import DummyCryptor
from raftos.exceptions import NotALeaderException
from raftos.serializers import JSONSerializer

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
    Action,
    ActionNotEnabled,
    AdapterFault,
    LogCapture,
    NoRealTime,
    Ordering,
    Packet,
    SimCluster,
    capturing,
    check_cluster,
    describe_action as _describe_action,
    raised,
)

LIBRARY_VERSION: str = importlib.metadata.version("raftos")
HOST = "127.0.0.1"
BASE_PORT = 9000  # node i listens on HOST:BASE_PORT+i; its id in the library is "HOST:port"
LOG_PATH = "/raftos-sim/"  # the library's log_path; only the in-memory disks ever see it
KEY = "x"  # clients write {KEY: k}


@frozen
class ClusterConfig:
    """The cluster: its size, the seed of the library's random timeouts, message ordering, and
    the library's timing settings (its defaults, `raftos.conf`): heartbeat every 0.3 s, a
    leader steps down after 5 heartbeats without a majority's answers, election timeouts drawn
    from [1.5, 4.5] s (5 heartbeats, times 1 to 3)."""

    nodes: int = 3
    seed: int = 0
    ordering: Ordering = "any"
    heartbeat_interval: float = 0.3
    step_down_missed_heartbeats: int = 5
    election_interval_spread: float = 3.0

    def __attrs_post_init__(self) -> None:
        check_cluster(self.nodes, self.ordering)


def node_id(i: int) -> str:
    return f"{HOST}:{BASE_PORT + i}"


def node_number(library_id: object, n: int) -> int | None:
    """"127.0.0.1:9002" (or ("127.0.0.1", 9002)) → 2; None for anything else."""
    if isinstance(library_id, (tuple, list)) and len(library_id) == 2:
        library_id = f"{library_id[0]}:{library_id[1]}"
    if isinstance(library_id, str) and library_id.startswith(f"{HOST}:"):
        port = library_id[len(HOST) + 1:]
        if port.isdigit() and 0 <= int(port) - BASE_PORT < n:
            return int(port) - BASE_PORT
    return None


# ------------------------------------------------------------------------------ the disk


class _Disk:
    """One node's files, by path: what survives its crash. Every write reaches the file at
    once (the library writes whole files or appends, without fsync; a process crash keeps what
    the OS was given, and a power failure is not modelled)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def open(self, name: str, mode: str = "r") -> _File:
        return _File(self, os.fspath(name), mode)


class _File:
    """An open file of a `_Disk`, with the operations `raftos.storage` uses."""

    def __init__(self, disk: _Disk, name: str, mode: str) -> None:
        self._disk, self._name, self._mode = disk, name, mode
        if mode.startswith("r"):
            if name not in disk.files:
                raise FileNotFoundError(2, "No such file or directory", name)
        elif mode.startswith("w"):
            disk.files[name] = b""
        elif mode.startswith("a"):
            disk.files.setdefault(name, b"")
        else:
            raise AdapterFault("disk", f"the library opened {name} in mode {mode!r}")

    def write(self, data: bytes | str) -> int:
        raw = data.encode() if isinstance(data, str) else bytes(data)
        self._disk.files[self._name] += raw
        return len(data)

    def read(self) -> bytes:
        return self._disk.files[self._name]

    def readlines(self) -> list[bytes]:
        data = self._disk.files[self._name]
        lines = [line + b"\n" for line in data.split(b"\n")]
        if lines:
            lines[-1] = lines[-1][:-1]
            if not lines[-1]:
                lines.pop()
        return lines

    def close(self) -> None:
        pass

    def __enter__(self) -> _File:
        return self

    def __exit__(self, *_: object) -> None:
        pass


def _files_os() -> types.SimpleNamespace:
    """`os` as `raftos.storage` sees it: directories exist without being made."""
    return types.SimpleNamespace(path=os.path, makedirs=lambda *_, **__: None)


class _Futures:
    """`asyncio.futures` with the `InvalidStateError` it had until Python 3.7."""

    InvalidStateError = asyncio.InvalidStateError

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio.futures, name)


class _AsyncioCompat:
    """`asyncio` as raftos 0.2.6 (written for Python 3.5) expects it, for `raftos.server` and
    `raftos.state` while the adapter runs a node: `Queue(loop=...)` (the argument was removed
    in Python 3.10: TypeError) becomes `Queue()`, and `asyncio.futures.InvalidStateError`
    (moved out of `asyncio.futures` in Python 3.8: AttributeError) is there again. Everything
    else is asyncio's own."""

    futures = _Futures()

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    @staticmethod
    def Queue(*args: Any, loop: Any = None, **kwargs: Any) -> asyncio.Queue[Any]:
        return asyncio.Queue(*args, **kwargs)


_ASYNCIO = _AsyncioCompat()


# ------------------------------------------------------------------------------ the loop


class _NeverWait:
    """The loop's selector: there is no I/O to wait for; the suite passes time."""

    def select(self, timeout: float | None) -> list[Any]:
        return []

    def close(self) -> None:
        pass


class _SimDatagramTransport(asyncio.DatagramTransport):
    """The node's UDP socket: every datagram sent goes to the cluster's network."""

    def __init__(self, cluster: Cluster, node: int) -> None:
        super().__init__()
        self._cluster, self._node, self._closing = cluster, node, False

    def sendto(self, data: Any, addr: Any = None) -> None:
        self._cluster._capture(self._node, data, addr)

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        self._closing = True


class _SimLoop(asyncio.BaseEventLoop):
    """One node's event loop on the cluster's simulated clock. It never waits: `run_idle` runs
    callbacks while any is ready or due now. A library exception inside a callback is what the
    library's own loop would log (asyncio's exception handler): it goes to the cluster's
    library log and the node goes on, unless it is an `AdapterFault`."""

    # BaseEventLoop's own (CPython 3.10-3.13), which typeshed does not declare.
    _ready: collections.deque[asyncio.Handle]
    _scheduled: list[asyncio.TimerHandle]
    _run_once: Callable[[], None]

    def __init__(self, cluster: Cluster, node: int) -> None:
        super().__init__()
        self._cluster, self._node = cluster, node
        self._selector = _NeverWait()
        self._clock_resolution = 1e-7  # under a microsecond, the clock's step
        self.fault: AdapterFault | None = None
        self.protocol: asyncio.DatagramProtocol | None = None

    def time(self) -> float:
        return self._cluster.clock_us(self._node) / 1_000_000

    def __del__(self) -> None:
        # Never closed: the coroutines of a crashed node may still call `call_soon` on it when
        # they are collected; their callbacks are never run.
        pass

    def _process_events(self, event_list: list[Any]) -> None:
        pass

    def _write_to_self(self) -> None:
        pass

    async def create_datagram_endpoint(  # type: ignore[override]
            self, protocol_factory: Callable[[], asyncio.DatagramProtocol], *_: Any,
            **__: Any) -> tuple[asyncio.DatagramTransport, asyncio.DatagramProtocol]:
        protocol = protocol_factory()
        transport = _SimDatagramTransport(self._cluster, self._node)
        protocol.connection_made(transport)
        self.protocol = protocol
        return transport, protocol

    def create_task(self, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        task = super().create_task(coro, **kwargs)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.call_exception_handler({"message": "Task exception was never retrieved",
                                         "exception": task.exception()})

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        error = context.get("exception")
        if isinstance(error, AdapterFault):
            self.fault = self.fault or error
        elif self._cluster.loops[self._node] is self:  # a crashed node's loop is silent
            detail = str(context.get("message", ""))
            if isinstance(error, BaseException):
                detail = f"exception in a callback: {raised(error)}"
            self._cluster.log(self._node, "ERROR", detail)

    def due(self) -> bool:
        # The same test as BaseEventLoop._run_once's for a timer that is due.
        end = self.time() + self._clock_resolution
        return bool(self._ready) or any(not h.cancelled() and h.when() < end
                                        for h in self._scheduled)

    def next_when(self) -> float | None:
        return min((h.when() for h in self._scheduled if not h.cancelled()), default=None)

    def run_idle(self) -> None:
        """Run every callback that is ready or due, and those they make ready, until none."""
        previous = asyncio.events._get_running_loop()
        asyncio.events._set_running_loop(self)
        try:
            rounds = 0
            while self.due():
                self._run_once()
                rounds += 1
                if rounds > 100_000:
                    raise AdapterFault("livelock", f"n{self._node}'s loop never became idle")
        finally:
            asyncio.events._set_running_loop(previous)
        if self.fault is not None:
            raise self.fault


_LIBRARY_LOGGER = logging.getLogger("raftos")


@frozen
class ClientReply:
    """What a client was told: success, or the library's NotALeaderException text."""

    node: int
    value: int
    ok: bool
    error: str = ""


# ------------------------------------------------------------------------------ the cluster


class Cluster(SimCluster):
    """N raftos nodes, a network of captured datagrams, a simulated clock and durable disks.

    `apply(action)` performs one action and runs the event loop of every node it concerns
    until idle; `world()` is the properties' view of the result. Deterministic: the same config
    and actions give the same packets, states and replies. Call `close()` when done."""

    def __init__(self, config: ClusterConfig) -> None:
        super().__init__(config.nodes, config.ordering)
        self.config = config
        n = config.nodes
        self.disks = [_Disk() for _ in range(n)]
        self.loops: list[_SimLoop | None] = [None] * n
        self.servers: list[Any] = [None] * n  # raftos.server.Node, per node
        self.incarnation = [0] * n
        self.replies: list[ClientReply] = []
        self._clients: list[asyncio.Future[None]] = []  # the clients' calls, done or waiting
        self._rngs = [random.Random() for _ in range(n)]
        self._tasks: list[asyncio.Future[None] | None] = [None] * n  # each node's start()
        self._log_handler = LogCapture(self)
        raftos.configure({
            "log_path": LOG_PATH, "serializer": JSONSerializer, "cryptor": DummyCryptor,
            "heartbeat_interval": config.heartbeat_interval,
            "step_down_missed_heartbeats": config.step_down_missed_heartbeats,
            "election_interval_spread": config.election_interval_spread,
        })
        for i in range(n):
            self._start(i)

    # -------------------------------------------------------------- library context

    @contextlib.contextmanager
    def _inside(self, i: int) -> Iterator[_SimLoop]:
        """Node i's library context: its loop, random source, disk and the time guard; what
        the library logs is captured."""
        loop = self.loops[i]
        if loop is None:
            raise ActionNotEnabled(f"n{i} is down")
        disk = self.disks[i]
        saved = (_state.random, _state.time, getattr(_storage, "open", None), _storage.os,
                 _state.asyncio, _server.asyncio)
        _state.asyncio = _server.asyncio = _ASYNCIO
        _state.random = self._rngs[i]
        _state.time = NoRealTime()
        _storage.open = disk.open
        _storage.os = _files_os()
        try:
            with capturing(_LIBRARY_LOGGER, self._log_handler, i):
                yield loop
        finally:
            _state.random, _state.time = saved[0], saved[1]
            if saved[2] is None:
                del _storage.open
            else:
                _storage.open = saved[2]
            _storage.os = saved[3]
            _state.asyncio, _server.asyncio = saved[4], saved[5]

    def _run(self, i: int, call: Callable[[], object] | None = None) -> None:
        """Node i's loop: `call` (if any) as a callback, then everything due, until idle."""
        with self._inside(i) as loop:
            if call is not None:
                loop.call_soon(call)
            loop.run_idle()

    def _start(self, i: int) -> None:
        """Build node i from its disk (empty at first start), as `raftos.register` does: start
        the node, then tell it its peers."""
        n = self.config.nodes
        self._rngs[i] = random.Random(f"raftos:{self.config.seed}:{i}:{self.incarnation[i]}")
        loop = self.loops[i] = _SimLoop(self, i)
        # Class attributes of State (leader, loop, client futures) are per process in raftos:
        # per node here.
        state_class = type(f"State_n{i}", (_state.State,), {})

        def build() -> None:
            saved = _server.State
            _server.State = state_class
            try:
                server = _server.Node(address=(HOST, BASE_PORT + i), loop=loop)
            finally:
                _server.State = saved
            _server.Node.nodes.remove(server)  # raftos.stop()'s registry: not this harness's
            self.servers[i] = server

            async def start() -> None:
                await server.start()
                for j in range(n):
                    if j != i:
                        server.update_cluster((HOST, BASE_PORT + j))

            self._tasks[i] = asyncio.ensure_future(start(), loop=loop)

        try:
            self._run(i, build)
        except (AdapterFault, ActionNotEnabled):
            raise
        except Exception as error:
            raise AdapterFault("library exception", f"n{i} start raised {raised(error)}") \
                from error
        if loop.protocol is None:
            raise AdapterFault("start", f"n{i} did not open its UDP endpoint")

    def _capture(self, source: int, data: Any, addr: Any) -> None:
        dest = node_number(addr, self.config.nodes)
        if dest is None or dest == source:
            raise AdapterFault("unroutable", f"n{source} sent a datagram to {addr!r}, which "
                               "is not another node of the cluster")
        if not isinstance(data, bytes):
            raise AdapterFault("unroutable", f"n{source} sent a non-bytes datagram {data!r:.60}")
        self._enqueue(source, dest, str(decode(data).get("type")), data)

    # -------------------------------------------------------------- actions

    def is_up(self, i: int) -> bool:
        return self.loops[i] is not None

    def _deliver(self, packet: Packet) -> None:
        loop = self.loops[packet.dest]
        assert loop is not None and loop.protocol is not None
        protocol = loop.protocol
        sender = (HOST, BASE_PORT + packet.source)
        self._run(packet.dest, lambda: protocol.datagram_received(packet.payload, sender))

    def _tick(self, i: int) -> None:
        self._run(i)

    def _submit(self, node: int, value: int) -> None:
        """The library's client call `State.set_value(KEY, value)` (what `raftos.Replicated`
        does) on the node's own State class: it waits for an election if the node knows no
        leader, raises NotALeaderException on a node that is not the leader, and on the leader
        appends, replicates and returns once the entry is applied."""
        state_class = type(self.servers[node].state)

        async def client() -> None:
            try:
                await state_class.set_value(KEY, value)
            except NotALeaderException as error:
                self.replies.append(ClientReply(node, value, False, str(error)))
            else:
                self.replies.append(ClientReply(node, value, True))

        loop = self.loops[node]
        self._run(node, lambda: self._clients.append(asyncio.ensure_future(client(), loop=loop)))

    def _crash(self, node: int) -> None:
        # Nothing more runs on its loop: a crash runs no library code.
        self.loops[node] = None
        self.servers[node] = None

    def _restart(self, node: int) -> None:
        self.incarnation[node] += 1
        self._start(node)

    def node_deadline_us(self, i: int) -> int | None:
        """The first microsecond of node i's clock at or after its earliest pending timer (an
        election timeout, a candidate's, a leader's heartbeat or its step-down timer)."""
        loop = self.loops[i]
        when = None if loop is None else loop.next_when()
        return None if when is None else math.ceil(when * 1_000_000)

    # -------------------------------------------------------------- the properties' view

    def node_view(self, i: int) -> Node:
        """Node i as `impl.types.Node`, read from the library's objects and files without
        calling any of its methods (which may touch files): term and vote from its
        `FileStorage` file, role from the class of `State.state`, the log (1-based, as the
        view's) from `Log`'s cache, commit index and last applied from `Log`, the state
        machine from its `StateMachine` file, the leader hint from the node's `State.leader`, and a
        leader's next/match index from `Log.next_index`/`match_index`.

        Not visible: which peers granted a candidate its votes (the library counts them), so
        `candidate.votes_granted` is empty; no property reads it."""
        server = self.servers[i]
        assert server is not None
        n = self.config.nodes
        state = server.state
        storage = self._file_dict(i, "storage")
        log = tuple(self._entry(i, entry) for entry in state.log.cache)
        role = (Role.LEADER if isinstance(state.state, _state.Leader) else
                Role.CANDIDATE if isinstance(state.state, _state.Candidate) else Role.FOLLOWER)
        voted = storage.get("voted_for")
        voted_for = None if voted is None else node_number(voted, n)
        if voted is not None and voted_for is None:
            raise AdapterFault("view", f"n{i} voted for {voted!r}, not a node of the cluster")
        leader = type(state).leader
        hint = i if isinstance(leader, _state.Leader) else node_number(leader, n)
        machine = self._file_dict(i, "state_machine")
        volatile = Volatile(commit_index=state.log.commit_index,
                            last_applied=state.log.last_applied,
                            state_machine=tuple(sorted(machine.items())), leader_hint=hint)
        leader_state = None
        if role is Role.LEADER:
            next_by = {node_number(k, n): v for k, v in (state.log.next_index or {}).items()}
            match_by = {node_number(k, n): v for k, v in (state.log.match_index or {}).items()}
            leader_state = LeaderState(
                next_index=tuple(len(log) + 1 if j == i else next_by.get(j, 1)
                                 for j in range(n)),
                match_index=tuple(len(log) if j == i else match_by.get(j, 0)
                                  for j in range(n)))
        persistent = Persistent(current_term=int(storage.get("term", 0)), voted_for=voted_for,
                                log=log)
        return Node(id=i, cluster_size=n, role=role, persistent=persistent, volatile=volatile,
                    candidate=CandidateState(frozenset()) if role is Role.CANDIDATE else None,
                    leader=leader_state)

    def _file_dict(self, i: int, kind: str) -> dict[str, Any]:
        """One of node i's `FileDict` files (`storage`: term and vote; `state_machine`), as
        the library reads it: the file is what it holds (its in-memory cache is filled from
        the file on first read, so after a restart it starts empty)."""
        name = os.path.join(LOG_PATH, f"{node_id(i)}.{kind}").replace(":", "_")
        content = self.disks[i].files.get(name, b"")
        value = JSONSerializer.unpack(content) if content else {}
        if not isinstance(value, dict):
            raise AdapterFault("view", f"n{i}'s {kind} file holds {value!r:.60}")
        return value

    def disk_view(self, i: int) -> Persistent:
        """What node i's files hold: the stored term and vote, and the log file's entries (a
        restart reads them; raftos then clears the vote, see docs/raftos.md)."""
        meta = self._file_dict(i, "storage")
        name = os.path.join(LOG_PATH, f"{node_id(i)}.log").replace(":", "_")
        lines = self.disks[i].files.get(name, b"").split(b"\n")
        log = tuple(self._entry(i, JSONSerializer.unpack(line)) for line in lines if line)
        voted = meta.get("voted_for")
        return Persistent(current_term=int(meta.get("term", 0)),
                          voted_for=node_number(voted, self.config.nodes), log=log)

    def _entry(self, i: int, entry: Any) -> Entry:
        command = entry.get("command") if isinstance(entry, dict) else None
        if not isinstance(command, dict) or len(command) != 1:
            raise AdapterFault("view", f"n{i}'s log holds {entry!r:.80}, not a client's write")
        ((key, value),) = command.items()
        return Entry(int(entry["term"]), Put(str(key), int(value)))

    def close(self) -> None:
        """Drop every node (nothing to release: no sockets, threads or files were opened)."""
        self.loops = [None] * self.config.nodes
        self.servers = [None] * self.config.nodes


def decode(payload: bytes) -> dict[str, Any]:
    """A datagram as the library reads it (`JSONSerializer`, no encryption)."""
    value = JSONSerializer.unpack(payload)
    if not isinstance(value, dict):
        raise AdapterFault("unroutable", f"a datagram that is not a message: {value!r:.60}")
    return value


# ------------------------------------------------------------------------------ describing


def describe_packet(packet: Packet) -> str:
    """One line per message, with raftos's field names."""
    m = decode(packet.payload)
    route = f"n{packet.source}→n{packet.dest} #{packet.seq}"
    kind = packet.kind
    if kind == "request_vote":
        return (f"request_vote {route} term={m['term']} "
                f"last={m['last_log_term']}/{m['last_log_index']}")
    if kind == "request_vote_response":
        granted = "granted" if m.get("vote_granted") else "refused"
        return f"request_vote_response {route} term={m['term']} {granted}"
    if kind == "append_entries":
        entries = " ".join(f"{e['term']}:{e['command']}" for e in m.get("entries", []))
        return (f"append_entries {route} term={m['term']} prev={m['prev_log_term']}/"
                f"{m['prev_log_index']} entries=[{entries}] commit={m['commit_index']} "
                f"request={m.get('request_id')}")
    if kind == "append_entries_response":
        outcome = (f"success last={m.get('last_log_index')}" if m.get("success")
                   else "failure")
        return (f"append_entries_response {route} term={m['term']} {outcome} "
                f"request={m.get('request_id')}")
    return f"{kind} {route}"


def describe_action(action: Action, cluster: Cluster | None = None) -> str:
    """`deliver append_entries n0→n1 #3 term=2 ...` when the packet is still in `cluster`."""
    return _describe_action(action, cluster, describe_packet)
