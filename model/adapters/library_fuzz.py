"""The Hypothesis engine against a real Raft library: `raftcheck fuzz --core pysyncobj`,
`raftcheck fuzz --core raftos`. Written once for every adapter: a library is a `Library` value
(its cluster, its config type, its record format, its message kinds, and optionally a faithful
core to follow), registered by its own module (`pysyncobj_fuzz`, `raftos_fuzz`).

A `RuleBasedStateMachine` over the library's cluster (a `model.adapters.sim.SimCluster`), one
`@rule` per kind of action (deliver a packet chosen among those in flight, drop, duplicate,
advance the clock to the next timer or by a drawn delay, crash, restart, partition, heal,
client submit),
`@precondition`s instead of `assume`. After every step the properties run on the adapter's
view: `check_step(before, after)`, the five properties of Figure 3 first (Election Safety,
Leader Append-Only, Log Matching, Leader Completeness, State Machine Safety), then the
auxiliaries (Commit Within Log and the transition properties), after every step. A run may
leave some out (`--property NAME`: only those; `--ignore NAME`: not that one); the search,
the shrinking and the saved record all use the selection, which the record keeps as the
properties ignored. `--continue` goes on after each violation without its property
(`model.fuzz.each_property`) and reports every property broken, each with its own record.

The budget is spent like `model.fuzz` (batches of 50 examples, batch k seeded from (seed, k)),
so a run is a function of its seed and example budget. A failing run is shrunk by deleting
chunks of actions and merging clock advances, each candidate replayed against a fresh cluster
with its deliveries aimed at the messages they were for (`shrink`), and saved as a replayable
record: the cluster config (which includes the seed of the library's random timeouts) and the
action list, as JSON (`save_record`, `load_record`, `replay`; `raftcheck fuzz --core LIBRARY
--replay FILE`). Exhaustive enumeration does not support a library: its state is neither a
value nor cheap to copy, so only this engine runs it (docs/pysyncobj.md, docs/raftos.md).

An `AdapterFault` (the adapter could not route a message, the library reached for real time,
the adapter could not map a state) stops the run and is reported apart: exit code 4, never as
a violation.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any, Protocol, TypeVar

import attrs
import cattrs
from attrs import Factory, define, evolve, field, frozen
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from raftcheck.impl.pysyncobj import NOOP  # a leader's no-op entry in a view (PySyncObj's)
from raftcheck.model.adapters.sim import (
    ACTION_TYPES as ACTION_TYPES,
    Action,
    ActionNotEnabled,
    AdapterFault,
    Crash,
    Deliver,
    Drop,
    Duplicate,
    FireTimer,
    Heal,
    NextTimer,
    Ordering,
    Packet,
    Partition,
    Restart,
    SimCluster,
    Submit,
    Wait,
    describe_node,
)
from raftcheck.model.fuzz import each_property, example_budget, run_machine
from raftcheck.model.fuzz_report import RoundReport, report_rounds
from raftcheck.model.options import properties_from_args
from raftcheck.model.shrink import ShrinkPass, delete_chunks
from raftcheck.model.stateful import PROFILES, BudgetSpent
from raftcheck.model.tracefile import default_trace_path
from raftcheck.model.verdict import Verdict
from raftcheck.model.world import World, partition_sides
from raftcheck.properties import (
    FIGURE_3,
    GOALS,
    STATE_PROPERTIES,
    TRANSITION_PROPERTIES,
    Properties,
    Violation,
)

BATCH = 50
DEFAULT_STEPS = 100  # a library run needs ~20 actions to elect and commit: give faults room
MAX_IN_FLIGHT_FOR_DUPLICATE = 24  # duplication stops growing the network past this


# ------------------------------------------------------------------------------ goals


def client_command_committed(world: World) -> bool:
    """A client's `put` (not only a leader's no-op) was committed."""
    return any(known.entry.command != NOOP for known in world.history.committed)


def client_command_applied_everywhere(world: World) -> bool:
    """Every node is up and has applied at least one client `put`."""
    return all(node is not None and any(entry.command != NOOP
                                        for entry in node.log[:node.last_applied])
               for node in world.nodes)


# The suite's goals (a leader's no-op counts as an entry), plus two that need client commands.
ADAPTER_GOALS: dict[str, Callable[[World], bool]] = {
    **GOALS,
    "client command committed": client_command_committed,
    "client command applied on every node": client_command_applied_everywhere,
}


# ------------------------------------------------------------------------------ libraries


class Tracker(Protocol):
    """Conformance: a faithful core following the library's run, action by action."""

    @property
    def initial(self) -> Sequence[str]:
        """Differences before the first action."""

    @property
    def stopped(self) -> str | None:
        """Why the core stopped following (None: it still follows)."""

    def apply(self, action: Action) -> Sequence[str] | None: ...


@frozen
class Conformance:
    """A library's faithful cores and how one follows a run of the library."""

    tracker: Callable[[Any, Any], Tracker]  # (core, cluster)
    divergence: Callable[[Sequence[str]], Violation]
    core_for: Callable[[str], Any]  # a release's core; ValueError if none models it
    cores: Mapping[str, Any]  # every faithful core by name (conformance records name one)


@frozen
class Library:
    """A real Raft library as this engine drives it."""

    name: str  # the --core name, and the trace files' engine-core-seed names
    version: str  # the installed release
    format: str  # the record files' format tag
    config_type: type  # its ClusterConfig (attrs: nodes, seed, ordering, ...)
    cluster: Callable[[Any], SimCluster]  # a fresh cluster for a config
    describe_action: Callable[[Any, Any], str]  # (action, cluster or None)
    # Message kinds by family, one delivery rule each: votes, replication, client traffic.
    families: tuple[frozenset[str], frozenset[str], frozenset[str]]
    indices: str = ""  # how the traces' indices relate to the library's
    conformance: Conformance | None = None

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"


_LIBRARIES: dict[str, Library] = {}  # by record format
# The modules that register a library, each importable only with its library installed.
ENGINES = ("raftcheck.model.adapters.pysyncobj_fuzz", "raftcheck.model.adapters.raftos_fuzz")


def register(library: Library) -> Library:
    _LIBRARIES[library.format] = library
    return library


def _registered() -> dict[str, Library]:
    """Every library whose engine imports here (the others' libraries are not installed)."""
    for engine in ENGINES:
        with contextlib.suppress(ImportError):
            importlib.import_module(engine)
    return _LIBRARIES


def library_named(name: str) -> Library:
    """The registered library whose --core name is `name` (its engine imported first)."""
    for library in _registered().values():
        if library.name == name:
            return library
    raise KeyError(f"no library named {name!r} is installed")


def library_of(config: object) -> Library:
    for library in (*_LIBRARIES.values(), *_registered().values()):
        if type(config) is library.config_type:
            return library
    raise TypeError(f"no library is registered for {type(config).__name__}")


