"""The Hypothesis engine: a thin `RuleBasedStateMachine` over the world's one action space.

One `@rule` per action kind, guarded by a `@precondition` (no `assume`, so no run is thrown
away), choosing among the enabled actions of that kind by an integer that shrinks toward the
first one. Transition properties are checked inside the rule that made the transition; state
properties are `@invariant`s, so the initial state is checked too. On a violation the machine
raises `PropertyViolated`, whose message is the numbered trace of the *shrunk* run (Hypothesis
re-runs the minimal example last) and the replayable action list.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from attrs import define, field
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from impl.types import AppendEntries, AppendEntriesResponse, RequestVote, RequestVoteResponse
from model.trace import render_trace, replayable
from model.world import (
    Action,
    Bounds,
    Crash,
    Deliver,
    Drop,
    Duplicate,
    Heal,
    Heartbeat,
    Model,
    Partition,
    Restart,
    Submit,
    Tick,
    Timeout,
    World,
)
from properties import STATE_PROPERTIES, TRANSITION_PROPERTIES, Violation, goals_reached

# Bounds for sampling: generous, because Hypothesis explores depth rather than breadth. Terms
# and logs are kept small enough that elections and conflicts stay frequent.
FUZZ_BOUNDS = Bounds(max_term=6, max_log=4, values=2, max_messages=12, max_crashes=2,
                     max_partitions=2, drop=True, duplicate=True)

# Settings profiles: `dev` for a quick local loop, `ci` for the default test run, `deep` for
# long runs. Chosen with RAFTCHECK_PROFILE (tests) or --profile (raftcheck fuzz).
PROFILES: dict[str, dict[str, Any]] = {
    "dev": {"max_examples": 200, "stateful_step_count": 50},
    "ci": {"max_examples": 1000, "stateful_step_count": 50},
    "deep": {"max_examples": 20000, "stateful_step_count": 80},
}
COMMON: dict[str, Any] = {
    "deadline": None,
    "database": None,  # runs are reproduced from the seed, not from a local cache
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much],
}


def profile_settings(name: str, **overrides: Any) -> settings:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose from {', '.join(PROFILES)}")
    return settings(**{**COMMON, **PROFILES[name], **overrides})


for _name in PROFILES:
    settings.register_profile(f"raftcheck-{_name}", profile_settings(_name))


class PropertyViolated(AssertionError):
    """A safety property failed. Carries the witness and the actions that led to it."""

    def __init__(self, violation: Violation, actions: list[Action], text: str) -> None:
        super().__init__(text)
        self.violation = violation
        self.actions = actions


@define
class RunStats:
    """What a fuzzing run saw, across all the examples Hypothesis ran."""

    steps: int = 0
    examples: int = 0
    distinct: set[int] = field(factory=set)
    goals: set[str] = field(factory=set)
    started: float = field(factory=time.monotonic)
    on_step: Callable[[RunStats], None] | None = None

    def record(self, world: World) -> None:
        self.steps += 1
        self.distinct.add(hash(world))
        if self.on_step is not None:
            self.on_step(self)


# The groups `RaftMachine.candidates` sorts actions into: deliveries by message kind, every
# other action by its own kind.
ALL_KINDS = (RequestVote, RequestVoteResponse, AppendEntries, AppendEntriesResponse, Timeout,
             Heartbeat, Tick, Submit, Drop, Duplicate, Crash, Restart, Partition, Heal)
CHOICE = st.integers(min_value=0, max_value=255)


def build_machine(model: Model, stats: RunStats | None = None) -> type[RuleBasedStateMachine]:
    """A state machine class exploring `model`; `stats`, if given, accumulates across runs."""
    run_stats = stats if stats is not None else RunStats()

    class RaftMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.world = model.initial_state()
            self.actions: list[Action] = []
            self._candidates: dict[type, list[Action]] | None = None
            self._successors: dict[Action, World | None] = {}
            run_stats.examples += 1
            run_stats.record(self.world)

        # ---------------------------------------------------------- plumbing

        def kind_of(self, action: Action) -> type:
            # Deliveries are grouped by the kind of message they deliver.
            return type(action.message) if isinstance(action, Deliver) else type(action)

        def candidates(self, kind: type) -> list[Action]:
            if self._candidates is None:
                grouped: dict[type, list[Action]] = {}
                for action in model.candidate_actions(self.world):
                    grouped.setdefault(self.kind_of(action), []).append(action)
                self._candidates = grouped
            return self._candidates.get(kind, [])

        def successor(self, action: Action) -> World | None:
            """The next state, or None if it falls outside the bounds (cached per state)."""
            if action not in self._successors:
                after = model.next_state(self.world, action)
                fits = len(after.network) <= model.bounds.max_messages
                self._successors[action] = after if fits else None
            return self._successors[action]

        def options(self, kind: type) -> list[tuple[Action, World]]:
            pairs = ((action, self.successor(action)) for action in self.candidates(kind))
            return [(action, after) for action, after in pairs if after is not None]

        def enabled(self, *kinds: type) -> bool:
            """Preconditions stop at the first enabled action instead of computing them all:
            Hypothesis evaluates them for every rule at every step, shrinking included."""
            return any(self.successor(action) is not None
                       for kind in kinds for action in self.candidates(kind))

        def take(self, kinds: type | tuple[type, ...], choice: int) -> None:
            kinds = kinds if isinstance(kinds, tuple) else (kinds,)
            options = [option for kind in kinds for option in self.options(kind)]
            action, after = options[choice % len(options)]
            before = self.world
            self.actions.append(action)
            self.world, self._candidates, self._successors = after, None, {}
            run_stats.record(after)
            run_stats.goals |= goals_reached(after)
            for prop in TRANSITION_PROPERTIES.values():
                self.fail_if(prop(before, after))

        def fail_if(self, violation: Violation | None) -> None:
            if violation is None:
                return
            text = (render_trace(model, self.actions, violation, title="Counterexample")
                    + "\n\nReplay with Model(core, config, bounds).run(actions):\n"
                    + replayable(self.actions))
            raise PropertyViolated(violation, list(self.actions), text)

        # ---------------------------------------------------------- one rule per action kind

        # Delivery is split by message kind so that progress (elections, replication,
        # commits) is not drowned out by the many fault rules when Hypothesis picks a rule.

        @precondition(lambda self: self.enabled(RequestVote))
        @rule(choice=CHOICE)
        def deliver_request_vote(self, choice: int) -> None:
            self.take(RequestVote, choice)

        @precondition(lambda self: self.enabled(RequestVoteResponse))
        @rule(choice=CHOICE)
        def deliver_request_vote_response(self, choice: int) -> None:
            self.take(RequestVoteResponse, choice)

        @precondition(lambda self: self.enabled(AppendEntries))
        @rule(choice=CHOICE)
        def deliver_append_entries(self, choice: int) -> None:
            self.take(AppendEntries, choice)

        @precondition(lambda self: self.enabled(AppendEntriesResponse))
        @rule(choice=CHOICE)
        def deliver_append_entries_response(self, choice: int) -> None:
            self.take(AppendEntriesResponse, choice)

        @precondition(lambda self: self.enabled(Timeout))
        @rule(choice=CHOICE)
        def election_timeout(self, choice: int) -> None:
            self.take(Timeout, choice)

        @precondition(lambda self: self.enabled(Heartbeat))
        @rule(choice=CHOICE)
        def heartbeat_timeout(self, choice: int) -> None:
            self.take(Heartbeat, choice)

        @precondition(lambda self: self.enabled(Tick))
        @rule()
        def tick(self) -> None:
            self.take(Tick, 0)

        @precondition(lambda self: self.enabled(Submit))
        @rule(choice=CHOICE)
        def client_request(self, choice: int) -> None:
            self.take(Submit, choice)

        # Faults come in three rules rather than six, each choosing among its kinds, so that
        # a run spends most of its steps making progress and faults stay the spice.

        @precondition(lambda self: self.enabled(Drop, Duplicate))
        @rule(choice=CHOICE)
        def network_fault(self, choice: int) -> None:
            """Drop or duplicate an in-flight message."""
            self.take((Drop, Duplicate), choice)

        @precondition(lambda self: self.enabled(Crash, Restart))
        @rule(choice=CHOICE)
        def crash_or_restart(self, choice: int) -> None:
            self.take((Restart, Crash), choice)

        @precondition(lambda self: self.enabled(Partition, Heal))
        @rule(choice=CHOICE)
        def partition_or_heal(self, choice: int) -> None:
            self.take((Heal, Partition), choice)

        @precondition(lambda self: not self.enabled(*ALL_KINDS))
        @rule()
        def nothing_enabled(self) -> None:
            """A stuttering step for a world that has reached the edge of its bounds (every
            term used up, no message in flight, no fault budget left): nothing can happen."""

        # ---------------------------------------------------------- every state property

        @invariant()
        def figure_3_and_auxiliary_properties(self) -> None:
            for prop in STATE_PROPERTIES.values():
                self.fail_if(prop(self.world))

    RaftMachine.__name__ = RaftMachine.__qualname__ = f"RaftMachine_{model.core.name}"
    return RaftMachine
