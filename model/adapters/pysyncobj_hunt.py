"""`raftcheck hunt --core pysyncobj`: search the faithful core, confirm on the library.

1. **Search.** An engine runs on the faithful core of the installed release
   (`impl/pysyncobj.py`) in the suite's own world, reporting every property it breaks, each
   with one counterexample, at step-function speed: the Hypothesis engine
   (`model.fuzz.fuzz_each`, shrunk counterexamples, any cluster size; the default) or the
   exhaustive search (`model.explore`, breadth first with `all_violations`: the shortest
   counterexample of each property within the bounds).
2. **Translate.** Each counterexample, a list of world actions, is replayed on the library as
   adapter actions, one core action at a time (`translate`). A delivery, drop or copy goes to
   the in-flight packet that carries the same message (`core_message`); crashes, restarts,
   partitions and heals are the same actions; a client request is `Submit` to the same node
   (the library numbers requests 1, 2, 3..., so each entry's value is renamed by its term and
   index); an election timeout or a
   heartbeat is the clock advanced to that node's timer. The library's timers are made to
   fire in the counterexample's order without touching the library: its election timeouts are
   its `random.random()` draws, which the adapter scripts (`ClusterConfig.draws`): a draw is
   long (past the run) unless the node's next timeout in the counterexample comes before its
   next reset, and heartbeats are spaced by a long `appendEntriesPeriod` (`HUNT_TIMING`).
   After every translated step the conformance `Tracker` says which core actions the library
   just took; they must be exactly the counterexample's.
3. **Confirm.** The library run is replayed with the properties checked after every step.

Verdicts, one per counterexample:

* **CONFIRMED**: the library violates the same property; its run is saved as a record that
  `raftcheck fuzz --core pysyncobj --replay FILE` replays;
* **NOT CONFIRMED**: the library's step differed from the core's (a conformance gap, with
  the divergence), or it followed every step and does not violate the property;
* **CANNOT APPLY at step k**: the counterexample's step has no library counterpart here (the
  message is not in flight, another timer is due first, a step took more core actions than
  one), with the reason. Not a statement about the library.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from attrs import evolve, field, frozen

from raftcheck.impl.pysyncobj import PySyncObjCore
from raftcheck.impl.types import AppendEntries, Entry, Message, Put
from raftcheck.model import world as w
from raftcheck.model.adapters.library_fuzz import (
    NOTHING_IGNORED,
    check_property,
    ignoring,
    ignoring_all_but,
)
from raftcheck.model.adapters.pysyncobj_adapter import (
    LIBRARY_VERSION,
    Action,
    ActionNotEnabled,
    AdapterFault,
    Cluster,
    ClusterConfig,
    Crash,
    Deliver,
    Drop,
    Duplicate,
    Heal,
    NextTimer,
    Partition,
    Restart,
    Submit,
    _private,
)
from raftcheck.model.adapters.pysyncobj_conformance import (
    NoFaithfulCore,
    Tracker,
    core_message,
    faithful_core,
)
from raftcheck.model.adapters.pysyncobj_fuzz import (
    Outcome,
    Record,
    RecordError,
    render,
    replay,
    save_record,
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

# The library's timing for a translated run (its own settings, in seconds): elections only
# when a draw is short (raftMinTimeout after the reset), heartbeats only when the clock is
# moved a period on, no step-down for want of replies.
HUNT_TIMING = ClusterConfig(raft_min_timeout=3.5, raft_max_timeout=1e7,
                            append_entries_period=1.0, leader_fallback_timeout=1e9)
LONG = 0.999_999  # a draw that never fires within a run
SPACING = 10.0  # seconds a short draw leaves per timer step before its timeout


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
    config: ClusterConfig | None = None
    library_actions: tuple[Action, ...] = ()
    outcome: Outcome = field(factory=Outcome)
    step: int = 0  # CANNOT APPLY / a divergence: the counterexample's step (from 1)
    ignored: frozenset[str] = NOTHING_IGNORED  # the properties the library run leaves out


# ------------------------------------------------------------------------------ translating


class _Plan:
    """The counterexample and, per step, which nodes' election timers it resets."""

    def __init__(self, core: PySyncObjCore, nodes: int, actions: Sequence[w.Action],
                 bounds: Bounds = SEARCH_BOUNDS) -> None:
        self.actions = list(actions)
        model = w.Model(core, w.Config(cluster_size=nodes), bounds)
        states = model.run(self.actions)
        self.states = states
        self.resets: list[frozenset[int]] = []
        for state, action in zip(states, self.actions, strict=False):
            reset: set[int] = set()
            if isinstance(action, w.Deliver):
                node = state.nodes[action.message.dest]
                if node is not None and model.step_node(node, action.message)[1] \
                        .reset_election_timer:
                    reset.add(action.message.dest)
            elif isinstance(action, (w.Timeout, w.Restart, w.Crash)):
                reset.add(action.node)
            self.resets.append(frozenset(reset))
        self.position = -1  # the step being translated

    def draw(self, node: int) -> float:
        """A node's election timeout, drawn during step `position`: short if its next timeout
        in the counterexample comes before its next reset, long otherwise. A short one leaves
        `SPACING` seconds for each timer step before it, so they fire first."""
        timers = 0
        for index in range(self.position + 1, len(self.actions)):
            action = self.actions[index]
            if isinstance(action, w.Timeout) and action.node == node:
                low, high = HUNT_TIMING.raft_min_timeout, HUNT_TIMING.raft_max_timeout
                delay = low + SPACING * timers
                return (delay - low) / (high - low)
            if node in self.resets[index]:
                return LONG
            if isinstance(action, (w.Timeout, w.Heartbeat)):
                timers += 1
        return LONG


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