def _divergence(library: Library) -> Callable[[Sequence[str]], Violation]:
    assert library.conformance is not None
    return library.conformance.divergence


# ------------------------------------------------------------------------------ setup


@frozen
class Faults:
    """Which faults the machine may inject (the network's ordering is the cluster's)."""

    drop: bool = True
    duplicate: bool = True
    max_crashes: int | None = 2
    max_partitions: int | None = 2
    max_submits: int = 4
    # Pauses: one node's clock runs to its next timer while the others stand still
    # (`FireTimer`). Off by default: the rule is not in the machine, so runs without it draw
    # as they always did.
    pauses: bool = False

    def describe(self) -> str:
        def show(value: int | None) -> str:
            return "∞" if value is None else str(value)
        return (f"drop={'on' if self.drop else 'off'} duplicate="
                f"{'on' if self.duplicate else 'off'} crashes≤{show(self.max_crashes)} "
                f"partitions≤{show(self.max_partitions)} submits≤{self.max_submits}"
                + (" pauses=on" if self.pauses else ""))


DEFAULT_FAULTS = Faults()

# Fault profiles for the deep run, as (nodes, ordering, faults): TCP-like links, the paper's
# reordering network, reordering with duplication, and the same with five nodes (where a
# candidate needs more than one vote besides its own).
FAULT_PROFILES: dict[str, tuple[int, Ordering, Faults]] = {
    "fifo": (3, "fifo", Faults(drop=True, duplicate=False)),
    "reorder": (3, "any", Faults(drop=True, duplicate=False)),
    "chaos": (3, "any", Faults(drop=True, duplicate=True)),
    "chaos5": (5, "any", Faults(drop=True, duplicate=True)),
    "fifo5": (5, "fifo", Faults(drop=True, duplicate=False)),
}


class PropertyViolated(AssertionError):
    def __init__(self, violation: Violation, config: Any,
                 actions: list[Action]) -> None:
        super().__init__(str(violation))
        self.violation = violation
        self.config = config
        self.actions = actions


class AdapterFailed(Exception):
    def __init__(self, fault: AdapterFault, config: Any,
                 actions: list[Action]) -> None:
        super().__init__(str(fault))
        self.fault = fault
        self.config = config
        self.actions = actions


@define
class Stats:
    steps: int = 0
    examples: int = 0
    distinct: set[int] = field(factory=set)
    goals: set[str] = field(factory=set)
    leaders: int = 0  # most (term, node) leaderships seen in one run
    max_term: int = 0
    limit: int | None = None  # the run count at which the current batch ends (BudgetSpent)
    compared: int = 0  # conformance: actions compared with the faithful core
    cut_short: dict[str, int] = field(factory=dict)  # conformance: runs stopped, by reason
    failed: bool = False  # a run of this batch failed: Hypothesis' replay of it is not counted

    def record(self, cluster: SimCluster, world: World) -> None:
        if self.failed:
            return
        self.steps += 1
        self.distinct.add(hash((world, tuple((p.source, p.dest, p.payload)
                                             for p in cluster.network))))
        self.goals |= {name for name, reached in ADAPTER_GOALS.items()
                       if name not in self.goals and reached(world)}
        self.leaders = max(self.leaders, len(world.history.leaders))
        self.max_term = max([self.max_term, *(term for term, _ in world.history.leaders)])


# The properties in the order `check_step` checks them: Figure 3's in the paper's order, then
# the auxiliaries (Commit Within Log, then the transition properties).
CHECK_ORDER: tuple[str, ...] = (
    *FIGURE_3, *(name for name in STATE_PROPERTIES if name not in FIGURE_3),
    *(name for name in TRANSITION_PROPERTIES if name not in FIGURE_3))
# A run checks every property of CHECK_ORDER but the ones it ignores (`--ignore`, or all but
# those `--property` names); records keep that ignored set, as trace files do.
NOTHING_IGNORED: frozenset[str] = frozenset()


def ignoring(properties: Properties) -> frozenset[str]:
    """The properties of CHECK_ORDER a selection (`--property`, `--ignore`) leaves out.
    Raises ValueError for a progress property, which needs a world the adapter does not
    have, and for a selection of none of them."""
    unchecked = sorted(properties.progress_names | properties.fair_names)
    if unchecked:
        raise ValueError(f"the progress properties ({', '.join(unchecked)}) are not checked "
                         "on a library")
    ignored = frozenset(name for name in CHECK_ORDER if name not in properties.names)
    if len(ignored) == len(CHECK_ORDER):
        raise ValueError("no safety property selected: the reachability goals are tracked, "
                         "not checked")
    return ignored


def ignoring_all_but(*names: str) -> frozenset[str]:
    """The ignored set of a run that checks only `names`."""
    return frozenset(CHECK_ORDER) - frozenset(names)


def ignored_from_args(args: argparse.Namespace) -> frozenset[str]:
    """The properties a library run leaves out, from `--property NAME` (check only those) and
    `--ignore NAME` (leave that one out), both repeatable. Raises ValueError."""
    return ignoring(properties_from_args(args))


def describe_checked(ignored: frozenset[str]) -> str:
    """A selection in words: every property, every property but the few left out, or the
    few checked."""
    if not ignored:
        return "every property"
    checked = [name for name in CHECK_ORDER if name not in ignored]
    left_out = [name for name in CHECK_ORDER if name in ignored]
    if len(left_out) < len(checked):
        return "every property but " + ", ".join(left_out)
    return ", ".join(checked)


def check_property(name: str, before: World, after: World) -> Violation | None:
    """Property `name` on the step before -> after (a state property on `after`)."""
    if name in STATE_PROPERTIES:
        return STATE_PROPERTIES[name](after)
    return TRANSITION_PROPERTIES[name](before, after)


def check_properties(world: World, ignored: frozenset[str] = NOTHING_IGNORED) -> Violation | None:
    """The state properties of one view (a run's initial state), in `CHECK_ORDER`, less the
    `ignored` ones."""
    return next((violation for name in CHECK_ORDER
                 if name in STATE_PROPERTIES and name not in ignored
                 and (violation := STATE_PROPERTIES[name](world)) is not None), None)


def check_step(before: World, after: World,
               ignored: frozenset[str] = NOTHING_IGNORED) -> Violation | None:
    """The properties after one action, strongest first (`CHECK_ORDER`): Figure 3's state
    properties and Leader Append-Only in the paper's order, then the auxiliaries (Commit
    Within Log and the transition properties). `properties.check_transition` checks the same
    set with the transition properties first; one library action can break several at once
    (a stale AppendEntries that truncates applied entries breaks State Machine Safety and
    Commit Index Monotonicity together), and the report should name the Figure 3 one. The
    `ignored` properties are not checked, so a run can go past a known finding."""
    for name in CHECK_ORDER:
        if name not in ignored and \
                (violation := check_property(name, before, after)) is not None:
            return violation
    return None


