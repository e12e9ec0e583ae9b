"""The seam between models and engines (Stateright's `Model` trait, in Python).

An engine is written once against `Model` and runs on any model: the Raft world
(`raftcheck.model.world.Model`: one core in a cluster with a faulty network) and the lockstep
pair of two cores (`raftcheck.model.lockstep.Lockstep`, whose property is "no divergence") are
the two this package ships. The Hypothesis machine (`model.stateful`), the fuzzing driver
(`model.fuzz`) and the action-level shrinker (`model.shrink`) take a `Model`.

What a model provides:

* states and actions: `initial_state()`, the `candidate_actions(state)` whose guards hold, in
  a fixed order, and `bounded_next(state, action)`, the next state or None when it falls
  outside the bounds: the one place the bounds are decided;
* its messages, for engines that follow causality (a cascade delivers what a step sent):
  `sent(before, after)`, and the actions that deliver or duplicate one in a state;
* the properties it carries: `check_initial(state)` and `check_step(before, action, after)`
  return the first `Violation` or None, `goals_reached(state)` the reachability goals met;
* for the exhaustive engines: `successors(state)`, `run(actions)`, `check_known` (the
  transition properties alone, for a step into a state already checked), fingerprints
  (`fingerprinter`, `state_bytes`, whether states are reduced under symmetry) and a compact
  `encode`/`decode` for worker processes and checkpoints;
* `with_bounds(bounds)` (the swarm draws tighter bounds per run), `kind_of(action)` (the
  groups an engine weighs), `election_of(action)` (the node an election timeout starts),
  `reaim(state, action)` (the same action on a message that changed after an edit, for
  shrinking), and `render(actions, violation)` / `snippet(actions)` for reports.

Properties and engines never import the command line; only `model.cli` prints.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, TypeVar

from raftcheck.model.state import Bounds, Config, ModelError

if TYPE_CHECKING:
    from raftcheck.properties.violation import Violation

S = TypeVar("S", bound=Hashable)  # a state: an immutable value
A = TypeVar("A", bound=Hashable)  # an action
M = TypeVar("M", bound=Hashable)  # a message in flight


class Model(Protocol[S, A, M]):
    """What every engine takes. See the module docstring for the contract."""

    @property
    def bounds(self) -> Bounds: ...

    @property
    def cluster_size(self) -> int: ...

    @property
    def goal_names(self) -> tuple[str, ...]: ...  # the goals the bounds allow

    @property
    def ruled_out_goals(self) -> tuple[str, ...]: ...  # the goals the bounds rule out

    def with_bounds(self, bounds: Bounds) -> Model[S, A, M]: ...

    def initial_state(self) -> S: ...

    def candidate_actions(self, state: S) -> Iterable[A]: ...

    def bounded_next(self, state: S, action: A) -> S | None: ...

    def successor(self, state: S, action: A) -> S | None: ...

    def kind_of(self, action: A) -> object: ...

    def election_of(self, action: A) -> int | None: ...

    def sent(self, before: S, after: S) -> tuple[M, ...]: ...

    def delivery(self, state: S, message: M) -> A | None: ...

    def duplication(self, state: S, message: M) -> A | None: ...

    def reaim(self, state: S, action: A) -> A | None: ...

    def check_initial(self, state: S) -> Violation | None: ...

    def check_step(self, before: S, action: A, after: S) -> Violation | None: ...

    def goals_reached(self, state: S) -> frozenset[str]: ...

    # -- what the exhaustive engines (model.explore, model/search/) need besides

    @property
    def name(self) -> str: ...

    @property
    def config(self) -> Config: ...

    @property
    def transition_names(self) -> frozenset[str]: ...

    def successors(self, state: S) -> Iterator[tuple[A, S]]: ...

    def run(self, actions: list[A]) -> list[S]: ...

    def check_known(self, before: S, action: A, after: S) -> Violation | None: ...

    def symmetric(self, symmetry: bool) -> bool: ...

    def fingerprinter(self, symmetry: bool) -> Callable[[S], int]: ...

    def state_bytes(self, state: S, reduce: bool) -> bytes: ...

    def encode(self, state: S) -> Any: ...

    def decode(self, data: Any) -> S: ...

    def identity(self) -> list[object]: ...

    def render(self, actions: Sequence[A], violation: Violation | None, title: str) -> str: ...

    def snippet(self, actions: Sequence[A]) -> str: ...


# Any model, whatever its state, action and message types (engines' signatures).
AnyModel: TypeAlias = "Model[Any, Any, Any]"


H = TypeVar("H", bound=Hashable)


def added(before: Sequence[H], after: Sequence[H]) -> tuple[H, ...]:
    """The items of the bag `after` beyond those of the bag `before`: what a step put in
    flight (a model's `sent`)."""
    remaining = Counter(before)
    out = []
    for item in after:
        if remaining[item]:
            remaining[item] -= 1
        else:
            out.append(item)
    return tuple(out)


# ------------------------------------------------------------------------------ derived once
# What every model offers in terms of its own `candidate_actions` and `bounded_next`; a model
# class delegates to these rather than writing the loops again.


def successors_of(model: Model[S, A, Any], state: S) -> Iterator[tuple[A, S]]:
    """(action, next state) for every enabled action, in enumeration order; a successor
    outside the bounds is outside the model and left out."""
    for action in model.candidate_actions(state):
        after = model.bounded_next(state, action)
        if after is not None:
            yield action, after


def successor_of(model: Model[S, A, Any], state: S, action: A) -> S | None:
    """The state `action` leads to, or None if it is not enabled in `state` (its guard fails
    or the result is outside the bounds)."""
    if action not in model.candidate_actions(state):
        return None
    return model.bounded_next(state, action)


def run_of(model: Model[S, A, Any], actions: Sequence[A], state: S | None = None) -> list[S]:
    """The states visited by applying `actions` in order from `state` (the initial state by
    default), first state included. Raises ModelError if an action is not enabled."""
    states = [model.initial_state() if state is None else state]
    for number, action in enumerate(actions, 1):
        after = model.successor(states[-1], action)
        if after is None:
            raise ModelError(f"step {number}: {action!r} is not enabled")
        states.append(after)
    return states
