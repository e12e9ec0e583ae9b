"""`raftcheck hunt --core LIBRARY`: search a library's faithful core, confirm on the library.

One pipeline for every library with a faithful core (PySyncObj, raftos): a `Library` of
`library_fuzz` with its conformance.

1. **Search.** An engine runs on the faithful core of the installed release in the suite's own
   world, reporting every property it breaks, each with one counterexample, at step-function
   speed: the Hypothesis engine (`model.fuzz.fuzz_each`, shrunk counterexamples, any cluster
   size; the default) or the exhaustive search (`model.explore`, breadth first with
   `all_violations`: the shortest counterexample of each property within the bounds).
2. **Translate.** Each counterexample, a list of world actions, is replayed on the library as
   adapter actions, one core action at a time (`Translation.run`), on a cluster of the
   library's default settings. A delivery, drop or copy goes to the in-flight packet that
   carries the same message (the conformance tracker's `core_message`); crashes, restarts,
   partitions and heals are the same actions; a client request is `Submit` to the same node
   (the libraries number requests 1, 2, 3..., so each entry's value is renamed by its term and
   index). An election timeout or a heartbeat is the node's own clock run to its next timer
   (`FireTimer`) while every other node is paused, as a process the OS stopped or a
   garbage-collection pause would be, until the wanted timer fires: Raft's safety may not
   rest on clocks, so the run is one a deployment can see. On one clock shared by every node
   some orders the untimed core allows never happen (a raftos leader that hears no majority
   always steps down before a follower's election timeout; a PySyncObj leader's next
   heartbeat comes before a follower's timeout); with each node's own clock they do. What
   fires on the way may only be that node's heartbeats that leave it as it was, and timers
   that are no core action (PySyncObj's journal flush); the heartbeats' messages are dropped
   (`fillers_dropped`). After every translated step the conformance tracker says which core
   actions the library just took; they must be exactly the counterexample's.
3. **Confirm.** The library run is replayed with the properties checked after every step.

Verdicts, one per counterexample:

* **CONFIRMED**: the library violates the same property; its run is saved as a record that
  `raftcheck fuzz --core LIBRARY --replay FILE` replays (the library's seeded timeouts make
  it deterministic);
* **NOT CONFIRMED**: the library's step differed from the core's (a conformance gap, with
  the divergence), or it followed every step and does not violate the property;
* **CANNOT APPLY at step k**: the counterexample's step has no library counterpart here (the
  message is not in flight, another of the node's timers changes it first, a step took more
  core actions than one), with the reason. Not a statement about the library.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from attrs import evolve, field, frozen

from raftcheck.impl.types import AppendEntries, Entry, Message, Put
from raftcheck.model import world as w
from raftcheck.model.adapters.library_conformance import LibraryTracker, NoFaithfulCore
from raftcheck.model.adapters.library_fuzz import (
    NOTHING_IGNORED,
    Library,
    Outcome,
    Record,
    RecordError,
    check_property,
    ignoring,
    ignoring_all_but,
    render,
    replay,
    save_record,
)
from raftcheck.model.adapters.sim import (
    Action,
    ActionNotEnabled,
    AdapterFault,
    Crash,
    Deliver,
    Drop,
    Duplicate,
    FireTimer,
    Heal,
    Packet,
    Partition,
    Restart,
    Submit,
)
from raftcheck.model.explore import explore
from raftcheck.model.fuzz import fuzz_each
from raftcheck.model.presets import ENGINE_BOUNDS, FUZZ
from raftcheck.model.trace import show_action
from raftcheck.model.verdict import Exit
from raftcheck.model.world import Bounds
from raftcheck.properties import RAFT_PROPERTIES, Properties, Violation

CONFIRMED, NOT_CONFIRMED, CANNOT_APPLY = "CONFIRMED", "NOT CONFIRMED", "CANNOT APPLY"
SEARCH_BOUNDS = FUZZ  # the world the faithful core is searched in by default
MAX_FILLERS = 1_000  # timers of a node that may fire before the one a step wants


class CannotApply(Exception):
    """A counterexample step with no library counterpart here: the step (from 1) and why,
    in one line."""

    def __init__(self, step: int, reason: str) -> None:
        super().__init__(step, reason)
        self.step, self.reason = step, reason

    def __str__(self) -> str:
        return f"step {self.step}: {self.reason}"


class Diverged(Exception):
    """The library's step differed from the core's: the step (from 1) and the differences."""

    def __init__(self, step: int, lines: list[str]) -> None:
        super().__init__(step, lines)
        self.step, self.lines = step, lines


@frozen
class Hunted:
    """One counterexample of the faithful core and what became of it on the library."""

    property: str
    core_actions: tuple[w.Action, ...]
    verdict: str  # CONFIRMED | NOT CONFIRMED | CANNOT APPLY
    reason: str
    config: Any = None  # the library's ClusterConfig of the run, when it ran
    library_actions: tuple[Action, ...] = ()
    outcome: Outcome = field(factory=Outcome)
    step: int = 0  # CANNOT APPLY / a divergence: the counterexample's step (from 1)
    ignored: frozenset[str] = NOTHING_IGNORED  # the properties the library run leaves out


# ------------------------------------------------------------------------------ translating


def _renamed(message: Message, values: dict[tuple[int, int], int]) -> Message:
    """A core message with its client values renamed to the library's request numbers, by
    the (term, index) of each entry."""
    if not isinstance(message, AppendEntries) or not message.entries:
        return message
    first = message.prev_log_index + 1
    entries = tuple(Entry(e.term, Put(e.command.key, values.get((e.term, first + offset),
                                                                e.command.value)))
                    for offset, e in enumerate(message.entries))
    return evolve(message, entries=entries)


def _renamed_action(action: w.Action, values: dict[tuple[int, int], int]) -> w.Action:
    if isinstance(action, (w.Deliver, w.Drop, w.Duplicate)):
        return type(action)(_renamed(action.message, values))
    return action


def _same_action(action: w.Crash | w.Restart | w.Partition | w.Heal) -> Action:
    if isinstance(action, w.Crash):
        return Crash(action.node)
    if isinstance(action, w.Restart):
        return Restart(action.node)
    if isinstance(action, w.Partition):
        return Partition(action.isolated)
    return Heal()


class Translation:
    """One counterexample (found within `bounds`) being replayed on `library`, on a cluster of
    the library's default settings (see the module docstring); `run` raises CannotApply or
    Diverged with the step."""

    def __init__(self, library: Library, core: Any, nodes: int, actions: Sequence[w.Action],
                 bounds: Bounds = SEARCH_BOUNDS) -> None:
        self.library = library
        self.actions = list(actions)
        self.states = w.Model(core, w.Config(cluster_size=nodes), bounds).run(self.actions)
        self.config = library.config_type(nodes=nodes)
        self.cluster = library.cluster(self.config)
        assert library.conformance is not None
        tracker = library.conformance.tracker(core, self.cluster)
        assert isinstance(tracker, LibraryTracker)
        self.tracker = tracker
        self.done: list[Action] = []  # the library actions taken so far

    def timer(self, wanted: w.Timeout | w.Heartbeat, step: int) -> list[w.Action]:
        """Make the library's own timer for `wanted` fire: the node's own clock runs to its
        next timer (`FireTimer`), the other nodes paused, until the wanted one fires; what
        fires on the way may only leave the core's states as they were (`fillers_dropped`).
        The core actions it took."""
        leads = self.states[step - 1].nodes[wanted.node]
        what = (f"n{wanted.node}'s "
                + ("heartbeat" if isinstance(wanted, w.Heartbeat) else
                   "step-down" if leads is not None and leads.leader is not None else
                   "election timeout"))
        for _ in range(MAX_FILLERS):
            before = self.tracker.world.nodes
            link_seq = dict(self.cluster.link_seq)
            events = self.take(step, FireTimer(wanted.node))
            self.fillers_dropped(step, before, events, wanted, link_seq, what)
            if wanted in events:
                return [wanted]
        raise CannotApply(step, f"{what} did not fire within {MAX_FILLERS} of its timers")

    def take(self, step: int, action: Action) -> list[w.Action]:
        """Apply one library action; the core actions the library took for it."""
        tracker = self.tracker
        try:
            lines = tracker.apply(action)
        except ActionNotEnabled as error:
            raise CannotApply(step, str(error)) from None
        self.done.append(action)
        if tracker.stopped is not None:
            raise CannotApply(step, tracker.stopped)
        if lines:
            raise Diverged(step, list(lines))
        return tracker.events

    def sent_since(self, link_seq: dict[tuple[int, int], int]) -> list[Packet]:
        """The packets sent since the network's link numbers were `link_seq`."""
        return [p for p in self.cluster.network
                if p.seq >= link_seq.get((p.source, p.dest), 0)]

    def fillers_dropped(self, step: int, before: tuple[Any, ...], events: list[w.Action],
                        wanted: w.Action, link_seq: dict[tuple[int, int], int],
                        what: str) -> None:
        """Accept what fired on the way to `wanted` only if it is a heartbeat of a leader that
        it leaves as it was (a library beats more often than an untimed counterexample
        needs), and drop the messages those heartbeats sent, so the core's states are the
        counterexample's again; anything else is CannotApply."""
        fillers = [e for e in events if e != wanted]
        for event in fillers:
            if not isinstance(event, w.Heartbeat) or \
                    self.tracker.world.nodes[event.node] != before[event.node]:
                raise CannotApply(step, f"the library took {show_action(event)} before {what}")
        beats = {e.node for e in fillers if isinstance(e, w.Heartbeat)}
        for packet in self.sent_since(link_seq):
            if packet.source in beats:
                self.take(step, Drop(packet.source, packet.dest, packet.seq))

    def run(self) -> list[Action]:
        """Translate every step; the library actions."""
        cluster = self.cluster
        if self.tracker.initial:
            raise Diverged(0, list(self.tracker.initial))
        values: dict[tuple[int, int], int] = {}
        for step, planned in enumerate(self.actions, 1):
            wanted = _renamed_action(planned, values)
            taken: list[w.Action]
            if isinstance(wanted, (w.Deliver, w.Drop, w.Duplicate)):
                pool = (cluster.deliverable() if isinstance(wanted, w.Deliver)
                        else cluster.network)
                packet = next((p for p in pool
                               if self.tracker.core_message(p) == wanted.message), None)
                if packet is None:
                    raise CannotApply(step, f"the library has no such message in flight: "
                                      f"{show_action(wanted)}")
                link = (packet.source, packet.dest, packet.seq)
                taken = self.take(step, Deliver(*link) if isinstance(wanted, w.Deliver) else
                                  Drop(*link) if isinstance(wanted, w.Drop) else
                                  Duplicate(*link))
            elif isinstance(wanted, (w.Timeout, w.Heartbeat)):
                if cluster.is_up(wanted.node):
                    taken = self.timer(wanted, step)
                else:
                    raise CannotApply(step, f"n{wanted.node} is down")
            elif isinstance(wanted, w.Submit):
                leader = self.states[step].nodes[wanted.node]
                assert leader is not None  # the counterexample's Submit applied
                values[(leader.current_term, leader.last_log_index)] = cluster.submitted + 1
                wanted = w.Submit(wanted.node, cluster.submitted + 1, wanted.key)
                taken = self.take(step, Submit(wanted.node))
            elif isinstance(wanted, (w.Crash, w.Restart, w.Partition, w.Heal)):
                taken = self.take(step, _same_action(wanted))
            else:
                raise CannotApply(step, f"{show_action(wanted)} has no library action")
            if taken != [wanted]:
                shown = ", ".join(show_action(a) for a in taken) or "nothing"
                raise CannotApply(step, f"the library took {shown} for "
                                  f"{show_action(wanted)}")
        return self.done