E = TypeVar("E", bound=Exception)
DATA = st.data()
MAX_WAIT_MS = 250  # a drawn delay; longer silences come from repeated waits or NextTimer


def build_machine(library: Library, nodes: int, ordering: Ordering, faults: Faults,
                  stats: Stats, core: Any = None,
                  ignored: frozenset[str] = NOTHING_IGNORED) -> type[RuleBasedStateMachine]:
    """The machine; with `core`, conformance: each action is followed by the faithful core
    (`Tracker`) and a divergence fails the run, instead of a property."""
    sides = partition_sides(nodes)
    vote_kinds, replication_kinds, client_kinds = library.families
    all_kinds = vote_kinds | replication_kinds | client_kinds
    divergence = _divergence(library) if core is not None else None

    def failed(error: E) -> E:
        """A run fails: what Hypothesis runs after it (its replay) is not counted."""
        stats.failed = True
        return error

    class LibraryMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            if not stats.failed and stats.limit is not None and stats.examples >= stats.limit:
                raise BudgetSpent
            self.cluster: SimCluster | None = None
            self.config = library.config_type(nodes=nodes, ordering=ordering)
            self.actions: list[Action] = []
            self.submits = 0
            self.tracker: Tracker | None = None

        @initialize(seed=st.integers(0, 2**32 - 1))
        def start(self, seed: int) -> None:
            """The seed of the library's random election timeouts, drawn per run."""
            self.config = evolve(self.config, seed=seed)
            try:
                self.cluster = library.cluster(self.config)
            except AdapterFault as fault:
                raise failed(AdapterFailed(fault, self.config, [])) from fault
            if not stats.failed:
                stats.examples += 1
            stats.record(self.cluster, self.cluster.world())

        def teardown(self) -> None:
            if self.cluster is not None:
                self.cluster.close()

        @property
        def c(self) -> SimCluster:
            assert self.cluster is not None
            return self.cluster

        def do(self, action: Action) -> None:
            before = self.c.world()
            self.actions.append(action)
            if core is not None and self.tracker is None:
                assert library.conformance is not None and divergence is not None
                self.tracker = library.conformance.tracker(core, self.c)
                if self.tracker.initial:
                    raise failed(PropertyViolated(divergence(self.tracker.initial),
                                                  self.config, []))
            try:
                if self.tracker is None:
                    self.c.apply(action)
                    violation = check_step(before, self.c.world(), ignored)
                else:
                    violation = self.follow(self.tracker, action)
            except AdapterFault as fault:
                raise failed(AdapterFailed(fault, self.config, list(self.actions))) from fault
            stats.record(self.c, self.c.world())
            if violation is not None:
                raise failed(PropertyViolated(violation, self.config, list(self.actions)))

        def follow(self, tracker: Tracker, action: Action) -> Violation | None:
            """Conformance: the action on the library, the core after it, compared."""
            assert divergence is not None
            running = tracker.stopped is None
            lines = tracker.apply(action)
            if running and not stats.failed:
                stats.compared += tracker.stopped is None
                if tracker.stopped is not None:
                    stats.cut_short[tracker.stopped] = stats.cut_short.get(tracker.stopped,
                                                                           0) + 1
            return None if not lines else divergence(lines)

        def pick(self, data: st.DataObject, options: Sequence[Any], label: str) -> Any:
            return options[data.draw(st.integers(0, len(options) - 1), label=label)]

        @invariant()
        def state_properties(self) -> None:
            # Also checked inside `do`; this covers the initial state.
            if self.cluster is not None and core is None:
                violation = check_properties(self.cluster.world(), ignored)
                if violation is not None:
                    raise failed(PropertyViolated(violation, self.config, list(self.actions)))

        def deliverable(self, kinds: frozenset[str]) -> list[Packet]:
            if self.cluster is None:
                return []
            return [p for p in self.cluster.deliverable() if p.kind in kinds]

        # Deliveries are split by message family, as model.stateful splits them by kind:
        # three rules instead of one make delivery the most frequent action, as it is on a
        # real network (a message takes about a millisecond, a timeout hundreds).

        @precondition(lambda self: bool(self.deliverable(vote_kinds)))
        @rule(data=DATA)
        def deliver_vote(self, data: st.DataObject) -> None:
            self.deliver(data, vote_kinds)

        @precondition(lambda self: bool(self.deliverable(replication_kinds)))
        @rule(data=DATA)
        def deliver_replication(self, data: st.DataObject) -> None:
            self.deliver(data, replication_kinds)

        @precondition(lambda self: bool(self.deliverable(client_kinds)))
        @rule(data=DATA)
        def deliver_client(self, data: st.DataObject) -> None:
            self.deliver(data, client_kinds)

        def deliver(self, data: st.DataObject, kinds: frozenset[str]) -> None:
            packet = self.pick(data, self.deliverable(kinds), "packet")
            self.do(Deliver(packet.source, packet.dest, packet.seq))

        # Hypothesis draws small indices more often, i.e. old packets of low-numbered links:
        # little reordering. This rule delivers the *newest* packet of a link instead (the
        # opposite bias, as in PCT-style schedulers), so that a late old packet, the shape of
        # reordering bugs, is common. Same fault model; only the odds change.

        @precondition(lambda self: ordering == "any" and bool(self.deliverable(all_kinds)))
        @rule(data=DATA)
        def deliver_newest(self, data: st.DataObject) -> None:
            newest: dict[tuple[int, int], Packet] = {}
            for packet in self.deliverable(all_kinds):  # sorted: the last of a link wins
                newest[(packet.source, packet.dest)] = packet
            packet = self.pick(data, sorted(newest.values()), "link")
            self.do(Deliver(packet.source, packet.dest, packet.seq))

        @precondition(lambda self: faults.drop and self.cluster is not None
                      and bool(self.c.network))
        @rule(data=DATA)
        def drop(self, data: st.DataObject) -> None:
            packet = self.pick(data, self.c.network, "packet")
            self.do(Drop(packet.source, packet.dest, packet.seq))

        @precondition(lambda self: faults.duplicate and self.cluster is not None
                      and 0 < len(self.c.network) < MAX_IN_FLIGHT_FOR_DUPLICATE)
        @rule(data=DATA)
        def duplicate(self, data: st.DataObject) -> None:
            packet = self.pick(data, self.c.network, "packet")
            self.do(Duplicate(packet.source, packet.dest, packet.seq))

        @precondition(lambda self: self.cluster is not None and bool(self.c.up()))
        @rule()
        def next_timer(self) -> None:
            self.do(NextTimer())

        @precondition(lambda self: self.cluster is not None and bool(self.c.up()))
        @rule(ms=st.integers(1, MAX_WAIT_MS))
        def wait(self, ms: int) -> None:
            self.do(Wait(ms))

        if faults.pauses:
            @precondition(lambda self: self.cluster is not None and bool(self.c.up()))
            @rule(data=DATA)
            def pause_the_others(self, data: st.DataObject) -> None:
                timed = [i for i in self.c.up() if self.c.node_deadline_us(i) is not None]
                if timed:
                    self.do(FireTimer(self.pick(data, timed, "node")))

        @precondition(lambda self: self.cluster is not None and bool(self.c.up())
                      and self.submits < faults.max_submits)
        @rule(data=DATA)
        def client_submit(self, data: st.DataObject) -> None:
            self.submits += 1
            self.do(Submit(self.pick(data, self.c.up(), "node")))

        @precondition(lambda self: self.cluster is not None and bool(self.c.up())
                      and (faults.max_crashes is None
                           or self.c.crashes < faults.max_crashes))
        @rule(data=DATA)
        def crash(self, data: st.DataObject) -> None:
            self.do(Crash(self.pick(data, self.c.up(), "node")))

        @precondition(lambda self: self.cluster is not None and bool(self.c.down()))
        @rule(data=DATA)
        def restart(self, data: st.DataObject) -> None:
            self.do(Restart(self.pick(data, self.c.down(), "node")))

        @precondition(lambda self: self.cluster is not None and not self.c.isolated
                      and bool(sides) and (faults.max_partitions is None
                                           or self.c.partitions < faults.max_partitions))
        @rule(data=DATA)
        def partition(self, data: st.DataObject) -> None:
            self.do(Partition(self.pick(data, sides, "side")))

        @precondition(lambda self: self.cluster is not None and bool(self.c.isolated))
        @rule()
        def heal(self) -> None:
            self.do(Heal())

    return LibraryMachine


