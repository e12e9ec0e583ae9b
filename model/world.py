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
from collections.abc import Iterator
from operator import attrgetter
from typing import TYPE_CHECKING, Literal

from attrs import evolve, field, fields, frozen

from raftcheck.impl.types import (
    MESSAGE_TYPES,
    ClientRequest,
    Effects,
    ElectionTimeout,
    Event,
    HeartbeatTimeout,
    Message,
    Node,
    Persistent,
    Put,
    Role,
    message_key,
)
from raftcheck.model.fingerprint import Encoding, decode, encode
from raftcheck.model.liveness import Settled, describe, settle
from raftcheck.model.seam import added, run_of, successor_of, successors_of

# The values of the world, defined in model.state and re-exported here.
from raftcheck.model.state import (
    CORE_FAULT as CORE_FAULT,
    Action as Action,
    Bounds as Bounds,
    Clock as Clock,
    Committed as Committed,
    Config as Config,
    Crash as Crash,
    Deliver as Deliver,
    Drop as Drop,
    Duplicate as Duplicate,
    Heal as Heal,
    Heartbeat as Heartbeat,
    History as History,
    ModelError as ModelError,
    Partition as Partition,
    Restart as Restart,
    Submit as Submit,
    Tick as Tick,
    Timeout as Timeout,
    World as World,
)
from raftcheck.model.symmetry import (
    canonical_fingerprint,
    exact_fingerprint,
    state_bytes,
    symmetric_model,
)
from raftcheck.model.trace import render_trace, replayable
from raftcheck.properties import RAFT_PROPERTIES, Properties
from raftcheck.properties.violation import Violation

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

# ------------------------------------------------------------------------------ the core seam


from raftcheck.impl.core import Core as Core  # the core protocol, re-exported from its home


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


# ------------------------------------------------------------------------------ the model