# ------------------------------------------------------------------------------ hunting


def confirm(library: Library, core: Any, nodes: int, prop: str,
            actions: Sequence[w.Action], bounds: Bounds = SEARCH_BOUNDS) -> Hunted:
    """Translate one counterexample of `core` (found within `bounds`) and replay it on
    `library`."""
    core_actions = tuple(actions)
    run: Translation | None = None
    try:
        run = Translation(library, core, nodes, actions, bounds)
        taken = run.run()
    except CannotApply as error:
        return Hunted(prop, core_actions, CANNOT_APPLY, str(error), step=error.step)
    except Diverged as error:
        return Hunted(prop, core_actions, NOT_CONFIRMED,
                      f"conformance gap at step {error.step}: " + "; ".join(error.lines),
                      step=error.step)
    except AdapterFault as fault:
        return Hunted(prop, core_actions, CANNOT_APPLY, f"adapter fault: {fault}")
    finally:
        if run is not None:
            run.cluster.close()
    config = run.config
    violation, steps = first_violation(library, config, taken, prop)
    if violation is not None:
        kept = tuple(taken[:steps])
        # The record checks the property confirmed (the same step may break others).
        outcome, _, _ = replay(config, kept, ignored=ignoring_all_but(prop))
        return Hunted(prop, core_actions, CONFIRMED, violation.detail, config, kept, outcome,
                      ignored=ignoring_all_but(prop))
    outcome, applied, _ = replay(config, taken)
    return Hunted(prop, core_actions, NOT_CONFIRMED,
                  f"the library followed every step and {prop} holds on it throughout "
                  f"(it ends {outcome.label})", config, tuple(applied), outcome)