# ------------------------------------------------------------------------------ replay, shrink


@frozen
class Outcome:
    """How a run ended: a property violation, an adapter fault, or neither."""

    violation: Violation | None = None
    fault: str | None = None  # AdapterFault kind
    fault_detail: str | None = None

    @property
    def label(self) -> str:
        if self.violation is not None:
            return self.violation.property
        if self.fault is not None:
            return f"adapter fault ({self.fault})"
        return "clean"


def replay(config: Any, actions: Sequence[Action], *, strict: bool = True,
           observe: Callable[[Action, Any], None] | None = None,
           aim: Callable[[Any, int], Action | None] | None = None,
           core: Any = None, ignored: frozenset[str] = NOTHING_IGNORED,
           ) -> tuple[Outcome, list[Action], list[World]]:
    """Run `actions` on a fresh cluster, checking the properties after every step; stops at
    the first violation or adapter fault. Strict: an action that does not apply raises
    ActionNotEnabled. Lenient (shrinking): it is skipped. `aim` (shrinking) is asked, in the
    state action number i would apply to, which action to apply instead (None: skip it).
    Returns the outcome, the actions applied and the views after each (the initial view
    first). With `core`, conformance: the run ends at the first divergence from the faithful
    core (`Tracker`) instead of at a property violation."""
    library = library_of(config)
    cluster = library.cluster(config)
    tracker = None
    if core is not None:
        assert library.conformance is not None
        tracker = library.conformance.tracker(core, cluster)
        divergence = library.conformance.divergence
    applied: list[Action] = []
    states = [cluster.world()]
    try:
        violation = check_properties(states[0], ignored) if tracker is None else (
            divergence(tracker.initial) if tracker.initial else None)
        if violation is not None:
            return Outcome(violation), applied, states
        for index, action in enumerate(actions):
            before = states[-1]
            if aim is not None:
                aimed = aim(cluster, index)
                if aimed is None:
                    continue
                action = aimed
            try:
                lines = None
                if tracker is None:
                    cluster.apply(action)
                else:
                    lines = tracker.apply(action)
            except ActionNotEnabled:
                if strict:
                    raise
                continue
            except AdapterFault as fault:
                applied.append(action)
                return Outcome(fault=fault.kind, fault_detail=fault.detail), applied, states
            applied.append(action)
            if observe is not None:
                observe(action, cluster)
            states.append(cluster.world())
            violation = check_step(before, states[-1], ignored) if tracker is None else (
                divergence(lines) if lines else None)
            if violation is not None:
                return Outcome(violation), applied, states
        return Outcome(), applied, states
    finally:
        cluster.close()


def _same(found: Outcome, wanted: Outcome) -> bool:
    return found.label == wanted.label


# Shrinking. Packets are named by their number on their link (source→dest #k), which a
# deletion upsets in two ways: deleting an action that sent something renumbers every later
# packet of that link, so a later `Deliver #k` names another message or none; and on a FIFO
# link, deleting the delivery of #k leaves #k at the head, where it blocks every later
# delivery of the link, so a candidate without it loses the rest of the link's traffic and
# rarely still fails. The shrinker therefore edits `Step`s, which remember the message each
# delivery, drop or copy acted on, and aims each at that message again in every candidate
# (`aim`): deleting the k-th delivery of a FIFO link moves the later ones down the link.
# Clock advances are the other leftover: a run of heartbeat timers that only pass time stays,
# because deleting one moves every later step to another time; `merge_clocks` merges two
# advances into one `Wait` that ends where the second one did.

MESSAGE_ACTIONS = (Deliver, Drop, Duplicate)


@frozen
class Step:
    """An action of a run being shrunk and, for a delivery, drop or copy, the message it acted
    on (kind and pickled payload) the last time the run replayed."""

    action: Action
    kind: str | None = None
    payload: bytes | None = field(default=None, repr=False)


@frozen
class Did:
    """One step as a replay applied it (aimed, with its message) and how far it moved the
    clock, in microseconds."""

    step: Step
    elapsed_us: int


def aim(cluster: SimCluster, step: Step) -> Action | None:
    """The action that does what `step` did, here: a delivery, drop or copy goes to the packet
    of its link that carries the same message, else one of the same kind, the nearest in
    number (on a FIFO link only the oldest packet can be delivered); None when the link has
    none. Other actions, and steps that have not run yet, are their own aim."""
    action = step.action
    if not isinstance(action, MESSAGE_ACTIONS) or step.kind is None:
        return action
    pool = cluster.deliverable() if isinstance(action, Deliver) else cluster.network
    link = [p for p in pool if (p.source, p.dest) == (action.source, action.dest)]
    for same in ([p for p in link if p.payload == step.payload],
                 [p for p in link if p.kind == step.kind]):
        if same:
            best = min(same, key=lambda p: (abs(p.seq - action.seq), p.seq))
            return type(action)(best.source, best.dest, best.seq)
    return None


