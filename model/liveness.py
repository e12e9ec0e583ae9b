"""The stabilisation phase: where the progress properties (properties/progress.py) are checked.

A run of the Hypothesis engine in the timed world ends here: the faults stop, and the world
runs on deterministically from the run's last state. The phase is a function of that state
alone, so a run's verdict is a function of its actions: the shrinker shrinks the actions
before the phase and runs the phase again after each edit, and replay does the same
(`model.shrink.first_violation`). Its steps are world actions, each checked against the
safety properties too:

1. the partition heals (`Heal`) and every crashed server restarts (`Restart`, in id order);
2. then, at each instant: every message in flight is delivered, in the network's (sorted)
   order, including what the deliveries send (a perfect network: no loss, no delay);
3. a client submits one request, `put probe=1`, to each leader of the highest term it has
   not yet asked, until every server has applied it (a client retrying with each new
   leader: a leader may be deposed before it replicates, and an entry of an earlier term
   commits only under a new one of the current term, §5.4.2);
4. the progress properties are checked; then `Tick`: the earliest timer fires.

The phase ends with the first progress property violated, or, every property holding, once
the leader of the moment every server applied the request has kept leading for the
stability window after it; and in any case past the last deadline (`phase_length`), for a
model that carries only some of the properties. Bounds do not apply: they are a search device, and a
cluster must recover with whatever terms and messages it needs.
"""

from __future__ import annotations

from typing import Protocol

from attrs import evolve, frozen

from raftcheck.impl.types import Role
from raftcheck.model.state import Action, Config, Deliver, Heal, Restart, Submit, Tick, World
from raftcheck.model.trace import show_action
from raftcheck.properties import Properties
from raftcheck.properties.progress import (
    INSTANT_STEPS,
    PROBE_KEY,
    Progress,
    phase_length,
    stability_window,
)
from raftcheck.properties.violation import Violation


class Stabilising(Protocol):
    """What the phase needs of a model (`raftcheck.model.world.Model`)."""

    @property
    def config(self) -> Config: ...

    @property
    def properties(self) -> Properties: ...

    def settle_step(self, state: World, action: Action) -> tuple[World, Violation | None]:
        """The state after `action` (unbounded) and the first property the step violates,
        or a core fault as a violation (the state then unchanged)."""
        ...

@frozen
class Settled:
    """A stabilisation phase: its actions, in order, and the violation it ended with (a
    progress property, a safety property broken on the way, or a core fault; None when
    every server applied the request)."""

    actions: tuple[Action, ...]
    violation: Violation | None
    progress: Progress


def leader_of(state: World) -> tuple[int, int] | None:
    """(node, term) of a server leading the highest term any server is in, or None."""
    top = max(node.current_term for node in state.up_nodes())
    for node in state.up_nodes():
        if node.role is Role.LEADER and node.current_term == top:
            return node.id, top
    return None


def applied_everywhere(state: World) -> bool:
    return all(node is not None and any(key == PROBE_KEY for key, _ in
                                        node.volatile.state_machine)
               for node in state.nodes)


def settle(model: Stabilising, state: World) -> Settled:
    """Run the stabilisation phase from `state` (timed world). See the module docstring."""
    assert state.clock is not None, "the stabilisation phase needs the timed world"
    actions: list[Action] = []
    properties = model.properties
    start = state.clock.now
    progress = Progress(start, start, 0, None, None, None, None)
    asked: set[int] = set()  # the terms whose leader was given the request

    def take(action: Action) -> Violation | None:
        nonlocal state
        actions.append(action)
        state, violation = model.settle_step(state, action)
        return violation

    def ended(violation: Violation | None) -> Settled:
        return Settled(tuple(actions), violation, progress)

    if state.isolated and (violation := take(Heal())) is not None:
        return ended(violation)
    for node_id, node in enumerate(state.nodes):
        if node is None and (violation := take(Restart(node_id))) is not None:
            return ended(violation)
    while True:
        now = state.clock.now
        while state.network:
            progress = _at(progress, now)
            if (violation := take(Deliver(state.network[0]))) is not None:
                return ended(violation)
            if progress.instant_steps > INSTANT_STEPS:  # overdue: some property fails
                break
        leader = leader_of(state)
        if leader is not None and progress.leader_at is None:
            progress = evolve(progress, leader_at=now, leader=leader)
        if progress.applied_at is None and applied_everywhere(state):
            progress = evolve(progress, applied_at=now, applied_leader=leader)
        if progress.applied_at is not None and leader != progress.applied_leader:
            progress = evolve(progress, deposed_at=now)
        if progress.instant_steps > INSTANT_STEPS or progress.deposed_at is not None:
            return ended(properties.check_progress(model.config, progress))
        if progress.applied_at is not None and \
                now >= progress.applied_at + stability_window(model.config):
            return ended(None)
        if progress.applied_at is None and leader is not None and leader[1] not in asked:
            asked.add(leader[1])
            if (violation := take(Submit(leader[0], 1, PROBE_KEY))) is not None:
                return ended(violation)
            if progress.submitted_at is None:
                progress = evolve(progress, submitted_at=now)
        violation = properties.check_progress(model.config, progress)
        if violation is not None or now > progress.start + phase_length(model.config):
            return ended(violation)
        if (violation := take(Tick())) is not None:
            return ended(violation)
        progress = _at(progress, state.clock.now)


def _at(progress: Progress, now: int) -> Progress:
    """`progress` one step later, at clock time `now`."""
    instant = progress.instant_steps + 1 if now == progress.now else 0
    return evolve(progress, now=now, instant_steps=instant)


def describe(settled: Settled) -> str:
    """The phase, for a report: how it began, its actions in summary, and how it ended."""
    actions = settled.actions
    progress = settled.progress
    faults = [show_action(a) for a in actions if isinstance(a, (Heal, Restart))]
    deliveries = sum(isinstance(a, Deliver) for a in actions)
    ticks = sum(isinstance(a, Tick) for a in actions)
    submits = [a for a in actions if isinstance(a, Submit)]
    lines = [f"Then the stabilisation phase (model/liveness.py), from t={progress.start} ms:"]
    if faults:
        lines.append("  " + "; ".join(faults))
    lines.append(f"  {deliveries} deliveries and {ticks} timer firings, to t={progress.now} ms")
    if progress.leader is not None:
        node, term = progress.leader
        lines.append(f"  first leader of the highest term: n{node} (term {term}) at "
                     f"t={progress.leader_at} ms")
    else:
        lines.append("  no leader of the highest term")
    for submit in submits:
        lines.append(f"  client → n{submit.node}: put {PROBE_KEY}={submit.value}")
    if settled.violation is not None:
        lines.append(f"  ✗ {settled.violation}")
    return "\n".join(lines)