def first_violation(library: Library, config: Any, actions: Sequence[Action],
                    prop: str) -> tuple[Violation | None, int]:
    """The first violation of property `prop` on the library running `actions`, and the
    number of actions up to it."""
    cluster = library.cluster(config)
    try:
        before = cluster.world()
        for number, action in enumerate(actions, 1):
            cluster.apply(action)
            after = cluster.world()
            found = check_property(prop, before, after)
            if found is not None:
                return found, number
            before = after
        return None, len(actions)
    finally:
        cluster.close()


@frozen
class Search:
    """What the search of the faithful core did: the counterexamples, one per property
    broken, and how far it went."""

    engine: str
    counterexamples: tuple[tuple[str, tuple[w.Action, ...]], ...]  # (property, actions)
    description: str  # in words, e.g. "300 runs, 28,206 steps"
    figures: dict[str, Any]  # the same for JSON
    conclusive: bool  # finding nothing would mean the core is clean within the bounds


def search(model: w.Model, engine: str, seed: int, examples: int | None,
           seconds: float | None) -> Search:
    """Every property `model` breaks, by the Hypothesis engine (`examples` runs or `seconds`,
    shrunk counterexamples) or the exhaustive search (breadth first, the shortest
    counterexample of each property; `seconds` as its time limit; it stops at the violation
    when it checks one property)."""
    if engine == "fuzz":
        results = fuzz_each(model, seed=seed, examples=examples, seconds=seconds)
        runs, steps = sum(r.examples for r in results), sum(r.steps for r in results)
        return Search(engine, tuple((r.violation.property, tuple(r.actions)) for r in results
                                    if r.violation is not None),
                      f"{runs} runs, {steps:,} steps", {"runs": runs, "steps": steps}, True)
    check_budget(engine, examples)
    checked = [p for p in model.properties.all if p.kind != "sometimes"]
    result = explore(model, all_violations=len(checked) > 1, max_seconds=seconds)
    words = (f"{result.distinct:,} states, depth {result.depth}, "
             + ("complete" if result.complete else f"stopped: {result.stop_reason}"))
    return Search(engine, tuple((c.property, tuple(c.actions)) for c in result.violations),
                  words, {"states": result.distinct, "depth": result.depth,
                          "complete": result.complete, "stop_reason": result.stop_reason,
                          "verdict": result.verdict.value},
                  result.complete and not result.missed_goals)


