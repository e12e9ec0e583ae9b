"""Shrinking a counterexample at the level of world actions.

Hypothesis' own shrinker works on the choice sequence behind a run; for long Raft runs that
is slow (minutes) because most edits make later choices pick different actions. Here the
actions themselves are edited: delete chunks of them (delta debugging, halving the chunk size)
as long as the run stays executable and still violates the *same* property, and cut the run at
its first violation. Every candidate is replayed from the initial state through the one
action space, so the result is a real, replayable run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar, cast

from attrs import evolve, frozen

from raftcheck.model import seam
from raftcheck.model.world import (
    CORE_FAULT,
    Action,
    Bounds,
    CoreFault,
    Crash,
    Drop,
    Duplicate,
    Model,
    ModelError,
    Partition,
    Submit,
)
from raftcheck.properties import Violation

T = TypeVar("T")
A = TypeVar("A")


@frozen
class Outcome:
    """A replay that violated a property: the actions actually taken, up to the violation."""

    actions: tuple[Any, ...]
    violation: Violation


def first_violation(model: seam.Model[Any, A, Any], actions: Sequence[A]) -> Outcome | None:
    """Replay `actions` leniently and return the first property violated, or None.

    Lenient, because deleting an earlier action changes what is in flight later: an action
    that is not enabled is re-aimed by the model (`reaim`: the Raft world aims a message
    action whose exact message is gone at the newest in-flight message of the same kind
    between the same nodes), and skipped if it still is not enabled. The returned actions
    are the ones really taken, so they replay strictly. A core that fails (CoreFault) is a
    finding on the action it failed on, named `CORE_FAULT`."""
    try:
        state = model.initial_state()
    except CoreFault as fault:
        return Outcome((), fault.violation())
    violation = model.check_initial(state)
    if violation is not None:
        return Outcome((), violation)
    taken: list[A] = []
    for action in actions:
        try:
            after = model.successor(state, action)
            if after is None:
                reaimed = model.reaim(state, action)
                if reaimed is None:
                    continue
                action = reaimed
                after = model.successor(state, action)
                if after is None:
                    continue
        except CoreFault as fault:
            return Outcome((*taken, action), fault.violation())
        taken.append(action)
        violation = model.check_step(state, action, after)
        if violation is not None:
            return Outcome(tuple(taken), violation)
        state = after
    return settled_violation(model, state, taken)


def settled_violation(model: seam.Model[Any, A, Any], state: Any,
                      taken: Sequence[A]) -> Outcome | None:
    """What the stabilisation phase after a run finds (a model that carries progress
    properties has one, `Model.settle`: a function of the run's last state, so it is run
    again after every edit rather than replayed), or None. The actions are the run's
    alone."""
    settle = getattr(model, "settle", None)
    settled = None if settle is None else settle(state)
    if settled is None or settled.violation is None:
        return None
    return Outcome(tuple(taken), settled.violation)


# A model's own shrink pass: from the current list, candidate lists in a fixed order (each
# meant to be shorter), for edits that deleting chunks cannot make, such as merging two steps
# into one (model.adapters.pysyncobj_fuzz.merge_clocks).
ShrinkPass = Callable[[list[T]], Iterable[list[T]]]


def delete_chunks(items: Sequence[T], attempt: Callable[[list[T]], list[T] | None],
                  budget: int, deadline: float | None = None,
                  passes: Sequence[ShrinkPass[T]] = ()) -> list[T]:
    """Delta debugging by deletion: try `items` without a chunk (halving the chunk size down
    to one item, from the end) and keep the shorter list `attempt` returns whenever it still
    fails (`attempt` gives the items actually kept, or None when the failure is gone). When
    no chunk can go, `passes` in turn, each trying its candidates in its order: the first one
    kept shorter replaces the list and a new round starts, chunks first (cheap edits before
    costly ones). Rounds repeat until one shortens nothing. At most `budget` attempts, and
    none after `deadline` (a `time.monotonic()` value) when one is given: a live system's
    replays take real time. Shared by every shrinker that edits a list of steps."""
    current = list(items)
    attempts = 0

    def more() -> bool:
        return attempts < budget and (deadline is None or time.monotonic() < deadline)

    def shorter(candidate: list[T]) -> bool:
        nonlocal current, attempts
        attempts += 1
        kept = attempt(candidate)
        if kept is not None and len(kept) < len(current):
            current = kept
            return True
        return False

    improved = True
    while improved and more():
        improved = False
        size = max(1, len(current) // 2)
        while size >= 1 and more():
            start = len(current) - size
            while start >= 0 and more():
                if shorter(current[:start] + current[start + size:]):
                    improved = True
                    start = min(start, len(current)) - size
                else:
                    start -= 1 if size == 1 else size
            size //= 2
        for shrink_pass in passes:
            if improved or not more():
                break
            for candidate in shrink_pass(current):
                if not more():
                    break
                if len(candidate) < len(current) and shorter(candidate):
                    improved = True
                    break
    return current


def shrink(model: seam.Model[Any, A, Any], actions: Sequence[A], budget: int = 20_000
           ) -> tuple[list[A], Violation]:
    """The shortest run found by deleting actions from `actions` that violates the same
    property. `budget` caps the number of replays. Raises ModelError if `actions` does not
    violate anything."""
    outcome = first_violation(model, actions)
    if outcome is None:
        raise ModelError("the run to shrink violates no property")
    prop = outcome.violation.property
    found: dict[int, Violation] = {len(outcome.actions): outcome.violation}

    def attempt(candidate: list[A]) -> list[A] | None:
        replayed = first_violation(model, candidate)
        if replayed is None or replayed.violation.property != prop:
            return None
        found[len(replayed.actions)] = replayed.violation
        return list(replayed.actions)

    current = delete_chunks(list(outcome.actions), attempt, budget)
    return current, found[len(current)]


def trace_bounds(model: Model, actions: Sequence[Action]) -> Bounds:
    """The smallest bounds `actions` fits in: the terms, log lengths, values, messages in
    flight and faults it actually uses (never more than the model's own)."""
    states = model.run(list(actions))
    used = model.bounds
    return Bounds(
        max_term=max(s.persistent_of(i).current_term for s in states
                     for i in range(len(s.nodes))),
        max_log=max(len(s.persistent_of(i).log) for s in states for i in range(len(s.nodes))),
        values=max([a.value for a in actions if isinstance(a, Submit)], default=1),
        max_messages=max(len(s.network) for s in states),
        max_crashes=sum(isinstance(a, Crash) for a in actions) if used.max_crashes else 0,
        max_partitions=(sum(isinstance(a, Partition) for a in actions)
                        if used.max_partitions else 0),
        drop=any(isinstance(a, Drop) for a in actions),
        duplicate=any(isinstance(a, Duplicate) for a in actions),
    )


# Small worlds polish searches first, cheapest first: (max_term, max_log, max_messages), each
# capped by what the run itself uses. Most bugs have a short counterexample in a small world
# even when the run that found them wandered through a big one.
LADDER = ((2, 1, 3), (3, 1, 3), (2, 1, 5), (3, 2, 5))


def polish(model: seam.Model[Any, A, Any], actions: Sequence[A], violation: Violation,
           max_states: int = 20_000) -> tuple[list[A], Violation]:
    """After deletion: search breadth-first for a *shorter* violating run, first in small
    worlds (`LADDER`), then within the bounds the run itself uses (`trace_bounds`); every
    world searched is inside the run's own bounds, faults included. Deletion stops at a run
    no single deletion improves; a shorter run often needs different actions (another node
    timing out, another message delivered) that only a search finds. A search stops at the
    first violation it meets, which may be of another property reached sooner (a double vote
    before the double leader it leads to): the shortest trace that breaks the core is what a
    person wants to read. Each search is capped at `max_states` distinct states (a count,
    not a time, so the result does not depend on how busy the machine is) and at one step
    less than the best run so far; when none finds anything shorter, `actions` is returned
    unchanged."""
    from raftcheck.model.explore import explore  # explore builds on this module's neighbours

    if len(actions) <= 1 or violation.property == CORE_FAULT:  # a fault's run ends mid-step
        return list(actions), violation
    if settled_violation(model, model.run(list(actions))[-1], actions) is not None:
        return list(actions), violation  # found after the run: a search would not see it
    if not isinstance(model, Model):  # the breadth-first engine runs on the Raft world
        return list(actions), violation
    used = trace_bounds(model, cast("Sequence[Action]", actions))
    worlds = [evolve(used, max_term=min(term, used.max_term), max_log=min(log, used.max_log),
                     max_messages=min(messages, used.max_messages))
              for term, log, messages in LADDER]
    best, best_violation = list(actions), violation
    for bounds in dict.fromkeys([*worlds, used]):  # in order, without repeats
        if len(best) <= 1:
            break
        result = explore(evolve(model, bounds=bounds), strategy="bfs",
                         symmetry=True, max_depth=len(best) - 1, max_states=max_states)
        if result.violations and len(result.violations[0].actions) < len(best):
            best = cast("list[A]", list(result.violations[0].actions))
            best_violation = result.violations[0].violation
    return best, best_violation