def translate(core: PySyncObjCore, nodes: int, actions: Sequence[w.Action],
              bounds: Bounds = SEARCH_BOUNDS) -> tuple[ClusterConfig, list[Action], Tracker]:
    """The counterexample (found within `bounds`) as library actions (see the module
    docstring): the library's config (with every timeout draw it made), the actions and the
    tracker that followed them. Raises CannotApply or Diverged with the step."""
    plan = _Plan(core, nodes, actions, bounds)
    config = evolve(HUNT_TIMING, nodes=nodes)
    cluster = Cluster(config, policy=plan.draw)
    tracker = Tracker(core, cluster)
    if tracker.initial:
        raise Diverged(0, tracker.initial)
    values: dict[tuple[int, int], int] = {}
    done: list[Action] = []

    def take(step: int, action: Action) -> list[w.Action]:
        """Apply one library action; the core actions the library took for it."""
        try:
            lines = tracker.apply(action)
        except ActionNotEnabled as error:
            raise CannotApply(step, str(error)) from None
        done.append(action)
        if tracker.stopped is not None:
            raise CannotApply(step, tracker.stopped)
        if lines:
            raise Diverged(step, list(lines))
        return tracker.events

    for step, planned in enumerate(plan.actions, 1):
        plan.position = step - 1
        wanted = _renamed_action(planned, values)
        taken: list[w.Action]
        if isinstance(wanted, (w.Deliver, w.Drop, w.Duplicate)):
            pool = cluster.deliverable() if isinstance(wanted, w.Deliver) else cluster.network
            packet = next((p for p in pool if core_message(p, cluster) == wanted.message), None)
            if packet is None:
                raise CannotApply(step, f"the library has no such message in flight: "
                                  f"{show_action(wanted)}")
            link = (packet.source, packet.dest, packet.seq)
            taken = take(step, Deliver(*link) if isinstance(wanted, w.Deliver) else
                         Drop(*link) if isinstance(wanted, w.Drop) else Duplicate(*link))
        elif isinstance(wanted, (w.Timeout, w.Heartbeat)):
            taken = _timer(cluster, tracker, wanted, step, take)
        elif isinstance(wanted, w.Submit):
            leader = plan.states[step].nodes[wanted.node]
            assert leader is not None  # the counterexample's Submit applied
            values[(leader.current_term, leader.last_log_index)] = cluster.submitted + 1
            wanted = w.Submit(wanted.node, cluster.submitted + 1, wanted.key)
            taken = take(step, Submit(wanted.node))
        elif isinstance(wanted, (w.Crash, w.Restart, w.Partition, w.Heal)):
            taken = take(step, _same_action(wanted))
        else:
            raise CannotApply(step, f"{show_action(wanted)} has no library action")
        if taken != [wanted]:
            shown = ", ".join(show_action(a) for a in taken) or "nothing"
            raise CannotApply(step, f"the library took {shown} for "
                              f"{show_action(wanted)}")
    drawn = tuple(tuple(values_) for values_ in cluster.drawn)
    return evolve(config, draws=drawn), done, tracker


def _same_action(action: w.Crash | w.Restart | w.Partition | w.Heal) -> Action:
    if isinstance(action, w.Crash):
        return Crash(action.node)
    if isinstance(action, w.Restart):
        return Restart(action.node)
    if isinstance(action, w.Partition):
        return Partition(action.isolated)
    return Heal()


def _timer(cluster: Cluster, tracker: Tracker, wanted: w.Timeout | w.Heartbeat, step: int,
           take: Callable[[int, Action], list[w.Action]]) -> list[w.Action]:
    """Advance the clock to the node's timer. What fires on the way may only be the journal's
    one-second flushes (no core action) and heartbeats of leaders that have nothing to send
    (the library beats at least three times per election timeout, the untimed world need
    not): such a heartbeat leaves its leader as it was, and its messages are dropped, so the
    core's states are the counterexample's again."""
    obj = cluster.objects[wanted.node]
    if obj is None:
        raise CannotApply(step, f"n{wanted.node} is down")
    name = "raftElectionDeadline" if isinstance(wanted, w.Timeout) else "newAppendEntriesTime"
    target = _private(obj, name)
    what = "election" if isinstance(wanted, w.Timeout) else "heartbeat"
    for _ in range(100_000):
        before = tracker.world.nodes
        link_seq = dict(cluster.link_seq)
        events = take(step, NextTimer())
        fillers = [e for e in events if e != wanted]
        for event in fillers:
            if not isinstance(event, w.Heartbeat) or \
                    tracker.world.nodes[event.node] != before[event.node]:
                raise CannotApply(step, f"the library took {show_action(event)} "
                                  f"before n{wanted.node}'s {what}")
        for packet in [p for p in cluster.network if p.seq >= link_seq.get((p.source, p.dest),
                                                                           0)
                       and w.Heartbeat(p.source) in fillers]:
            take(step, Drop(packet.source, packet.dest, packet.seq))
        if wanted in events:
            return [wanted]
        if cluster.next_deadline() > target + 1:
            break
    raise CannotApply(step, f"n{wanted.node}'s {what} did not fire")