def check_budget(engine: str, examples: int | None) -> None:
    """Raises ValueError for a budget the engine does not take."""
    if engine == "explore" and examples is not None:
        raise ValueError("--examples is the Hypothesis engine's budget; --engine explore "
                         "takes --seconds as its time limit")


def hunt(library: Library, core: Any, *, nodes: int = 3, seed: int = 0,
         examples: int | None = None, seconds: float | None = None, engine: str = "fuzz",
         bounds: Bounds | None = None,
         properties: Properties = RAFT_PROPERTIES) -> tuple[list[Hunted], Search]:
    """Search the core for every property of `properties` it breaks (`search`, within
    `bounds`, default the engine's), confirm each counterexample on the library."""
    bounds = ENGINE_BOUNDS[engine] if bounds is None else bounds
    model = w.Model(core, w.Config(cluster_size=nodes), bounds, properties=properties)
    found = search(model, engine, seed, examples, seconds)
    hunted = [confirm(library, core, nodes, prop, actions, bounds)
              for prop, actions in found.counterexamples]
    return hunted, found


def run_cli(library: Library, release: str | None, nodes: int, seed: int,
            examples: int | None, seconds: float | None, as_json: bool, save: str | None,
            engine: str = "fuzz", bounds: Bounds | None = None,
            properties: Properties = RAFT_PROPERTIES) -> int:
    """`raftcheck hunt --core LIBRARY` (model/cli/hunt.py)."""
    assert library.conformance is not None
    try:
        core = library.conformance.core_for(release or library.version)
    except NoFaithfulCore as error:
        raise ValueError(str(error)) from None
    if release not in (None, library.version):
        raise ValueError(f"the installed library is {library.label}; install "
                         f"{library.name}=={release} to hunt on that release")
    if not 2 <= nodes <= 9:
        raise ValueError(f"--nodes must be between 2 and 9, got {nodes}")
    ignoring(properties)  # the properties the library can be checked for
    check_budget(engine, examples)
    bounds = ENGINE_BOUNDS[engine] if bounds is None else bounds
    started = time.monotonic()
    if not as_json:
        print(f"raftcheck hunt: core={core.name} (faithful to the installed {library.label}) "
              f"nodes={nodes} seed={seed} engine={engine}")
        print(f"bounds: {bounds.describe()}")
    hunted, searched = hunt(library, core, nodes=nodes, seed=seed, examples=examples,
                            seconds=seconds, engine=engine, bounds=bounds,
                            properties=properties)
    rows: list[dict[str, Any]] = []
    for number, found in enumerate(hunted, 1):
        saved = None
        if found.config is not None:
            try:
                saved = save_record(Record(found.config, found.library_actions,
                                           found.outcome,
                                           ignored=tuple(sorted(found.ignored))),
                                    seed, save, engine="hunt")
            except RecordError as error:
                print(f"raftcheck hunt: warning: record not saved: {error}")
        rows.append({"property": found.property, "verdict": found.verdict,
                     "core_trace_length": len(found.core_actions),
                     "library_trace_length": len(found.library_actions),
                     "reason": found.reason, "step": found.step,
                     "record": None if saved is None else str(saved)})
        if not as_json:
            print(f"\n{number}. {found.property} on {core.name} "
                  f"({len(found.core_actions)} core steps): {found.verdict}")
            if found.verdict == CONFIRMED and found.config is not None:
                print(render(found.config, found.library_actions, "Library trace",
                             ignored=found.ignored))
                print(f"saved: {saved}  (replay: raftcheck fuzz --core {library.name} "
                      f"--replay {saved})")
            else:
                print(f"   {found.reason}")
    elapsed = time.monotonic() - started
    confirmed = sum(row["verdict"] == CONFIRMED for row in rows)
    if as_json:
        print(json.dumps({"engine": "hunt", "search_engine": engine, "core": core.name,
                          "library": library.version, "nodes": nodes, "seed": seed,
                          "bounds": bounds.describe(), **searched.figures,
                          "search": searched.description, "seconds": round(elapsed, 3),
                          "counterexamples": rows}, indent=2))
    else:
        print(f"\nsearch ({engine}): {searched.description} on {core.name}; {len(rows)} "
              f"counterexample(s), {confirmed} confirmed on the library; {elapsed:.1f} s")
        if not rows:
            print(f"{'CLEAN' if searched.conclusive else 'INCONCLUSIVE'} on the faithful "
                  f"core ({searched.description}): nothing to confirm")
    if confirmed:
        return Exit.VIOLATION
    return Exit.INCONCLUSIVE if rows or not searched.conclusive else Exit.CLEAN