def _splitmix64(state: int) -> tuple[int, int]:
    """One step of splitmix64: (new state, 64 random bits). Pure, so the world stays a value."""
    state = (state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return state, z ^ (z >> 31)


_ANSWERS_KEPT = 100_000  # answers a model remembers before it starts afresh


@frozen
class Model:
    """A core in a world: the single action space every engine explores."""

    core: Core
    config: Config = Config()
    bounds: Bounds = Bounds()
    # Checked mode validates every call into the core (types and shapes of what it returns, and
    # that it left its input untouched: a hash of the node's fields and the event before and
    # after; about twice the cost of a transition, README). None means: on for cores from outside
    # this package's `raftcheck.impl`, off for the bundled ones. Exceptions from the core are
    # reported as CoreFault either way.
    checked: bool | None = field(default=None, eq=False)
    # The properties this model carries (Figure 3, the auxiliaries and the reachability
    # goals by default): every engine checks exactly these (`check_initial`, `check_step`).
    properties: Properties = RAFT_PROPERTIES
    # The goals the config and bounds allow (`Properties.goals_within`): the ones each
    # engine reports as reached or missed; the rest are ruled out by the bounds.
    _goals: tuple[str, ...] = field(init=False, eq=False, repr=False)
    # The core's answers, by (node, event): the core is a pure function, and a search asks
    # it the same questions over and over (about 99% of the calls at explore's defaults).
    # Not used in checked mode, whose point is to watch every call.
    _answers: dict[tuple[Node, Event], tuple[Node, Effects]] = field(
        init=False, eq=False, repr=False, factory=dict)
    # The ghost history after a step, by the identities of what it depends on (the history
    # before, the node after, the node it voted for): siblings in a search share histories
    # and, through `_answers`, the nodes a step yields.
    _histories: dict[tuple[int, int, int], tuple[History, Node, Node | None, History]] = \
        field(init=False, eq=False, repr=False, factory=dict)

    # Whether checked mode is on (`checked`, or else where the core comes from).
    _checking: bool = field(init=False, eq=False, repr=False)
    # Whether the core's leaders have a timer of their own (its optional `leader_timer`).
    _leader_timer: bool = field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_goals",
                           self.properties.goals_within(self.config, self.bounds))
        checking = self.checked
        if checking is None:
            module = type(self.core).__module__
            checking = module != "raftcheck.impl" and not module.startswith("raftcheck.impl.")
        object.__setattr__(self, "_checking", checking)
        object.__setattr__(self, "_leader_timer",
                           getattr(self.core, "leader_timer", False) is True)

    @property
    def checking(self) -> bool:
        return self._checking

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
        leader_timer = untimed and self._leader_timer
        for node in state.up_nodes():
            if node.role is Role.LEADER:
                if untimed:
                    yield Heartbeat(node.id)
                if leader_timer:
                    yield Timeout(node.id)
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
            yield from (Partition(side) for side in partition_sides(self.config.cluster_size))

    def successors(self, state: World) -> Iterator[tuple[Action, World]]:
        """(action, next state) for every enabled action, in enumeration order. A successor
        outside the bounds (`bounded_next`) is outside the model and left out."""
        return successors_of(self, state)

    def bounded_next(self, state: World, action: Action) -> World | None:
        """`next_state` of an action whose guard holds, or None when the result is outside
        the bounds: the one place the bounds on a *result* are decided (the guards of
        `candidate_actions` keep terms, logs, crashes and partitions within theirs; a step
        that would leave more messages in flight than the bound is not part of the model,
        like a TLC state constraint)."""
        after = self.next_state(state, action)
        return after if len(after.network) <= self.bounds.max_messages else None

    def successor(self, state: World, action: Action) -> World | None:
        """The state `action` leads to, or None if it is not enabled in `state` (its guard
        fails or the result is outside the bounds). Cheaper than scanning `successors` when
        only one action matters, as in replay and shrinking."""
        return successor_of(self, state, action)

    # -------------------------------------------------------------- the seam (model.seam)

    @property
    def cluster_size(self) -> int:
        return self.config.cluster_size

    @property
    def goal_names(self) -> tuple[str, ...]:
        return self._goals

    @property
    def ruled_out_goals(self) -> tuple[str, ...]:
        return tuple(name for name in self.properties.goal_names if name not in self._goals)

    def with_bounds(self, bounds: Bounds) -> Model:
        return evolve(self, bounds=bounds)

    def kind_of(self, action: Action) -> object:
        """Deliveries are grouped by the kind of message they deliver, every other action by
        its own kind."""
        return type(action.message) if isinstance(action, Deliver) else type(action)

    def election_of(self, action: Action) -> int | None:
        return action.node if isinstance(action, Timeout) else None

    def sent(self, before: World, after: World) -> tuple[Message, ...]:
        """The messages in flight after a step that were not before it (both sorted bags)."""
        return added(before.network, after.network)

    def delivery(self, state: World, message: Message) -> Action | None:
        """Deliver(message), if it is in flight and its destination is up and reachable."""
        if (state.nodes[message.dest] is None or message not in state.network
                or not state.connected(message.source, message.dest)):
            return None
        return Deliver(message)

    def duplication(self, state: World, message: Message) -> Action | None:
        return Duplicate(message) if self.bounds.duplicate and message in state.network \
            else None

    def reaim(self, state: World, action: Action) -> Action | None:
        """A message action whose exact message is gone, aimed at the newest in-flight
        message of the same kind between the same nodes (an earlier edit of the run changed
        its content); None for other actions or when there is none."""
        if not isinstance(action, (Deliver, Drop, Duplicate)):
            return None
        wanted = action.message
        similar = [m for m in state.network if type(m) is type(wanted)
                   and m.source == wanted.source and m.dest == wanted.dest]
        return type(action)(similar[-1]) if similar else None

    def check_initial(self, state: World) -> Violation | None:
        return self.properties.check_state(state)

    def check_step(self, before: World, action: Action, after: World) -> Violation | None:
        return self.properties.check_transition(before, after)

    def goals_reached(self, state: World) -> frozenset[str]:
        return self.properties.goals_reached(state).intersection(self._goals)

    def check_known(self, before: World, action: Action, after: World) -> Violation | None:
        """The transition properties alone: for a step into a state already checked (its
        state properties held there, and symmetric states satisfy the same ones)."""
        return self.properties.check_transition_only(before, after)

    @property
    def transition_names(self) -> frozenset[str]:
        return self.properties.transition_names

    @property
    def name(self) -> str:
        return self.core.name

    def symmetric(self, symmetry: bool) -> bool:
        """Whether states are reduced under node relabelling when `symmetry` is asked for
        (the untimed world of up to MAX_SYMMETRIC_NODES servers is symmetric)."""
        return symmetry and symmetric_model(self.config)

    def fingerprinter(self, symmetry: bool) -> Callable[[World], int]:
        """The 64-bit fingerprint a search deduplicates by: of the state's class under node
        relabelling when reduced, of the state itself otherwise."""
        return canonical_fingerprint if self.symmetric(symmetry) else exact_fingerprint

    def state_bytes(self, state: World, reduce: bool) -> bytes:
        """The bytes a fingerprint digests (what an exact search compares on a collision)."""
        return state_bytes(state, reduce=reduce)

    def encode(self, state: World) -> Encoding:
        """The state as nested tuples, cheap to ship to a worker and to checkpoint."""
        return encode(state)

    def decode(self, data: Encoding) -> World:
        return decode(data)

    def identity(self) -> list[object]:
        """What a checkpoint of a search of this model must match to be resumed."""
        config, bounds = self.config, self.bounds
        return [self.core.name, config.cluster_size, config.timing, config.seed,
                list(config.election_timeout_ms), config.heartbeat_ms, bounds.describe()]

    def render(self, actions: Sequence[Action], violation: Violation | None,
               title: str) -> str:
        """The trace; for a violation found by the stabilisation phase after `actions` (a
        progress property, or one broken on the way), the run, then the phase."""
        if violation is not None and self.properties.progress and \
                self.config.timing == "timed":
            try:
                settled = self.settle(self.run(list(actions))[-1])
            except (ModelError, CoreFault):
                settled = None
            if settled is not None and settled.violation == violation:
                return (render_trace(self, list(actions), None, title=title) + "\n"
                        + describe(settled))
        return render_trace(self, list(actions), violation, title=title)

    def settle(self, state: World) -> Settled | None:
        """The stabilisation phase from `state` (model/liveness.py), where the progress
        properties are checked: None when this model carries none, or is untimed."""
        if not self.properties.progress or state.clock is None:
            return None
        return settle(self, state)

    def settle_step(self, state: World, action: Action) -> tuple[World, Violation | None]:
        """One step of the stabilisation phase: `next_state`, outside the bounds (they are a
        search device; a cluster recovers with whatever terms and messages it needs), and
        the first property it violates; a core fault is reported as a violation."""
        try:
            after = self.next_state(state, action)
        except CoreFault as fault:
            return state, fault.violation()
        return after, self.check_step(state, action, after)

    def snippet(self, actions: Sequence[Action]) -> str:
        return ("Replay with Model(core, config, bounds).run(actions):\n"
                + replayable(actions))

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
            return self._step(state, node, message, _remove(state.network, message))
        if isinstance(action, (Timeout, Heartbeat)):
            node = self._up(state, action.node)
            return self._step(state, node,
                              _ELECTION_TIMEOUT if isinstance(action, Timeout) else _HEARTBEAT)
        if isinstance(action, Submit):
            node = self._up(state, action.node)
            return self._step(state, node, ClientRequest(Put(action.key, action.value)))
        if isinstance(action, Drop):
            return _with_network(state, _remove(state.network, action.message))
        if isinstance(action, Duplicate):
            _remove(state.network, action.message)  # must be in flight
            return _with_network(state, _add(state.network, (action.message,)))
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

    def _step(self, state: World, node: Node, event: Event,
              network: tuple[Message, ...] | None = None) -> World:
        """Run the core on one event and carry out its effects: persist, then send (etcd's
        Ready order), then the timer; then record the ghost history of what happened.
        `network`: the bag the step starts from, if not the state's (a delivery's, without
        the message it delivers)."""
        after, effects = self.step_node(node, event)
        i = node.id
        disk = state.disk
        if effects.persist is not None:
            disk = (*disk[:i], effects.persist, *disk[i + 1:])
        nodes = (*state.nodes[:i], after, *state.nodes[i + 1:])
        if network is None:
            network = state.network
        if effects.messages:
            network = _add(network, effects.messages)
        clock = state.clock
        if clock is not None:
            clock = self._retime(clock, node, after, effects.reset_election_timer)
        history = record_history(state.history, after, nodes) if self._checking else \
            self._record(state.history, after, nodes)  # checked mode's nodes are all new
        return World(nodes, disk, network, state.isolated, state.crashes, state.partitions,
                     history, clock)

    def _record(self, history: History, node: Node, nodes: tuple[Node | None, ...]) -> History:
        """`record_history`, memoised by identity (the memo holds what it names, so an id
        cannot be reused while its entry lives)."""
        voted_for = node.voted_for
        candidate = nodes[voted_for] if voted_for is not None and 0 <= voted_for < len(nodes) \
            else None
        key = (id(history), id(node), id(candidate))
        hit = self._histories.get(key)
        if hit is not None and hit[0] is history and hit[1] is node and hit[2] is candidate:
            return hit[3]
        recorded = record_history(history, node, nodes)
        if len(self._histories) >= _ANSWERS_KEPT:
            self._histories.clear()
        self._histories[key] = (history, node, candidate, recorded)
        return recorded

    def step_node(self, node: Node, event: Event) -> tuple[Node, Effects]:
        """The core's step on one event, as the world calls it: validated in checked mode,
        and any exception from the core raised as a `CoreFault`. For simulations that keep
        their own clock and network around the core (model/timing.py)."""
        if self.checking:
            return self._checked_step(node, event)
        answer = self._answers.get((node, event))
        if answer is None:
            try:
                answer = self.core.step(node, event)
            except Exception as error:  # any failure of the core is a finding, not a crash
                raise CoreFault(self.core.name, "step", _raised(error), node.id,
                                describe_event(event)) from error
            if len(self._answers) >= _ANSWERS_KEPT:
                self._answers.clear()
            self._answers[(node, event)] = answer
        return answer

    def start_node(self, node_id: int) -> Node:
        """Server `node_id` as it first starts (`core.initial_node`, validated)."""
        return self._initial_node(node_id, self.config.cluster_size)

    def _checked_step(self, node: Node, event: Event) -> tuple[Node, Effects]:
        """`core.step` with its contract checked: it returns a (Node, Effects) pair of the
        right shape and leaves its input as it found it."""
        def fault(reason: str) -> CoreFault:
            return CoreFault(self.core.name, "step", reason, node.id, describe_event(event))

        before = _snapshot(node, event)
        try:
            result = self.core.step(node, event)
        except Exception as error:
            raise fault(_raised(error)) from error
        try:
            mutated = _snapshot(node, event) != before
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
        timer = timer_after_step(before, after, reset)
        if timer == "heartbeat":
            deadline = clock.now + self.config.heartbeat_ms
        elif timer == "election":
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
            return self._step(state, node, _HEARTBEAT)
        return self._step(state, node, _ELECTION_TIMEOUT)

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
        return run_of(self, actions, state)


