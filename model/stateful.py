"""The Hypothesis engine: a `RuleBasedStateMachine` over the world's one action space.

Each run first draws a swarm (`choose_swarm`: which optional action kinds, mostly faults, it
leaves out, its own tighter bounds inside the model's, `swarm_bounds`, and which servers'
election timers fire, `swarm_campaigners`), then takes steps.
A step (`step`) is one weighted draw of an action kind among
those the world offers (deliveries by message kind, whole elections and replication rounds as
cascades, single timers, client requests, faults), then a draw of an action of that kind. No
`assume` and no preconditions that fail, so no run is thrown away. Every world action is
checked against every transition and state property the moment it is taken (a cascading step
takes several); on a violation the machine raises `PropertyViolated` with the violation and
the actions taken. `model.fuzz` runs the machine and shrinks what it finds.

Why one weighted rule rather than one rule per kind: with a rule per kind, Hypothesis picks
uniformly among the valid rules, so faults (six kinds) and timeouts crowd out the message
deliveries that make progress, and evaluating every rule's precondition at every step costs
more than the step. Weights say what a run should mostly do; the swarm gives the variety
Hypothesis' per-rule feature flags would.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable, Hashable, Iterator
from typing import Any

from attrs import define, evolve, field
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from raftcheck.impl.types import (
    AppendEntries,
    AppendEntriesResponse,
    RequestVote,
    RequestVoteResponse,
)
from raftcheck.model import presets, seam
from raftcheck.model.world import (
    Bounds,
    CoreFault,
    Crash,
    Drop,
    Duplicate,
    Heal,
    Heartbeat,
    Partition,
    Restart,
    Submit,
    Tick,
    Timeout,
)
from raftcheck.properties import Violation

FUZZ_BOUNDS = presets.FUZZ  # generous: Hypothesis explores depth rather than breadth

# Settings profiles: `dev` for a quick local loop, `ci` for the default test run, `deep` for
# long runs. Chosen with RAFTCHECK_PROFILE (tests) or --profile (raftcheck fuzz).
PROFILES: dict[str, dict[str, Any]] = {
    "dev": {"max_examples": 200, "stateful_step_count": 50},
    "ci": {"max_examples": 400, "stateful_step_count": 50},
    "deep": {"max_examples": 20000, "stateful_step_count": 80},
}
COMMON: dict[str, Any] = {
    "deadline": None,
    "database": None,  # runs are reproduced from the seed, not from a local cache
    # Long runs are large inputs by design (a run of 300 steps is a few thousand choices):
    # these checks would fail them before they start, as a traceback.
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much,
                              HealthCheck.large_base_example, HealthCheck.data_too_large],
}


def profile_settings(name: str, **overrides: Any) -> settings:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose from {', '.join(PROFILES)}")
    return settings(**{**COMMON, **PROFILES[name], **overrides})


for _profile in PROFILES:
    settings.register_profile(f"raftcheck-{_profile}", profile_settings(_profile))


class PropertyViolated(AssertionError):
    """A safety property failed. Carries the witness and the actions that led to it."""

    def __init__(self, violation: Violation, actions: list[Any]) -> None:
        super().__init__(f"{violation} after {len(actions)} actions")
        self.violation = violation
        self.actions = actions


class BudgetSpent(KeyboardInterrupt):
    """A batch has started as many runs as it was given (`RunStats.limit`): raised as the
    next run starts, before it takes a step, to end the batch. Hypothesis counts only the
    runs it considers valid toward `max_examples` and keeps going after runs it cut short
    (a run that used up its choice buffer), so its own count overruns the budget. It is a
    KeyboardInterrupt because that is the one exception Hypothesis' engine lets through at
    once, unrecorded: any other is recorded as the run's outcome, and a later run that
    shares its first choices then fails Hypothesis' consistency check. `model.fuzz`'s
    `run_batch` catches it; it never reaches a caller."""


@define
class RunStats:
    """What a fuzzing run saw, across all the examples Hypothesis ran."""

    steps: int = 0
    examples: int = 0
    limit: int | None = None  # the run count at which the current batch ends
    # A run of the current batch failed: what Hypothesis runs after it (its replay of the
    # failure) is not counted, and does not end the batch.
    failed: bool = False
    distinct: set[int] = field(factory=set)
    goals: set[str] = field(factory=set)
    started: float = field(factory=time.monotonic)
    on_step: Callable[[RunStats], None] | None = None
    # States are told apart by `hash`, which is the same in forked processes but not across
    # processes started apart (Ray's: strings hash by a per-process seed, None by address on
    # Python 3.11). Those count by `fingerprint` (the model's, of the exact state) instead,
    # computed once per hash. None: by hash.
    fingerprint: Callable[[Any], int] | None = None
    fingerprints: dict[int, int] = field(factory=dict, repr=False)

    def record(self, state: Hashable) -> None:
        if self.failed:
            return
        self.steps += 1
        key = hash(state)
        if self.fingerprint is not None:
            known = self.fingerprints.get(key)
            if known is None:
                known = self.fingerprints[key] = self.fingerprint(state)
            key = known
        self.distinct.add(key)
        if self.on_step is not None:
            self.on_step(self)

    def merge(self, other: RunStats) -> None:
        """Add what runs in another process saw (a batch of `model.fuzz`'s workers)."""
        self.examples += other.examples
        self.steps += other.steps
        self.distinct |= other.distinct
        self.goals |= other.goals


# The groups `RaftMachine.candidates` sorts actions into: deliveries by message kind, every
# other action by its own kind.
ALL_KINDS = (RequestVote, RequestVoteResponse, AppendEntries, AppendEntriesResponse, Timeout,
             Heartbeat, Tick, Submit, Drop, Duplicate, Crash, Restart, Partition, Heal)
DATA = st.data()
ELECTION, REPLICATION = "election", "replication round"  # the cascading kinds (`cascade`)
# How often each kind is chosen when offered: progress (deliveries, whole elections and
# replication rounds, client requests) outweighs single timers and faults, which are the spice.
# Client requests weigh 5: the deepest bugs (Figure 8, length-only votes, stale appends) need
# entries written by two leaders at one index and one of them committed; at a lower weight many
# runs write nothing (docs/zoo.md, "How the Hypothesis engine finds them").
WEIGHTS: tuple[tuple[Any, int], ...] = (
    (RequestVote, 2), (RequestVoteResponse, 2), (AppendEntries, 3), (AppendEntriesResponse, 3),
    (ELECTION, 2), (REPLICATION, 3), (Submit, 5), (Tick, 2),
    (Timeout, 1), (Heartbeat, 1), (Drop, 1), (Duplicate, 1), (Crash, 1), (Restart, 1),
    (Partition, 1), (Heal, 1),
)
# Optional kinds, each kept by a run with odds 1 in n (leaving it out is the draw shrinking
# moves toward). A lone election timeout (a candidacy outside a whole election) is kept 1 run
# in 4: each one spends a term, and runs that keep it reach the term bound with half their
# steps left; deep finds come mostly from runs without it.
OPTIONAL: dict[Any, int] = {Timeout: 4, Heartbeat: 2, Drop: 2, Duplicate: 2, Crash: 2,
                            Restart: 2, Partition: 2, Heal: 2}
# Swarm: a run's own caps on messages in flight and on log length, beside the bounds' own
# (FUZZ_BOUNDS: 12 messages, so a run's cap is 4, 6 or 12).
SWARM_NETWORK = (4, 6)
SWARM_LOG = (1, 2)
CASCADE = 12  # deliveries one cascading rule may make
# A message a cascade follows is delivered (3 times in 4) or held back; in runs whose swarm
# keeps duplication it may also be duplicated: delivered now, its copy later in the cascade.
DELIVER, HOLD, DUPLICATE = "deliver", "hold", "duplicate"
FATE = (DELIVER, DELIVER, DELIVER, HOLD)
FATE_WITH_DUPLICATES = (DELIVER, DELIVER, DELIVER, HOLD, DUPLICATE)


def build_machine(model: seam.AnyModel,
                  stats: RunStats | None = None) -> type[RuleBasedStateMachine]:
    """A state machine class exploring `model` (any `model.seam.Model`: the Raft world, or
    a lockstep pair of cores); `stats`, if given, accumulates across runs."""
    run_stats = stats if stats is not None else RunStats()

    class RaftMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            if not run_stats.failed and run_stats.limit is not None and \
                    run_stats.examples >= run_stats.limit:
                raise BudgetSpent
            self.actions: list[Any] = []
            self.model = model
            self.failed = False  # this run has failed (its teardown then checks nothing)
            try:
                self.world = model.initial_state()
            except CoreFault as fault:  # the core failed: a finding, reported like a violation
                self.fail_if(fault.violation())
            self._candidates: dict[Hashable, list[Any]] | None = None
            self._successors: dict[Any, Any] = {}
            self.draw: Callable[[int], int]  # set by choose_swarm, the first rule of a run
            self.campaigners: frozenset[int] = frozenset()  # likewise
            if not run_stats.failed:
                run_stats.examples += 1
            run_stats.record(self.world)

        # ---------------------------------------------------------- plumbing

        def candidates(self, kind: Hashable) -> list[Any]:
            if self._candidates is None:
                grouped: dict[Hashable, list[Any]] = {}
                for action in self.model.candidate_actions(self.world):
                    node = self.model.election_of(action)
                    if node is not None and node not in self.campaigners:
                        continue
                    grouped.setdefault(self.model.kind_of(action), []).append(action)
                self._candidates = grouped
            return self._candidates.get(kind, [])

        def successor(self, action: Any) -> Any:
            """The next state, or None if it falls outside the bounds (cached per state)."""
            if action not in self._successors:
                try:
                    after = self.model.bounded_next(self.world, action)
                except CoreFault as fault:  # reported on the action the core failed on
                    self.actions.append(action)
                    self.fail_if(fault.violation())
                self._successors[action] = after
            return self._successors[action]

        def enabled(self, *kinds: Hashable) -> bool:
            """Whether the world offers an action of one of `kinds` at all. Cheap on purpose:
            Hypothesis evaluates every precondition at every step, so the guard and bounds of
            each action are only checked when one is drawn (`draw_action`)."""
            return any(self.candidates(kind) for kind in kinds)

        def draw_action(self, kind: Hashable) -> tuple[Any, Any] | None:
            """An enabled action of `kind` within the bounds: the drawn candidate, or the next
            one after it that is enabled; None when none is (the rule then does nothing)."""
            candidates = self.candidates(kind)
            start = self.draw(len(candidates))
            for offset in range(len(candidates)):
                action = candidates[(start + offset) % len(candidates)]
                after = self.successor(action)
                if after is not None:
                    return action, after
            return None

        def take(self, kind: Hashable) -> tuple[Any, ...]:
            chosen = self.draw_action(kind)
            return () if chosen is None else self.apply(*chosen)

        def apply(self, action: Any, after: Any) -> tuple[Any, ...]:
            """Take one action; return the messages it put in flight."""
            before = self.world
            self.actions.append(action)
            self.world, self._candidates, self._successors = after, None, {}
            run_stats.record(after)
            run_stats.goals |= self.model.goals_reached(after)
            self.fail_if(self.model.check_step(before, action, after))
            return self.model.sent(before, after)

        def cascade(self, kind: Hashable) -> None:
            """Take an action of `kind`, then follow the messages it causes: each message sent
            is delivered or left in flight by a draw, and what its delivery sends is followed in
            turn (at most CASCADE deliveries). One rule thus runs a whole election or
            replication round (timeout, requests, answers, retries) with some messages held
            back (or, when the run duplicates, some delivered twice: a retransmitted vote, or
            a stale AppendEntries arriving again late), which random single steps rarely
            manage before the next timeout disrupts it. The trace is still the individual
            world actions, and shrinks as such."""
            queue = list(self.take(kind))
            delivered = 0
            while queue and delivered < CASCADE:
                message = queue.pop(0)
                fate = self.fate[self.draw(len(self.fate))]
                if fate == HOLD:
                    continue
                deliver = self.model.delivery(self.world, message)
                if fate == DUPLICATE and deliver is not None and \
                        self.successor(deliver) is not None:
                    copy = self.model.duplication(self.world, message)
                    copied = None if copy is None else self.successor(copy)
                    if copied is not None:  # within the bounds on messages in flight
                        self.apply(copy, copied)
                        queue.append(message)  # the copy arrives later, after the others
                deliver = self.model.delivery(self.world, message)
                after = None if deliver is None else self.successor(deliver)
                if after is None:  # already gone, across a partition, or outside the bounds
                    continue
                delivered += 1
                queue.extend(self.apply(deliver, after))

        def fail_if(self, violation: Violation | None) -> None:
            if violation is not None:
                run_stats.failed = self.failed = True
                raise PropertyViolated(violation, list(self.actions))

        # ---------------------------------------------------------- the rules

        @initialize(data=DATA)
        def choose_swarm(self, data: st.DataObject) -> None:
            """Swarm testing (Groce et al.): each run leaves out a random subset of the
            optional action kinds, so some runs never crash, some drop and duplicate a lot,
            some only ever time out in whole elections. Runs that leave a fault out get
            deeper into the protocol; runs that keep it exercise it more. It also draws the
            run's own tighter bounds (`swarm_bounds`) and which servers' election timers
            ever fire (`swarm_campaigners`). Every later choice of the run is drawn through
            `self.draw` (`choice_source`)."""
            self.draw = choice_source(data)
            self.kinds = [(kind, weight) for kind, weight in WEIGHTS if self.keeps(kind)]
            self.model = model.with_bounds(swarm_bounds(model.bounds, self.draw))
            self.campaigners = swarm_campaigners(model.cluster_size, self.draw)
            duplicates = model.bounds.duplicate and any(kind is Duplicate
                                                        for kind, _ in self.kinds)
            self.fate = FATE_WITH_DUPLICATES if duplicates else FATE

        def keeps(self, kind: Any) -> bool:
            """Whether this run keeps `kind`: always unless it is optional, then with odds
            1 in OPTIONAL[kind], drawn (the zero draw, where shrinking goes, leaves it out)."""
            odds = OPTIONAL.get(kind)
            return odds is None or self.draw(odds) == odds - 1

        @rule()
        def step(self) -> None:
            """One weighted choice of an action kind among those the world offers (deliveries
            by message kind, whole elections and replication rounds, single timers, client
            requests, faults), then an action of that kind drawn from the enabled ones, in
            order, so shrinking moves toward the first."""
            offered = [(kind, weight) for kind, weight in self.kinds if self.enabled(
                Timeout if kind is ELECTION else Heartbeat if kind is REPLICATION else kind)]
            if not offered:
                return  # the edge of the bounds: every term used, nothing in flight
            pick = self.draw(sum(weight for _, weight in offered))
            kind = next(kind for kind, bound in _cumulative(offered) if pick < bound)
            if kind is ELECTION:
                self.cascade(Timeout)
            elif kind is REPLICATION:
                self.cascade(Heartbeat)
            else:
                self.take(kind)

        def teardown(self) -> None:
            """The stabilisation phase, when the model carries progress properties
            (`Model.settle`, model/liveness.py): the run's faults stop and the world runs
            on deterministically from its last state. What it finds is reported on the run's
            own actions: the phase is a function of them, replayed by the shrinker."""
            settle = getattr(self.model, "settle", None)
            # Hypothesis calls this in a `finally`: a run ending on an exception (a failed
            # rule, or Hypothesis cutting the run short) is not a finished run.
            if self.failed or settle is None or sys.exc_info()[0] is not None:
                return
            settled = settle(self.world)
            if settled is not None:
                self.fail_if(settled.violation)

        # ---------------------------------------------------------- every state property

        @invariant()
        def figure_3_and_auxiliary_properties(self) -> None:
            """Every property the model carries, on the initial state; `apply` checks each
            later step itself, since one cascading rule passes through several."""
            if not self.actions:
                self.fail_if(self.model.check_initial(self.world))

    RaftMachine.__name__ = RaftMachine.__qualname__ = f"RaftMachine_{_name(model)}"
    return RaftMachine


def _name(model: Any) -> str:
    """A class-name-safe label for the machine (the core's name, or both cores' names)."""
    label = getattr(getattr(model, "core", None), "name", None) or type(model).__name__
    return "".join(ch if ch.isalnum() else "_" for ch in str(label))


def swarm_bounds(bounds: Bounds, draw: Callable[[int], int]) -> Bounds:
    """A run's own bounds, drawn inside the model's: tight ones force what wide ones make
    rare (with a log bound of 1 every leader that writes, writes at index 1, so logs
    conflict; with 4 messages in flight a leader rarely both hears of a new term and
    replicates), wide ones let runs go deep. Shrinking moves toward the tightest."""
    def tighter(name: str, options: tuple[int, ...]) -> int:
        bound = getattr(bounds, name)
        choices = sorted({min(option, bound) for option in options} | {bound})
        return int(choices[draw(len(choices))])

    return evolve(bounds, max_log=tighter("max_log", SWARM_LOG),
                  max_messages=tighter("max_messages", SWARM_NETWORK))


def swarm_campaigners(cluster_size: int, draw: Callable[[int], int]) -> frozenset[int]:
    """The servers whose election timers fire in a run: all of them one run in
    `cluster_size + 1`, otherwise all but one (drawn). The deep bugs are stories of two
    rivals taking turns to lead (Figure 8 needs four such elections: n0, n1, n0, n1), and a
    third server campaigning in between spends the terms and overwrites the logs the story
    needs; the one left out still votes and replicates. A single server always campaigns.
    Only untimed worlds have election timeouts as actions; in timed ones the clock decides.
    Measured: docs/zoo.md, "Hit rates, for deciding machine changes"."""
    everyone = frozenset(range(cluster_size))
    pick = draw(cluster_size + 1) if cluster_size > 1 else 0
    return everyone if pick == 0 else everyone - {pick - 1}


def choice_source(data: st.DataObject) -> Callable[[int], int]:
    """The run's source of choices: `draw(n)` is an index in range(n), drawn straight from
    Hypothesis' choice sequence (`ConjectureData.draw_integer`, which `st.integers(0, n - 1)`
    itself calls). Going through a strategy per draw costs ~7x more (its bookkeeping for
    printing a falsifying example, which we render ourselves from the world actions): run
    throughput rises by ~45% (docs/performance.md). `DataObject.conjecture_data` is
    semi-public; if a Hypothesis lacks it, draws go through the strategy, same choices."""
    conjecture = getattr(data, "conjecture_data", None)
    draw_integer = getattr(conjecture, "draw_integer", None)
    if draw_integer is None:  # pragma: no cover - depends on the Hypothesis version
        return lambda n: int(data.draw(st.integers(0, n - 1)))
    return lambda n: int(draw_integer(0, n - 1))


def _cumulative(weighted: list[tuple[Any, int]]) -> Iterator[tuple[Any, int]]:
    total = 0
    for kind, weight in weighted:
        total += weight
        yield kind, total