def replay_steps(config: Any, steps: Sequence[Step], core: Any = None,
                 ignored: frozenset[str] = NOTHING_IGNORED) -> tuple[Outcome, list[Did]]:
    """Replay `steps` leniently, each aimed first (`aim`); the outcome and what each step
    that applied did, in order."""
    did: list[Did] = []
    pending: list[tuple[Step, int]] = []  # the step being applied and the clock before it

    def aim_at(cluster: SimCluster, index: int) -> Action | None:
        action = aim(cluster, steps[index])
        if action is not None:
            packet = None
            if isinstance(action, MESSAGE_ACTIONS):  # None: not in flight, apply refuses it
                packet = next((p for p in cluster.network if (p.source, p.dest, p.seq) ==
                               (action.source, action.dest, action.seq)), None)
            step = Step(action) if packet is None else Step(action, packet.kind, packet.payload)
            pending[:] = [(step, cluster.now_us)]
        return action

    def observe(_: Action, cluster: SimCluster) -> None:
        step, before = pending.pop()
        did.append(Did(step, cluster.now_us - before))

    outcome, applied, _ = replay(config, [step.action for step in steps], strict=False,
                                 observe=observe, aim=aim_at, core=core, ignored=ignored)
    if len(applied) > len(did):  # the action an adapter fault stopped
        did.append(Did(pending.pop()[0], 0))
    return outcome, did