def timer_after_step(before: Node, after: Node,
                     reset: bool) -> Literal["heartbeat", "election", "keep"]:
    """The timed world's one rule for a node's timer after a step (Figure 2's timers): a node
    that became leader starts beating ("heartbeat": the next beat is one heartbeat interval
    away); a node whose core asked for its election timer to restart (it started an election,
    granted a vote, heard from the current leader), or that stopped leading, draws a new
    randomized election timeout ("election"); otherwise the timer runs on ("keep")."""
    if after.role is Role.LEADER and before.role is not Role.LEADER:
        return "heartbeat"
    if reset or (before.role is Role.LEADER and after.role is not Role.LEADER):
        return "election"
    return "keep"


_node_fields = attrgetter(*(attribute.name for attribute in fields(Node)))


def _snapshot(node: Node, event: Event) -> int:
    """What checked mode compares before and after a call into the core, to see that the
    core left its input alone: a hash of the node's fields and of the event. Not of the node
    itself, which caches its hash (impl/types.py), so one changed in place would keep its
    old hash; nothing below it caches one."""
    return hash((_node_fields(node), event))


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


_message_keys: dict[int, tuple[Message, tuple[object, ...]]] = {}


def _key(message: Message) -> tuple[object, ...]:
    """`message_key`, memoised by identity (messages are shared between states)."""
    hit = _message_keys.get(id(message))
    if hit is not None and hit[0] is message:
        return hit[1]
    key = message_key(message)
    if len(_message_keys) >= _ANSWERS_KEPT:
        _message_keys.clear()
    _message_keys[id(message)] = (message, key)
    return key


