"""The world a Raft core runs in: a cluster, a faulty network, crashes, clients and timers.

One action space serves every engine (Stateright's `Model`): `Model.initial_state()`,
`Model.enabled_actions(state)` in a deterministic order, `Model.next_state(state, action)`, and
`Model.successors(state)` for engines that want both at once. The Hypothesis machine, the
exhaustive enumerator, replay and the scripted scenarios all drive the core through it, so
they all check the same thing (STYLE trap 3).

The network is a bag of in-flight messages (a sorted tuple, so equal bags are equal values):
delivering any of them models arbitrary reordering; drop and duplicate are actions of their
own; a partition makes messages across it undeliverable until healed or dropped. A crash loses
everything but what the core asked to persist (the `disk`), so "persist before you answer"
mistakes are observable.

Time: in the default *untimed* world any follower or candidate may time out at any moment and
any leader may send heartbeats at any moment. That covers every timing, so it is what the
exhaustive engine explores. The *timed* world (Config.timing="timed") instead keeps a clock:
each node's election deadline is drawn uniformly from 150-300 ms by a seeded generator owned by
the world (splitmix64), leaders beat every 50 ms, and the only timer action is `Tick`, which
jumps to the earliest deadline. It shows why randomized timeouts make split votes rare.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Literal

from attrs import evolve, field, frozen

from raftcheck.impl.types import (
    MESSAGE_TYPES,
    ClientRequest,
    Effects,
    ElectionTimeout,
    Entry,
    Event,
    HeartbeatTimeout,
    Message,
    Node,
    Persistent,
    Put,
    Role,
    message_key,
)

if TYPE_CHECKING:  # properties imports this module: the Violation import is lazy at run time
    from raftcheck.properties.violation import Violation

# ------------------------------------------------------------------------------ the core seam


from raftcheck.impl.core import Core as Core  # the core protocol, re-exported from its home

CORE_FAULT = "Core Fault"  # the "property" a CoreFault is reported under, beside Figure 3's


class CoreFault(Exception):
    """The core under test broke the protocol: it raised, returned something that is not a
    `(Node, Effects)` pair of the right shape, or mutated the node or event it was given.

    Raised by the world (`Model`), never by a core. Engines report it as a *finding with its
    trace* (the actions up to and including the one whose step broke), exactly like a property
    violation, because a crash in a user's core is a bug found, not a crash of the suite.
    `str(fault)` is one line naming the core, the call, the node and the reason."""

    def __init__(self, core: str, call: str, reason: str, node: int | None = None,
                 event: str | None = None) -> None:
        super().__init__(core, call, reason, node, event)  # all args: picklable for workers
        self.core = core
        self.call = call  # "initial_node", "restart" or "step"
        self.reason = reason
        self.node = node
        self.event = event  # short description of the event, for step

    def __str__(self) -> str:
        where = f"n{self.node}" if self.node is not None else "?"
        args = f"{where}, {self.event}" if self.event is not None else where
        return f"core {self.core!r}: {self.call}({args}) {self.reason}"

    def violation(self) -> Violation:
        """The fault as a `properties.Violation` named CORE_FAULT, so every engine can carry it
        where it carries violations."""
        from raftcheck.properties.violation import Violation

        return Violation(CORE_FAULT, str(self),
                         "a core that crashes or breaks the protocol takes its server down in "
                         "a real cluster; nothing after this step can be trusted",
                         () if self.node is None else (self.node,))


def describe_event(event: object) -> str:
    """`AppendEntries n0→n1 term=2`, `ElectionTimeout`: short enough for a one-line error."""
    if type(event) in MESSAGE_TYPES:
        message: Message = event  # type: ignore[assignment]  # checked just above
        return (f"{type(event).__name__} n{message.source}→n{message.dest} "
                f"term={message.term}")
    return type(event).__name__


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _node_problem(node: object, node_id: int, cluster_size: int) -> str | None:
    """Why `node` is not a valid Node for server `node_id`, or None. Checks what the world and
    the properties read (id, size, role, the Figure 2 fields), cheaply."""
    if not isinstance(node, Node):
        return f"returned {type(node).__name__} {_short(node)} instead of an impl.types.Node"
    if node.id != node_id or node.cluster_size != cluster_size:
        return (f"returned a Node with id={node.id} cluster_size={node.cluster_size}, "
                f"expected id={node_id} cluster_size={cluster_size}")
    if not isinstance(node.role, Role):
        return f"returned a Node whose role is {_short(node.role)}, not an impl.types.Role"
    persistent = node.persistent
    if not isinstance(persistent, Persistent) or not isinstance(persistent.log, tuple) \
            or not isinstance(persistent.current_term, int):
        return f"returned a Node whose persistent state is malformed: {_short(persistent)}"
    if not isinstance(node.volatile.commit_index, int):
        return f"returned a Node whose volatile state is malformed: {_short(node.volatile)}"
    return None


def _effects_problem(effects: object, node_id: int, cluster_size: int) -> str | None:
    if not isinstance(effects, Effects):
        return f"returned {type(effects).__name__} {_short(effects)} instead of impl.types.Effects"
    if effects.persist is not None and not isinstance(effects.persist, Persistent):
        return f"returned Effects.persist={_short(effects.persist)}, not a Persistent or None"
    if not isinstance(effects.messages, tuple):
        return f"returned Effects.messages as {type(effects.messages).__name__}, not a tuple"
    for message in effects.messages:
        if type(message) not in MESSAGE_TYPES:
            return f"sent {_short(message)}, which is not one of the four Raft messages"
        if message.source != node_id or not 0 <= message.dest < cluster_size \
                or message.dest == node_id:
            return (f"sent {type(message).__name__} from n{message.source} to n{message.dest}; "
                    f"a message from n{node_id} must go to another node of the cluster")
    return None


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
        for name in ("max_crashes", "max_partitions"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be >= 0 or None")

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


# ------------------------------------------------------------------------------ the model


def _splitmix64(state: int) -> tuple[int, int]:
    """One step of splitmix64: (new state, 64 random bits). Pure, so the world stays a value."""
    state = (state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return state, z ^ (z >> 31)


class ModelError(Exception):
    """An action that is not enabled in the state it was applied to (a bad trace file or a
    scenario that no longer applies), as opposed to a property violation."""


@frozen
class Model:
    """A core in a world: the single action space every engine explores."""

    core: Core
    config: Config = Config()
    bounds: Bounds = Bounds()
    # Checked mode validates every call into the core (types and shapes of what it returns, and
    # that it left its input untouched: a hash of the node and event before and after; +16%
    # per transition, benchmarks/checked_bench.py). None means: on for cores from outside
    # this package's `raftcheck.impl`, off for the bundled ones. Exceptions from the core are
    # reported as CoreFault either way.
    checked: bool | None = field(default=None, eq=False)

    @property
    def checking(self) -> bool:
        if self.checked is not None:
            return self.checked
        module = type(self.core).__module__
        return module != "raftcheck.impl" and not module.startswith("raftcheck.impl.")

    # -------------------------------------------------------------- initial state

    def initial_state(self) -> World:
        n = self.config.cluster_size
        nodes = tuple(self._initial_node(i, n) for i in range(n))
        world = World(nodes=nodes, disk=tuple(node.persistent for node in nodes), network=())
        if self.config.timing == "timed":
            rng = self.config.seed & 0xFFFFFFFFFFFFFFFF
            deadlines: list[int | None] = []
            for _ in range(n):
                rng, timeout = self._draw(rng)
                deadlines.append(timeout)
            world = evolve(world, clock=Clock(0, tuple(deadlines), rng))
        return world

    def _initial_node(self, node_id: int, cluster_size: int) -> Node:
        try:
            node = self.core.initial_node(node_id, cluster_size)
        except Exception as error:  # any failure of the core is a finding, not a crash
            raise CoreFault(self.core.name, "initial_node", _raised(error), node_id) from error
        problem = _node_problem(node, node_id, cluster_size)
        if problem is not None:
            raise CoreFault(self.core.name, "initial_node", problem, node_id)
        return node

    def _draw(self, rng: int) -> tuple[int, int]:
        low, high = self.config.election_timeout_ms
        rng, bits = _splitmix64(rng)
        return rng, low + bits % (high - low + 1)

    # -------------------------------------------------------------- enumeration

    def candidate_actions(self, state: World) -> Iterator[Action]:
        """Every action whose guard holds, in a fixed order; bounds on the *result* (messages
        in flight) are applied by `successors`."""
        bounds = self.bounds
        previous: Message | None = None
        for message in state.network:  # sorted, so equal copies are adjacent
            if message == previous:
                continue
            previous = message
            if state.nodes[message.dest] is not None and state.connected(message.source,
                                                                         message.dest):
                yield Deliver(message)
        untimed = state.clock is None
        for node in state.up_nodes():
            if node.role is Role.LEADER:
                if untimed:
                    yield Heartbeat(node.id)
                if node.last_log_index < bounds.max_log:
                    for value in range(1, bounds.values + 1):
                        yield Submit(node.id, value)
            elif untimed and node.current_term < bounds.max_term:
                yield Timeout(node.id)
        if not untimed and any(node is not None for node in state.nodes):
            yield Tick()
        previous = None
        for message in state.network:
            if message == previous:
                continue
            previous = message
            if bounds.drop:
                yield Drop(message)
            if bounds.duplicate:
                yield Duplicate(message)
        if bounds.max_crashes is None or state.crashes < bounds.max_crashes:
            for node_id, maybe_node in enumerate(state.nodes):
                if maybe_node is not None:
                    yield Crash(node_id)
        for node_id, maybe_node in enumerate(state.nodes):
            if maybe_node is None:
                yield Restart(node_id)
        if state.isolated:
            yield Heal()
        elif bounds.max_partitions is None or state.partitions < bounds.max_partitions:
            yield from (Partition(side) for side in self._partition_sides())

    def _partition_sides(self) -> list[frozenset[int]]:
        """Each way to split the cluster in two, named by its smaller side (for an even split,
        the side without the highest id)."""
        n = self.config.cluster_size
        sides = []
        for mask in range(1, 2**n - 1):
            side = frozenset(i for i in range(n) if mask >> i & 1)
            if len(side) * 2 < n or (len(side) * 2 == n and n - 1 not in side):
                sides.append(side)
        return sorted(sides, key=lambda s: (len(s), sorted(s)))

    def successors(self, state: World) -> Iterator[tuple[Action, World]]:
        """(action, next state) for every enabled action, in enumeration order. A successor
        with more messages in flight than the bound is outside the model and left out."""
        limit = self.bounds.max_messages
        for action in self.candidate_actions(state):
            after = self.next_state(state, action)
            if len(after.network) <= limit:
                yield action, after

    def successor(self, state: World, action: Action) -> World | None:
        """The state `action` leads to, or None if it is not enabled in `state` (its guard
        fails or the result is outside the bounds). Cheaper than scanning `successors` when
        only one action matters, as in replay and shrinking."""
        if action not in self.candidate_actions(state):
            return None
        after = self.next_state(state, action)
        return after if len(after.network) <= self.bounds.max_messages else None

    def enabled_actions(self, state: World) -> list[Action]:
        return [action for action, _ in self.successors(state)]

    # -------------------------------------------------------------- transitions

    def next_state(self, state: World, action: Action) -> World:
        """Apply one action. Deterministic: the same state and action give the same world."""
        if isinstance(action, Deliver):
            message = action.message
            node = state.nodes[message.dest]
            if node is None or not state.connected(message.source, message.dest):
                raise ModelError(f"cannot deliver to n{message.dest}: down or partitioned")
            return self._step(evolve(state, network=_remove(state.network, message)), node,
                              message)
        if isinstance(action, (Timeout, Heartbeat)):
            node = self._up(state, action.node)
            event: Event = ElectionTimeout() if isinstance(action, Timeout) else \
                HeartbeatTimeout()
            return self._step(state, node, event)
        if isinstance(action, Submit):
            node = self._up(state, action.node)
            return self._step(state, node, ClientRequest(Put(action.key, action.value)))
        if isinstance(action, Drop):
            return evolve(state, network=_remove(state.network, action.message))
        if isinstance(action, Duplicate):
            _remove(state.network, action.message)  # must be in flight
            return evolve(state, network=_add(state.network, (action.message,)))
        if isinstance(action, Crash):
            self._up(state, action.node)
            return self._crash(state, action.node)
        if isinstance(action, Restart):
            return self._restart(state, action.node)
        if isinstance(action, Partition):
            if state.isolated:
                raise ModelError("already partitioned: heal first")
            if not action.isolated or len(action.isolated) >= self.config.cluster_size or \
                    not action.isolated <= set(range(self.config.cluster_size)):
                raise ModelError(f"not a partition of the cluster: {sorted(action.isolated)}")
            return evolve(state, isolated=action.isolated, partitions=state.partitions + 1)
        if isinstance(action, Heal):
            return evolve(state, isolated=frozenset())
        if isinstance(action, Tick):
            return self._tick(state)
        raise ModelError(f"unknown action {action!r}")

    def _up(self, state: World, node_id: int) -> Node:
        if not 0 <= node_id < len(state.nodes):
            raise ModelError(f"no node n{node_id} in a cluster of {len(state.nodes)}")
        node = state.nodes[node_id]
        if node is None:
            raise ModelError(f"n{node_id} is down")
        return node

    def _step(self, state: World, node: Node, event: Event) -> World:
        """Run the core on one event and carry out its effects: persist, then send (etcd's
        Ready order), then the timer; then record the ghost history of what happened."""
        if self.checking:
            after, effects = self._checked_step(node, event)
        else:
            try:
                after, effects = self.core.step(node, event)
            except Exception as error:  # any failure of the core is a finding, not a crash
                raise CoreFault(self.core.name, "step", _raised(error), node.id,
                                describe_event(event)) from error
        i = node.id
        disk = state.disk
        if effects.persist is not None:
            disk = (*disk[:i], effects.persist, *disk[i + 1:])
        nodes = (*state.nodes[:i], after, *state.nodes[i + 1:])
        network = _add(state.network, effects.messages) if effects.messages else state.network
        clock = state.clock
        if clock is not None:
            clock = self._retime(clock, node, after, effects.reset_election_timer)
        return World(nodes, disk, network, state.isolated, state.crashes, state.partitions,
                     record_history(state.history, after, nodes), clock)

    def _checked_step(self, node: Node, event: Event) -> tuple[Node, Effects]:
        """`core.step` with its contract checked: it returns a (Node, Effects) pair of the
        right shape and leaves its input as it found it."""
        def fault(reason: str) -> CoreFault:
            return CoreFault(self.core.name, "step", reason, node.id, describe_event(event))

        before = hash((node, event))
        try:
            result = self.core.step(node, event)
        except Exception as error:
            raise fault(_raised(error)) from error
        try:
            mutated = hash((node, event)) != before
        except Exception:  # mutated into something unhashable
            mutated = True
        if mutated:
            raise fault("mutated its input (the node or event it was given changed during "
                        "the call; a core must return a new Node)")
        if not isinstance(result, tuple) or len(result) != 2:
            shown = "a Node alone" if isinstance(result, Node) else \
                f"{type(result).__name__} {_short(result)}"
            raise fault(f"returned {shown}, not a (Node, Effects) pair")
        after, effects = result
        problem = (_node_problem(after, node.id, node.cluster_size)
                   or _effects_problem(effects, node.id, node.cluster_size))
        if problem is not None:
            raise fault(problem)
        return after, effects

    def _retime(self, clock: Clock, before: Node, after: Node, reset: bool) -> Clock:
        """Timed world: a node that became leader beats every heartbeat_ms; a node that asked
        for its election timer to restart, or stopped leading, draws a new 150-300 ms timeout."""
        rng, deadline = clock.rng, clock.deadlines[after.id]
        if after.role is Role.LEADER and before.role is not Role.LEADER:
            deadline = clock.now + self.config.heartbeat_ms
        elif reset or (before.role is Role.LEADER and after.role is not Role.LEADER):
            rng, timeout = self._draw(rng)
            deadline = clock.now + timeout
        deadlines = (*clock.deadlines[:after.id], deadline, *clock.deadlines[after.id + 1:])
        return Clock(clock.now, deadlines, rng)

    def _tick(self, state: World) -> World:
        clock = state.clock
        if clock is None:
            raise ModelError("Tick needs the timed world (Config.timing='timed')")
        due = [(deadline, i) for i, deadline in enumerate(clock.deadlines) if deadline is not None]
        if not due:
            raise ModelError("no timer is running: every node is down")
        now, node_id = min(due)
        node = self._up(state, node_id)
        state = evolve(state, clock=evolve(clock, now=now))
        if node.role is Role.LEADER:
            assert state.clock is not None
            deadlines = state.clock.deadlines
            beat = now + self.config.heartbeat_ms
            state = evolve(state, clock=evolve(state.clock, deadlines=(
                *deadlines[:node_id], beat, *deadlines[node_id + 1:])))
            return self._step(state, node, HeartbeatTimeout())
        return self._step(state, node, ElectionTimeout())

    def _crash(self, state: World, node_id: int) -> World:
        nodes = (*state.nodes[:node_id], None, *state.nodes[node_id + 1:])
        clock = state.clock
        if clock is not None:
            clock = evolve(clock, deadlines=(*clock.deadlines[:node_id], None,
                                             *clock.deadlines[node_id + 1:]))
        history = state.history
        if any(ballot[2] == node_id for ballot in history.ballots):  # its campaign is over
            history = evolve(history, ballots=frozenset(
                ballot for ballot in history.ballots if ballot[2] != node_id))
        return evolve(state, nodes=nodes, crashes=state.crashes + 1, history=history,
                      clock=clock)

    def _restart(self, state: World, node_id: int) -> World:
        if not 0 <= node_id < len(state.nodes) or state.nodes[node_id] is not None:
            raise ModelError(f"n{node_id} is not down")
        node = self._restart_node(node_id, state.disk[node_id])
        nodes = (*state.nodes[:node_id], node, *state.nodes[node_id + 1:])
        clock = state.clock
        if clock is not None:
            rng, timeout = self._draw(clock.rng)
            clock = Clock(clock.now, (*clock.deadlines[:node_id], clock.now + timeout,
                                      *clock.deadlines[node_id + 1:]), rng)
        return evolve(state, nodes=nodes, clock=clock)

    def _restart_node(self, node_id: int, disk: Persistent) -> Node:
        n = self.config.cluster_size
        checking = self.checking
        before = hash(disk) if checking else 0
        try:
            node = self.core.restart(node_id, n, disk)
        except Exception as error:
            raise CoreFault(self.core.name, "restart", _raised(error), node_id) from error
        if checking:
            problem = _node_problem(node, node_id, n)
            if problem is None and hash(disk) != before:
                problem = "mutated its input (the persistent state read from disk)"
            if problem is not None:
                raise CoreFault(self.core.name, "restart", problem, node_id)
        return node

    # -------------------------------------------------------------- running a trace

    def run(self, actions: list[Action], state: World | None = None) -> list[World]:
        """The states visited by applying `actions` in order from `state` (the initial state
        by default), first state included. Raises ModelError if an action is not enabled."""
        states = [self.initial_state() if state is None else state]
        for number, action in enumerate(actions, 1):
            after = self.successor(states[-1], action)
            if after is None:
                raise ModelError(f"step {number}: {action!r} is not enabled")
            states.append(after)
        return states


def _raised(error: BaseException) -> str:
    """`raised ZeroDivisionError: division by zero (my_core.py:12)`: the innermost frame is
    where the user looks first."""
    text = str(error).splitlines()[0] if str(error) else ""
    where = ""
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is not None:
        code = tb.tb_frame.f_code
        where = f" at {code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno} in {code.co_name}"
    return f"raised {type(error).__name__}{': ' + text if text else ''}{where}"


def record_history(history: History, node: Node,
                   nodes: tuple[Node | None, ...]) -> History:
    """Extend the ghost history with what `node` has just become: a leader of its term, a voter
    for a candidate still campaigning in that term, a node that committed or applied entries
    past what anyone had before (`nodes` is the cluster after its step). First writer wins, so
    a later node that commits or applies a *different* entry at an index stands out."""
    leaders, committed, applied = history.leaders, history.committed, history.applied
    ballots = _record_ballot(history.ballots, node, nodes)
    changed = ballots is not history.ballots
    if node.role is Role.LEADER and (node.current_term, node.id) not in leaders:
        leaders = leaders | {(node.current_term, node.id)}
        changed = True
    log = node.log
    upto = min(node.commit_index, len(log))
    if upto > len(committed):
        committed = committed + tuple(Committed(entry, node.current_term)
                                      for entry in log[len(committed):upto])
        changed = True
    upto = min(node.last_applied, len(log))
    if upto > len(applied):
        applied = applied + log[len(applied):upto]
        changed = True
    return History(leaders, committed, applied, ballots) if changed else history


def _record_ballot(ballots: frozenset[tuple[int, int, int]], node: Node,
                   nodes: tuple[Node | None, ...]) -> frozenset[tuple[int, int, int]]:
    """`ballots` with `node`'s own campaign's ballots dropped if it has ended, and `node`'s vote
    added if it is for a candidate campaigning in the voter's term. The same object back when
    nothing changed (the common case, cheap to test)."""
    if ballots:
        ended = [ballot for ballot in ballots
                 if ballot[2] == node.id and not _campaigning(node, ballot[0])]
        if ended:
            ballots = ballots.difference(ended)
    candidate_id = node.voted_for
    if candidate_id is not None and 0 <= candidate_id < len(nodes):
        ballot = (node.current_term, node.id, candidate_id)
        if ballot not in ballots and _campaigning(nodes[candidate_id], node.current_term):
            ballots = ballots | {ballot}
    return ballots


def _campaigning(node: Node | None, term: int) -> bool:
    return node is not None and node.role is Role.CANDIDATE and node.current_term == term


def _add(network: tuple[Message, ...], messages: tuple[Message, ...]) -> tuple[Message, ...]:
    bag = list(network)  # already sorted: insert each new message in place
    for message in messages:
        insort(bag, message, key=message_key)
    return tuple(bag)


def _remove(network: tuple[Message, ...], message: Message) -> tuple[Message, ...]:
    try:
        i = network.index(message)
    except ValueError:
        raise ModelError(f"message not in flight: {message!r}") from None
    return network[:i] + network[i + 1:]