def merge_clocks(config: Any, core: Any = None,
                 ignored: frozenset[str] = NOTHING_IGNORED) -> ShrinkPass[Step]:
    """A shrink pass: two clock advances (`NextTimer`, `Wait`) with no other clock advance
    between them become one `Wait`, in place of the second, that ends where the second ended
    (the steps between them now run before the first one's time passes). The latest pair
    first."""
    def candidates(steps: list[Step]) -> Iterator[list[Step]]:
        _, did = replay_steps(config, steps, core, ignored)
        if len(did) != len(steps):  # a kept run replays whole; anything else is not shrunk
            return
        clocks = [i for i, step in enumerate(steps) if isinstance(step.action, (NextTimer, Wait))]
        for first, second in reversed(list(pairwise(clocks))):
            elapsed = did[first].elapsed_us + did[second].elapsed_us
            if elapsed > 0:
                wait = Step(Wait(-(-elapsed // 1000)))  # whole ms, rounded up
                yield [wait if k == second else s for k, s in enumerate(steps) if k != first]
    return candidates


def shrink(config: Any, actions: Sequence[Action], wanted: Outcome,
           max_seconds: float = 120.0, budget: int = 1_000_000,
           on_attempt: Callable[[int], object] | None = None,
           core: Any = None, ignored: frozenset[str] = NOTHING_IGNORED) -> list[Action]:
    """The suite's one deletion shrinker (`model.shrink.delete_chunks`: halves, then
    quarters, ... then single steps, and `merge_clocks`) while the run still ends in the same
    property's violation (or the same kind of adapter fault). Each candidate replays on a
    fresh cluster with its steps aimed at the messages they were for (`aim`), and what it
    actually applied is kept, so the result replays strictly. At most `budget` replays, none
    after `max_seconds` (the library runs live); every edit is deterministic, so a shrink
    that ends before either limit gives the same run on any machine. `on_attempt` is told the
    length of each candidate replayed (for measurements). With `core`, the run must still
    diverge from that faithful core (conformance)."""
    def attempt(candidate: list[Step]) -> list[Step] | None:
        if on_attempt is not None:
            on_attempt(len(candidate))
        outcome, did = replay_steps(config, candidate, core, ignored)
        return [d.step for d in did] if _same(outcome, wanted) else None

    _, did = replay_steps(config, [Step(action) for action in actions], core, ignored)
    return [step.action for step in delete_chunks(
        [d.step for d in did], attempt, budget=budget, deadline=time.monotonic() + max_seconds,
        passes=[merge_clocks(config, core, ignored)])]


# ------------------------------------------------------------------------------ records


SCHEMA = 1


@frozen
class Record:
    """A replayable counterexample: the cluster (its seed drives the library's random
    timeouts), the actions, and what the run ended in. Replays against the installed release
    of the library its config is for; `library` says which release found it."""

    config: Any  # the library's ClusterConfig
    actions: tuple[Action, ...]
    outcome: Outcome
    library: str = field(default=Factory(lambda self: library_of(self.config).label,
                                         takes_self=True))
    format: str = field(default=Factory(lambda self: library_of(self.config).format,
                                        takes_self=True))
    schema: int = SCHEMA
    # Conformance records: the faithful core (`impl/`) the library diverged from.
    core: str | None = None
    # Properties the run did not check (`--ignore`, or all but those `--property` named),
    # sorted; its replay does not check them either.
    ignored: tuple[str, ...] = ()


class RecordError(Exception):
    """A record file that cannot be used; one line."""


def _converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=True)
    by_name = {cls.__name__: cls for cls in ACTION_TYPES}

    def unstructure_action(action: Action) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": type(action).__name__}
        for attribute in attrs.fields(type(action)):
            value = getattr(action, attribute.name)
            data[attribute.name] = sorted(value) if isinstance(value, frozenset) else value
        return data

    def structure_action(data: Any, _: Any) -> Action:
        if not isinstance(data, dict) or data.get("kind") not in by_name:
            raise RecordError(f"not an action: {data!r:.80}")
        fields = {k: v for k, v in data.items() if k != "kind"}
        result: Action = converter.structure(fields, by_name[data["kind"]])
        return result

    converter.register_unstructure_hook_func(lambda t: t is Action, unstructure_action)
    converter.register_structure_hook_func(lambda t: t is Action, structure_action)
    for cls in ACTION_TYPES:
        converter.register_unstructure_hook(cls, unstructure_action)
    return converter


CONVERTER = _converter()


def dump_record(record: Record) -> str:
    return json.dumps(CONVERTER.unstructure(record), indent=1, sort_keys=True)


def load_record(path: str | os.PathLike[str], expected: Library | None = None) -> Record:
    """A saved record, of any registered library's (or only `expected`'s)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise RecordError(f"cannot read {os.fspath(path)}: {error}") from None
    libraries = _registered() if expected is None else {expected.format: expected}
    library = libraries.get(str(data.get("format"))) if isinstance(data, dict) else None
    if library is None:
        wanted = " or ".join(sorted(libraries))
        raise RecordError(f"{os.fspath(path)} is not a {wanted} file")
    if data.get("schema") != SCHEMA:
        raise RecordError(f"{os.fspath(path)}: schema {data.get('schema')!r}, expected {SCHEMA}")
    try:
        record: Record = CONVERTER.structure(_checked_to_ignored(data), Record)
        record = evolve(record, config=CONVERTER.structure(record.config, library.config_type))
    except (RecordError, cattrs.BaseValidationError, ValueError, TypeError) as error:
        text = (str(error).splitlines() or [""])[0]
        raise RecordError(f"{os.fspath(path)}: malformed record ({text})") from None
    return record


def _checked_to_ignored(data: dict[str, Any]) -> dict[str, Any]:
    """A record as written before the two selections were one (the hunt branch's
    `--property`): `"properties"`, the properties checked (null: every one), instead of
    `"ignored"`; read as the properties of CHECK_ORDER it leaves out."""
    if "properties" not in data:
        return data
    checked = data["properties"]
    if "ignored" in data or not (checked is None or (isinstance(checked, list) and all(
            isinstance(name, str) for name in checked))):
        raise ValueError("'properties' must be a list of names or null, without 'ignored'")
    rest = {key: value for key, value in data.items() if key != "properties"}
    return {**rest, "ignored": [] if checked is None else
            [name for name in CHECK_ORDER if name not in checked]}


def save_record(record: Record, seed: int, path: str | None = None,
                engine: str = "fuzz") -> Path:
    """Save where `--save` said (a file, or a directory to save in) or under the suite's
    trace directory (`model.tracefile.default_trace_path`), never overwriting:
    `<engine>-<library>-<seed>.json`, then `-2`, `-3`, ..."""
    target = default_trace_path(engine, library_of(record.config).name, seed)
    if path is not None:
        if not path.strip():
            raise RecordError("--save needs a file or directory name")
        given = Path(path)
        target = given / target.name if given.is_dir() or path.endswith("/") else given
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RecordError(f"cannot write {target}: {error.strerror or error}") from None
    text = dump_record(record)
    for number in range(1, 10_000):
        candidate = target if number == 1 else target.with_name(
            f"{target.stem}-{number}{target.suffix}")
        try:
            with candidate.open("x", encoding="utf-8") as out:
                out.write(text)
            return candidate
        except FileExistsError:
            continue
    raise RecordError(f"no free file name beside {target}")


def render(config: Any, actions: Sequence[Action], title: str, core: Any = None,
           ignored: frozenset[str] = NOTHING_IGNORED) -> str:
    """The numbered trace: each action, the nodes that changed under it (the library's), the
    outcome last; with `core`, the divergence from that faithful core."""
    library = library_of(config)
    lines = [f"{title}: {library.label}, {config.nodes} nodes, seed {config.seed}, ordering "
             f"{config.ordering}{library.indices}"]
    shown: list[str] = []

    def observe(action: Action, cluster: SimCluster) -> None:
        world = cluster.world()
        now = [describe_node(node, i) for i, node in enumerate(world.nodes)]
        changed = [text for i, text in enumerate(now) if not shown or shown[i] != text]
        shown[:] = now
        texts_done.append(action)
        clock = (f"t={cluster.clock_us(action.node) / 1e6:.3f}s on n{action.node}"
                 if isinstance(action, FireTimer) else f"t={cluster.now_us / 1e6:.3f}s")
        lines.append(f"{len(texts_done):3d}. {clock} {texts.pop(0)}")
        lines.extend(f"       {text}" for text in changed)
        lines.extend(f"       library {log.level} on n{log.node}: {log.message}"
                     for log in cluster.library_log if log.step == len(texts_done))

    texts: list[str] = []
    texts_done: list[Action] = []
    probe = library.cluster(config)
    try:
        for action in actions:  # describe each action in the state it applies to
            texts.append(library.describe_action(action, probe))
            try:
                probe.apply(action)
            except (ActionNotEnabled, AdapterFault):
                break
    finally:
        probe.close()
    first = library.cluster(config)
    shown[:] = [describe_node(node, i) for i, node in enumerate(first.world().nodes)]
    first.close()
    lines.append("  0. " + " | ".join(shown))
    outcome, _, _ = replay(config, actions, strict=False, observe=observe, core=core,
                           ignored=ignored)
    if outcome.violation is not None and core is not None:
        lines.append(f"  ✗ the library and {core.name} diverge at step {len(texts_done)}:")
        lines.extend(f"      {line}" for line in outcome.violation.detail.split("\n"))
    elif outcome.violation is not None:
        v = outcome.violation
        lines.append(f"VIOLATED {v.property}: {v.detail}")
        lines.append(f"  why it matters: {v.why}")
    elif outcome.fault is not None:
        lines.append(f"ADAPTER FAULT ({outcome.fault}): {outcome.fault_detail}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ the run


@frozen
class FuzzResult:
    library: Library
    seed: int
    nodes: int
    ordering: Ordering
    faults: Faults
    examples: int
    steps: int
    distinct_states: int
    seconds: float
    goals: frozenset[str]
    max_term: int
    outcome: Outcome
    config: Any  # of the failing run (None: none failed)
    actions: tuple[Action, ...]
    found_after: int  # actions in the failing run before shrinking
    core: Any = None  # conformance: the faithful core followed
    compared: int = 0  # conformance: actions compared
    cut_short: tuple[tuple[str, int], ...] = ()  # conformance: (reason, runs) not compared whole
    ignored: frozenset[str] = NOTHING_IGNORED  # properties not checked (--ignore)

    @property
    def missing_goals(self) -> list[str]:
        return [goal for goal in ADAPTER_GOALS if goal not in self.goals]

    @property
    def verdict(self) -> Verdict:
        if self.outcome.fault is not None:
            return Verdict.ADAPTER_FAULT
        if self.outcome.violation is not None:
            return Verdict.VIOLATION
        if self.missing_goals or self.cut_short:
            return Verdict.INCONCLUSIVE
        return Verdict.CLEAN


def fuzz(library: Library, *, nodes: int = 3, ordering: Ordering = "any",
         faults: Faults = Faults(), seed: int = 0, profile: str = "ci",
         examples: int | None = None, seconds: float | None = None, steps: int | None = None,
         shrink_seconds: float = 120.0, core: Any = None,
         ignored: frozenset[str] = NOTHING_IGNORED) -> FuzzResult:
    """Explore the library until `examples` runs (default: the profile's) or `seconds`, or a
    violation or adapter fault; the failing run is shrunk. With `core`, conformance: the
    faithful core follows every run (`Tracker`), and a divergence, not a property, fails it."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
    budget = example_budget(profile, examples, seconds)
    stats = Stats()
    started = time.monotonic()
    failure: PropertyViolated | AdapterFailed | None = None
    batch = 0
    while failure is None:
        if budget is not None and stats.examples >= budget:
            break
        if seconds is not None and time.monotonic() - started >= seconds:
            break
        size = BATCH if budget is None else min(BATCH, budget - stats.examples)
        stats.limit = stats.examples + size
        try:
            run_machine(build_machine(library, nodes, ordering, faults, stats, core, ignored),
                        seed, batch, size, profile, steps or DEFAULT_STEPS)
        except (PropertyViolated, AdapterFailed) as error:
            failure = error
        except BudgetSpent:
            pass
        finally:
            stats.limit, stats.failed = None, False
        batch += 1
    outcome = Outcome()
    actions: list[Action] = []
    config: Any = None
    found_after = 0
    if failure is not None:
        config = failure.config
        found_after = len(failure.actions)
        outcome = (Outcome(failure.violation) if isinstance(failure, PropertyViolated)
                   else Outcome(fault=failure.fault.kind, fault_detail=failure.fault.detail))
        actions = shrink(config, failure.actions, outcome, shrink_seconds, core=core,
                         ignored=ignored)
        # strict: the record must replay
        outcome, actions, _ = replay(config, actions, core=core, ignored=ignored)
    return FuzzResult(library, seed, nodes, ordering, faults, stats.examples, stats.steps,
                      len(stats.distinct), time.monotonic() - started, frozenset(stats.goals),
                      stats.max_term, outcome, config, tuple(actions), found_after, core,
                      stats.compared, tuple(sorted(stats.cut_short.items())), ignored)


def summary(result: FuzzResult, saved: Path | None) -> dict[str, Any]:
    outcome = result.outcome
    return {
        "engine": "fuzz",
        "core": result.library.name,
        "library": result.library.label,
        "nodes": result.nodes,
        "ordering": result.ordering,
        "faults": result.faults.describe(),
        "seed": result.seed,
        "examples": result.examples,
        "steps": result.steps,
        "distinct_states": result.distinct_states,
        "max_term": result.max_term,
        "seconds": round(result.seconds, 3),
        "goals_reached": sorted(result.goals),
        "goals_missing": result.missing_goals,
        "verdict": result.verdict.value.lower(),  # clean | violation | inconclusive | ...
        "violation": None if outcome.violation is None else {
            "property": outcome.violation.property,
            "figure_3": outcome.violation.property in FIGURE_3,
            "detail": outcome.violation.detail,
            "why": outcome.violation.why,
            "nodes": list(outcome.violation.nodes),
            "index": outcome.violation.index,
            "term": outcome.violation.term,
        },
        "adapter_fault": None if outcome.fault is None else {
            "kind": outcome.fault, "detail": outcome.fault_detail},
        "trace_length": len(result.actions),
        "found_after": result.found_after,
        "cluster_seed": None if result.config is None else result.config.seed,
        "record": None if saved is None else str(saved),
        "ignored": sorted(result.ignored),
        "conformance": None if result.core is None else {
            "core": result.core.name, "steps_compared": result.compared,
            "runs_cut_short": dict(result.cut_short)},
    }


# ------------------------------------------------------------------------------ the CLI


def run_cli(library: Library, args: argparse.Namespace, seed: int) -> int:
    """`raftcheck fuzz --core LIBRARY` (dispatched from model/cli/fuzz.py). Uses --nodes,
    --drop/--duplicate, --max-crashes, --max-partitions, --seed, --profile, --examples,
    --seconds, --steps, --property/--ignore, --continue, --json, plus --network, --replay,
    --conformance and --release."""
    selected = bool(getattr(args, "properties", None) or getattr(args, "ignored", None))
    ignored = ignored_from_args(args)
    keep_going = getattr(args, "keep_going", False)
    replay_path = getattr(args, "replay", None)
    if replay_path is not None:
        if keep_going:
            raise ValueError("--continue applies to a search, not to --replay")
        return run_replay(library, replay_path, args.json, ignored if selected else None)
    ordering: Ordering = "fifo" if getattr(args, "network", "any") == "fifo" else "any"
    if not 1 <= args.nodes <= 9:
        raise ValueError(f"--nodes must be between 1 and 9, got {args.nodes}")
    faults = Faults(drop=args.drop, duplicate=args.duplicate, max_crashes=args.max_crashes,
                    max_partitions=args.max_partitions, pauses=getattr(args, "pauses", False))
    core = None
    if getattr(args, "conformance", False):
        if library.conformance is None:
            raise ValueError(f"--conformance: no faithful core models {library.name}")
        if selected or keep_going:
            raise ValueError("--property, --ignore and --continue apply to the properties, "
                             "which --conformance does not check")
        core = library.conformance.core_for(args.release or library.version)
    elif getattr(args, "release", None) is not None:
        raise ValueError("--release applies to --conformance")
    if not args.json:
        print(f"raftcheck fuzz: core={library.name} ({library.version}) nodes={args.nodes} "
              f"network={ordering} seed={seed} profile={args.profile}"
              + ("" if core is None else f" conformance={core.name}"))
        print(f"faults: {faults.describe()}")
        if ignored:
            print(f"properties: {describe_checked(ignored)}")

    def search(round_seed: int, examples: int | None, seconds: float | None,
               broken: tuple[str, ...] = ()) -> FuzzResult:
        return fuzz(library, nodes=args.nodes, ordering=ordering, faults=faults,
                    seed=round_seed, profile=args.profile, examples=examples,
                    seconds=seconds, steps=args.steps, core=core,
                    ignored=ignored | frozenset(broken))

    if keep_going:
        return run_each(args, search, seed, ignored)
    result = search(seed, args.examples, args.seconds)
    saved = save_result(args, result, seed)
    if args.json:
        print(json.dumps(summary(result, saved), indent=2))
        return result.verdict.exit_code
    print(f"seed {seed}: {result.examples} runs, {result.steps} steps, "
          f"{result.distinct_states} distinct states in {result.seconds:.1f} s "
          f"(highest term {result.max_term})")
    for goal in ADAPTER_GOALS:
        print(f"  goal {'✓' if goal in result.goals else '✗ NOT reached:'} {goal}")
    if core is not None:
        print(conformance_lines(result))
    if result.config is not None:
        print()
        print(found_lines(result, saved))
    elif core is not None and not result.missing_goals and not result.cut_short:
        print(f"CONFORMS: every one of the {result.compared} library steps of {result.examples} "
              f"runs was a step of {core.name}, every goal reached")
    elif result.cut_short:
        print("INCONCLUSIVE: no divergence, but some runs were not compared to the end")
    elif core is not None:
        print("INCONCLUSIVE: no divergence, but some goals were never reached")
    elif result.missing_goals:
        print("INCONCLUSIVE: no violation, but some goals were never reached")
    else:
        print("CLEAN: no property violated, every goal reached")
    return result.verdict.exit_code


def save_result(args: argparse.Namespace, result: FuzzResult, seed: int) -> Path | None:
    """Save a failing run's record as --save/--no-save say; a failed save only warns."""
    if result.config is None or getattr(args, "no_save", False):
        return None
    try:
        return save_record(Record(result.config, result.actions, result.outcome,
                                  core=None if result.core is None else result.core.name,
                                  ignored=tuple(sorted(result.ignored))), seed,
                           getattr(args, "save", None))
    except RecordError as error:  # a failed save must not lose the result
        print(f"raftcheck fuzz: warning: record not saved: {error}", file=sys.stderr)
        return None


def found_lines(result: FuzzResult, saved: Path | None) -> str:
    """A failing run as printed: its shrunk trace, where it was saved, what it found."""
    assert result.config is not None
    core = result.core
    lines = [render(result.config, result.actions,
                    "Counterexample" if core is None else "Divergence", core, result.ignored),
             f"\n(shrunk from {result.found_after} to {len(result.actions)} steps)"]
    if saved is not None:
        lines.append(f"saved: {saved}  (replay: raftcheck fuzz --core {result.library.name} "
                     f"--replay {saved})")
    if result.outcome.fault is not None:
        lines.append(f"\nADAPTER FAULT ({result.outcome.fault}), not a Raft finding: "
                     f"{result.outcome.fault_detail}")
    elif core is not None:
        lines.append(f"\nDIVERGENCE: the library took a step {core.name} does not allow "
                     f"(seed {result.seed})")
    else:
        assert result.outcome.violation is not None
        lines.append(f"\nVIOLATION of {result.outcome.violation.property} (seed "
                     f"{result.seed})")
    return "\n".join(lines)


def run_each(args: argparse.Namespace,
             search: Callable[[int, int | None, float | None, tuple[str, ...]], FuzzResult],
             seed: int, ignored: frozenset[str]) -> int:
    """--continue: after each violation, fresh runs for the rest of the budget without that
    property (`model.fuzz.each_property`); every property broken is reported, each with its
    shrunk trace and saved record. Exit 1 if any was broken; else as the last round ends
    (an adapter fault ends the search: exit 4 when nothing was broken before it)."""
    def broken(result: FuzzResult) -> str | None:
        violation = result.outcome.violation
        return None if violation is None else violation.property

    checked = [name for name in CHECK_ORDER if name not in ignored]
    results = each_property(search, broken, checked, seed=seed,
                            budget=example_budget(args.profile, args.examples, args.seconds),
                            seconds=args.seconds)
    rounds = []
    found: list[str] = []
    for result in results:
        saved = save_result(args, result, seed)
        rounds.append(RoundReport(
            result.seed, tuple(found), result.examples, broken(result),
            None if result.config is None else found_lines(result, saved),
            summary(result, saved)))
        if (name := broken(result)) is not None:
            found.append(name)
    verdict = Verdict.VIOLATION if found else results[-1].verdict
    report_rounds(rounds, seed, verdict, args.json)
    return verdict.exit_code


def conformance_lines(result: FuzzResult) -> str:
    """What conformance compared: steps, and the runs cut short by what the core leaves out."""
    assert result.core is not None
    lines = [f"conformance with {result.core.name}: {result.compared} library steps compared"]
    lines.extend(f"  {runs} run(s) not compared to the end: {reason}"
                 for reason, runs in result.cut_short)
    return "\n".join(lines)


def record_core(record: Record) -> Any:
    """The faithful core a conformance record was made with (None: a property record)."""
    if record.core is None:
        return None
    conformance = library_of(record.config).conformance
    core = None if conformance is None else conformance.cores.get(record.core)
    if core is None:
        raise RecordError(f"the record names an unknown faithful core {record.core!r}")
    return core


def run_replay(library: Library, path: str, as_json: bool,
               ignored: frozenset[str] | None = None) -> int:
    """Re-run a saved record against the installed library, checking the properties it was
    found with (or, given `ignored`, all but those: `--property`/`--ignore` on the command
    line); exit as the record ends now."""
    try:
        record = load_record(path, library)
        core = record_core(record)
    except RecordError as error:
        raise ValueError(str(error)) from None
    if ignored is not None and core is not None:
        raise ValueError("--property and --ignore apply to the properties, which a "
                         "conformance record does not check")
    leaving_out = frozenset(record.ignored) if ignored is None else ignored
    try:
        outcome, actions, _ = replay(record.config, record.actions, core=core,
                                     ignored=leaving_out)
    except ActionNotEnabled as error:
        raise ValueError(f"{path} does not replay on {library.label}: "
                         f"{error}") from None
    same = outcome == record.outcome
    if as_json:
        print(json.dumps({"record": path, "library": library.label,
                          "recorded_with": record.library, "steps": len(actions),
                          "outcome": outcome.label, "recorded_outcome": record.outcome.label,
                          "reproduced": same, "ignored": sorted(leaving_out)},
                         indent=2))
    else:
        print(render(record.config, record.actions, f"Replay of {path}", core, leaving_out))
        if core is None:
            print(f"\nchecked: {describe_checked(leaving_out)}"
                  + (" (as recorded)" if ignored is None else ""))
        print(f"\nrecorded: {record.outcome.label} ({record.library}); now: {outcome.label} "
              f"→ {'reproduced' if same else 'NOT reproduced'}")
    if outcome.fault is not None:
        return Verdict.ADAPTER_FAULT.exit_code
    return (Verdict.VIOLATION if outcome.violation is not None else Verdict.CLEAN).exit_code


# ------------------------------------------------------------------------------ deep run


def deep(library: Library, minutes: float, seed: int, out: str | None, steps: int = 150,
         profiles: Sequence[str] = tuple(FAULT_PROFILES),
         ignored: frozenset[str] = NOTHING_IGNORED) -> list[dict[str, Any]]:
    """The long run: an equal share of `minutes` for each fault profile. Within a share,
    runs go on with the next seed after each finding until the share is spent, so one
    finding does not end the search. Prints one JSON summary per run and returns them; with
    `out`, also writes them there after each run."""
    share = minutes * 60 / len(profiles)
    results: list[dict[str, Any]] = []
    for name in profiles:
        nodes, ordering, faults = FAULT_PROFILES[name]
        started = time.monotonic()
        current = seed
        while (left := share - (time.monotonic() - started)) > 5:
            result = fuzz(library, nodes=nodes, ordering=ordering, faults=faults, seed=current,
                          profile="deep", seconds=left, steps=steps, ignored=ignored)
            saved = None
            if result.config is not None:
                saved = save_record(Record(result.config, result.actions, result.outcome,
                                           ignored=tuple(sorted(ignored))), current)
            entry = {"profile": name, **summary(result, saved)}
            if result.config is not None:
                entry["trace"] = render(result.config, result.actions, "Counterexample",
                                        ignored=ignored)
            results.append(entry)
            print(json.dumps(entry, indent=1), flush=True)
            if out is not None:
                Path(out).write_text(json.dumps(results, indent=1), encoding="utf-8")
            current += 1
    return results


def main(library: Library, argv: Sequence[str] | None = None) -> int:
    """`python -m raftcheck.model.adapters.<library>_fuzz`: the deep run."""
    parser = argparse.ArgumentParser(prog=f"python -m raftcheck.model.adapters.{library.name}_fuzz",
                                     description=f"the deep run against {library.name}")
    parser.add_argument("--minutes", type=float, default=12.0)
    parser.add_argument("--seed", type=int, default=1, help="first seed of each profile")
    parser.add_argument("--steps", type=int, default=150, help="actions per run")
    parser.add_argument("--profiles", nargs="+", choices=sorted(FAULT_PROFILES),
                        default=list(FAULT_PROFILES))
    parser.add_argument("--out", default=None, help="write the JSON summaries here")
    parser.add_argument("--ignore", dest="ignored", action="append", metavar="NAME",
                        default=[], help="a property not to check (repeatable)")
    args = parser.parse_args(argv)
    try:
        ignored = ignored_from_args(args)
    except ValueError as error:
        parser.error(str(error))
    deep(library, args.minutes, args.seed, args.out, args.steps, args.profiles, ignored)
    return 0

