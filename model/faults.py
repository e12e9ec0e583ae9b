"""Finding the shortest run on which a core fails (`model.world.CoreFault`).

An engine that meets a CoreFault mid-search knows that the core failed, not always how it got
there: the exhaustive engine's parallel workers and its fingerprint-only parent links lose the
path. Rather than thread a path through every search loop, `shortest_fault` searches again,
breadth-first over exact worlds, trying every enabled action and catching the fault on the
action that raises it. It visits at most the states the first search did up to the fault's
depth (more without symmetry reduction), and it returns the *shortest* failing run, which is
what a person wants to read.
"""

from __future__ import annotations

import time
from collections import deque

from attrs import frozen

from raftcheck.model.world import Action, CoreFault, Model


@frozen(eq=False)
class FaultTrace:
    """A run on which the core fails: `actions[-1]` is the one it failed on (no actions: it
    failed building the initial state). `distinct`/`generated` count the search's work."""

    actions: tuple[Action, ...]
    fault: CoreFault
    distinct: int
    generated: int


def shortest_fault(model: Model, *, max_states: int | None = None,
                   max_seconds: float | None = None) -> FaultTrace | None:
    """The shortest run (fewest actions) within `model`'s bounds on which its core fails, or
    None if there is none, or none within the limits."""
    try:
        initial = model.initial_state()
    except CoreFault as fault:
        return FaultTrace((), fault, 0, 0)
    started = time.monotonic()
    # Parent links by position, not by world: a core that mutates its input changes the hash
    # of worlds already stored, so nothing here may look a world up again.
    links: list[tuple[int, Action | None]] = [(-1, None)]
    seen = {initial}
    queue = deque([(initial, 0)])
    generated = 0
    limit = model.bounds.max_messages
    while queue:
        if max_states is not None and len(seen) >= max_states:
            return None
        if max_seconds is not None and time.monotonic() - started > max_seconds:
            return None
        state, position = queue.popleft()
        for action in model.candidate_actions(state):
            generated += 1
            try:
                after = model.next_state(state, action)
            except CoreFault as fault:
                return FaultTrace((*_path(links, position), action), fault, len(seen),
                                  generated)
            if len(after.network) <= limit and after not in seen:
                seen.add(after)
                links.append((position, action))
                queue.append((after, len(links) - 1))
    return None


def _path(links: list[tuple[int, Action | None]], position: int) -> tuple[Action, ...]:
    actions: list[Action] = []
    while position > 0:
        position, action = links[position]
        assert action is not None
        actions.append(action)
    return tuple(reversed(actions))
