"""Shrinking a counterexample at the level of world actions.

Hypothesis' own shrinker works on the choice sequence behind a run; for long Raft runs that
is slow (minutes) because most edits make later choices pick different actions. Here the
actions themselves are edited: delete chunks of them (delta debugging, halving the chunk size)
as long as the run stays executable and still violates the *same* property, and cut the run at
its first violation. Every candidate is replayed from the initial state through the one
action space, so the result is a real, replayable run.
"""

from __future__ import annotations

from collections.abc import Sequence

from attrs import frozen

from impl.types import Message
from model.world import Action, Deliver, Drop, Duplicate, Model, ModelError
from properties import Violation, check_state, check_transition


@frozen
class Outcome:
    """A replay that violated a property: the actions actually taken, up to the violation."""

    actions: tuple[Action, ...]
    violation: Violation


def first_violation(model: Model, actions: Sequence[Action]) -> Outcome | None:
    """Replay `actions` leniently and return the first property violated, or None.

    Lenient, because deleting an earlier action changes what is in flight later: a message
    action whose exact message is gone is re-aimed at the in-flight message of the same kind
    between the same nodes (the newest), and an action that is still not enabled is skipped.
    The returned actions are the ones really taken, so they replay strictly."""
    state = model.initial_state()
    violation = check_state(state)
    if violation is not None:
        return Outcome((), violation)
    taken: list[Action] = []
    for action in actions:
        after = model.successor(state, action)
        if after is None:
            reaimed = _reaim(action, state.network)
            if reaimed is None:
                continue
            action, after = reaimed, model.successor(state, reaimed)
            if after is None:
                continue
        taken.append(action)
        violation = check_transition(state, after)
        if violation is not None:
            return Outcome(tuple(taken), violation)
        state = after
    return None


def _reaim(action: Action, network: tuple[Message, ...]) -> Action | None:
    if not isinstance(action, (Deliver, Drop, Duplicate)):
        return None
    wanted = action.message
    similar = [m for m in network if type(m) is type(wanted) and m.source == wanted.source
               and m.dest == wanted.dest]
    if not similar:
        return None
    return type(action)(similar[-1])


def shrink(model: Model, actions: Sequence[Action], budget: int = 20_000) -> tuple[
        list[Action], Violation]:
    """The shortest run found by deleting actions from `actions` that violates the same
    property. `budget` caps the number of replays. Raises ModelError if `actions` does not
    violate anything."""
    outcome = first_violation(model, actions)
    if outcome is None:
        raise ModelError("the run to shrink violates no property")
    prop = outcome.violation.property
    current, violation = list(outcome.actions), outcome.violation
    replays = 0
    improved = True
    while improved and replays < budget:
        improved = False
        size = max(1, len(current) // 2)
        while size >= 1 and replays < budget:
            start = len(current) - size
            while start >= 0 and replays < budget:
                candidate = current[:start] + current[start + size:]
                replays += 1
                found = first_violation(model, candidate)
                if found is not None and found.violation.property == prop:
                    current, violation = list(found.actions), found.violation
                    improved = True
                    start = min(start, len(current)) - size
                else:
                    start -= 1 if size == 1 else size
            size //= 2
    return current, violation