# ------------------------------------------------------------------------------ hunting


def confirm(core: PySyncObjCore, nodes: int, prop: str, actions: Sequence[w.Action],
            bounds: Bounds = SEARCH_BOUNDS) -> Hunted:
    """Translate one counterexample (found within `bounds`) and replay it on the library."""
    core_actions = tuple(actions)
    try:
        config, library, _ = translate(core, nodes, actions, bounds)
    except CannotApply as error:
        return Hunted(prop, core_actions, CANNOT_APPLY, str(error), step=error.step)
    except Diverged as error:
        return Hunted(prop, core_actions, NOT_CONFIRMED,
                      f"conformance gap at step {error.step}: " + "; ".join(error.lines),
                      step=error.step)
    except AdapterFault as fault:
        return Hunted(prop, core_actions, CANNOT_APPLY, f"adapter fault: {fault}")
    violation, steps = first_violation(config, library, prop)
    if violation is not None:
        kept = tuple(library[:steps])
        # The record checks the property confirmed (the same step may break others).
        outcome, _, _ = replay(config, kept, ignored=ignoring_all_but(prop))
        return Hunted(prop, core_actions, CONFIRMED, violation.detail, config, kept, outcome,
                      ignored=ignoring_all_but(prop))
    outcome, applied, _ = replay(config, library)
    return Hunted(prop, core_actions, NOT_CONFIRMED,
                  f"the library followed every step and {prop} holds on it throughout "
                  f"(it ends {outcome.label})", config, tuple(applied), outcome)


def first_violation(config: ClusterConfig, actions: Sequence[Action],
                    prop: str) -> tuple[Violation | None, int]:
    """The first violation of property `prop` on the library running `actions`, and the
    number of actions up to it."""
    cluster = Cluster(config)
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


def hunt(core: PySyncObjCore, *, nodes: int = 3, seed: int = 0, examples: int | None = None,
         seconds: float | None = None, engine: str = "fuzz", bounds: Bounds | None = None,
         properties: Properties = RAFT_PROPERTIES) -> tuple[list[Hunted], Search]:
    """Search the core for every property of `properties` it breaks (`search`, within
    `bounds`, default the engine's), confirm each counterexample on the library."""
    bounds = ENGINE_BOUNDS[engine] if bounds is None else bounds
    model = w.Model(core, w.Config(cluster_size=nodes), bounds, properties=properties)
    found = search(model, engine, seed, examples, seconds)
    hunted = [confirm(core, nodes, prop, actions, bounds)
              for prop, actions in found.counterexamples]
    return hunted, found


def run_cli(release: str | None, nodes: int, seed: int, examples: int | None,
            seconds: float | None, as_json: bool, save: str | None, engine: str = "fuzz",
            bounds: Bounds | None = None, properties: Properties = RAFT_PROPERTIES) -> int:
    """`raftcheck hunt --core pysyncobj` (model/cli/hunt.py)."""
    try:
        core = faithful_core(release or LIBRARY_VERSION)
    except NoFaithfulCore as error:
        raise ValueError(str(error)) from None
    if release not in (None, LIBRARY_VERSION):
        raise ValueError(f"the installed library is pysyncobj {LIBRARY_VERSION}; install "
                         f"pysyncobj=={release} to hunt on that release")
    if not 2 <= nodes <= 9:
        raise ValueError(f"--nodes must be between 2 and 9, got {nodes}")
    ignoring(properties)  # the properties the library can be checked for
    check_budget(engine, examples)
    bounds = ENGINE_BOUNDS[engine] if bounds is None else bounds
    started = time.monotonic()
    if not as_json:
        print(f"raftcheck hunt: core={core.name} (faithful to the installed pysyncobj "
              f"{LIBRARY_VERSION}) nodes={nodes} seed={seed} engine={engine}")
        print(f"bounds: {bounds.describe()}")
    hunted, searched = hunt(core, nodes=nodes, seed=seed, examples=examples,
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
                print(f"saved: {saved}  (replay: raftcheck fuzz --core pysyncobj --replay "
                      f"{saved})")
            else:
                print(f"   {found.reason}")
    elapsed = time.monotonic() - started
    confirmed = sum(row["verdict"] == CONFIRMED for row in rows)
    if as_json:
        print(json.dumps({"engine": "hunt", "search_engine": engine, "core": core.name,
                          "library": LIBRARY_VERSION, "nodes": nodes, "seed": seed,
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