def partition_sides(n: int) -> list[frozenset[int]]:
    """Each way to split n nodes in two, named by its smaller side (for an even split, the
    side without the highest id)."""
    sides = []
    for mask in range(1, 2**n - 1):
        side = frozenset(i for i in range(n) if mask >> i & 1)
        if len(side) * 2 < n or (len(side) * 2 == n and n - 1 not in side):
            sides.append(side)
    return sorted(sides, key=lambda s: (len(s), sorted(s)))


# The timer events carry nothing: one object each, so the core's answers are found by
# identity in its memo instead of by comparing new objects.
_ELECTION_TIMEOUT = ElectionTimeout()
_HEARTBEAT = HeartbeatTimeout()


def _with_network(state: World, network: tuple[Message, ...]) -> World:
    """`state` with another bag of messages (`attrs.evolve` does the same, several times
    slower on this hot path)."""
    return World(state.nodes, state.disk, network, state.isolated, state.crashes,
                 state.partitions, state.history, state.clock)


def _add(network: tuple[Message, ...], messages: tuple[Message, ...]) -> tuple[Message, ...]:
    bag = list(network)  # already sorted: insert each new message in place
    for message in messages:
        insort(bag, message, key=_key)
    return tuple(bag)


def _remove(network: tuple[Message, ...], message: Message) -> tuple[Message, ...]:
    try:
        i = network.index(message)
    except ValueError:
        raise ModelError(f"message not in flight: {message!r}") from None
    return network[:i] + network[i + 1:]
