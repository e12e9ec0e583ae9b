"""Simulation (`strategy="simulate"`): seeded random walks from the initial state, uniform
or biased by action kind. It samples the space, so it is never complete."""

from __future__ import annotations

import random
from typing import Any

from raftcheck.model.seam import AnyModel
from raftcheck.model.search.common import (
    Interrupt,
    Limits,
    Progress,
    fingerprinter,
    peak_rss,
    steps,
)
from raftcheck.model.search.result import Counterexample, ExploreResult, model_fields
from raftcheck.model.world import Crash, Drop, Duplicate, Heal, Partition, Restart

# Action kinds for `bias="kind"`: a step first picks a kind uniformly among those enabled, then
# an action of that kind, so that faults (many drops, a crash per node) do not drown progress.
_FAULTS = (Drop, Duplicate, Crash, Restart, Partition, Heal)


def _kind(model: AnyModel, action: Any) -> Any:
    """The group a biased walk draws first: the model's kind, with every fault one group."""
    kind = model.kind_of(action)
    return "fault" if kind in _FAULTS else kind


def simulate(model: AnyModel, *, symmetry: bool, limits: Limits, seed: int, walks: int | None,
              walk_depth: int, bias: str, all_violations: bool, progress: Progress,
              interrupt: Interrupt) -> ExploreResult:
    """Seeded random walks from the initial state (TLC's -simulate). Never complete."""
    fingerprint_of = fingerprinter(model, symmetry)
    rng = random.Random(seed)
    seen: set[int] = set()
    generated = 0
    done = 0
    deepest = 0
    goals: set[str] = set()
    found: list[Counterexample] = []
    names: set[str] = set()
    stop_reason = ""
    initial = model.initial_state()
    seen.add(fingerprint_of(initial))
    goals |= model.goals_reached(initial)
    violation = model.check_initial(initial)
    if violation is not None:
        found.append(Counterexample(violation, (), True))
        stop_reason = "violation"
    try:
        while not stop_reason and (walks is None or done < walks):
            state = initial
            actions: list[Any] = []
            for _ in range(walk_depth):
                options = [(action, after, fault)
                           for _, action, after, fault in steps(model, state)]
                failed = next((option for option in options if option[2] is not None), None)
                if failed is not None:  # the core failed expanding this state: a finding
                    action, _, fault = failed
                    assert fault is not None
                    actions.append(action)
                    if fault.property not in names:
                        names.add(fault.property)
                        found.append(Counterexample(fault, tuple(actions), False))
                        if not all_violations:
                            stop_reason = "core fault"
                    break
                if not options:
                    break
                if bias == "kind":
                    kinds = sorted({_kind(model, option[0]) for option in options}, key=str)
                    chosen = rng.choice(kinds)
                    options = [option for option in options
                               if _kind(model, option[0]) == chosen]
                action, after, _ = rng.choice(options)
                actions.append(action)
                generated += 1
                fp = fingerprint_of(after)
                if fp not in seen:
                    if limits.max_states is not None and len(seen) >= limits.max_states:
                        stop_reason = "max_states"
                        break
                    seen.add(fp)
                    if len(goals) < len(model.goal_names):
                        goals |= model.goals_reached(after)
                    violation = model.check_step(state, action, after)
                else:
                    violation = model.check_known(state, action, after)
                state = after
                if violation is not None and violation.property not in names:
                    names.add(violation.property)
                    found.append(Counterexample(violation, tuple(actions), False))
                    if not all_violations:
                        stop_reason = "violation"
                        break
            deepest = max(deepest, len(actions))
            done += 1
            if not stop_reason:
                if interrupt.requested:
                    stop_reason = "interrupted"
                elif limits.out_of_time():
                    stop_reason = "max_seconds"
            progress.update(distinct=len(seen), generated=generated, depth=deepest,
                            queue=0, seconds=limits.elapsed)
    except KeyboardInterrupt:
        stop_reason = "interrupted"
    return ExploreResult(
        complete=False,
        stop_reason=stop_reason or "walks",
        violations=tuple(found),
        distinct=len(seen),
        generated=generated,
        depth=deepest,
        seconds=limits.elapsed,
        goals=frozenset(goals),
        strategy="simulate",
        **model_fields(model, symmetry),
        workers=1,
        walks=done,
        peak_rss=peak_rss(),
        notes=("simulation samples the space: it can find bugs, never prove their absence",),
    )
