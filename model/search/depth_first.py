"""Depth-first search (`strategy="dfs"`) and iterative deepening (`"iddfs"`: shortest
counterexamples in memory proportional to the depth-limited space)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from attrs import define, field

from raftcheck.model.seam import AnyModel
from raftcheck.model.search.common import (
    Fingerprinter,
    Interrupt,
    Limits,
    Progress,
    fingerprinter,
    peak_rss,
    replay_indices,
    steps,
)
from raftcheck.model.search.result import Counterexample, ExploreResult, model_fields
from raftcheck.model.world import CORE_FAULT
from raftcheck.properties import Violation


@define
class _DepthFirst:
    """One depth-first pass, optionally depth-limited. `seen` maps each fingerprint to the
    least depth it was reached at; with a limit, a state reached again at a smaller depth is
    expanded again, so every state within the limit is expanded at its true distance and
    every transition from it is checked."""

    model: AnyModel
    fingerprint_of: Fingerprinter
    limit: int | None
    limits: Limits
    all_violations: bool
    interrupt: Interrupt
    progress: Progress
    seen: dict[int, int] = field(factory=dict)
    generated: int = 0
    deepest: int = 0
    truncated: bool = False
    goals: set[str] = field(factory=set)
    found: list[tuple[Violation, list[int]]] = field(factory=list)
    stop_reason: str = ""

    def run(self) -> None:
        model = self.model
        initial = model.initial_state()
        self.seen[self.fingerprint_of(initial)] = 0
        self.goals |= model.goals_reached(initial)
        violation = model.check_initial(initial)
        if violation is not None and self._record(violation, []):
            return
        names = {v.property for v, _ in self.found}
        stack: list[tuple[Any, Iterator[tuple[int, Any, Any, Violation | None]]]] = [
            (initial, steps(model, initial))]
        path: list[int] = []
        limit = self.limit
        taken = 0
        while stack:
            state, successors = stack[-1]
            step = next(successors, None)
            if step is None:
                stack.pop()
                if path:
                    path.pop()
                continue
            index, action, after, fault = step
            depth = len(stack)
            self.generated += 1
            if fault is not None:
                if fault.property not in names:
                    names.add(fault.property)
                    if self._record(fault, [*path, index]):
                        return
                continue
            fp = self.fingerprint_of(after)
            known = self.seen.get(fp)
            if known is None:
                if self.limits.max_states is not None and \
                        len(self.seen) >= self.limits.max_states:
                    self.stop_reason = "max_states"
                    return
                self.seen[fp] = depth
                if len(self.goals) < len(model.goal_names):
                    self.goals |= model.goals_reached(after)
                violation = model.check_step(state, action, after)
                expand = True
            else:
                violation = model.check_known(state, action, after)
                expand = limit is not None and depth < known
                if expand:
                    self.seen[fp] = depth
            if violation is not None and violation.property not in names:
                names.add(violation.property)
                if self._record(violation, [*path, index]):
                    return
            if expand:
                self.deepest = max(self.deepest, depth)
                if limit is not None and depth >= limit:
                    if not self.truncated and any(True for _ in steps(model, after)):
                        self.truncated = True
                else:
                    stack.append((after, steps(model, after)))
                    path.append(index)
            taken += 1
            if taken & 255 == 0:
                if self.interrupt.requested:
                    self.stop_reason = "interrupted"
                    return
                if self.limits.out_of_time():
                    self.stop_reason = "max_seconds"
                    return
                self.progress.update(distinct=len(self.seen), generated=self.generated,
                                     depth=len(stack), queue=len(stack),
                                     seconds=self.limits.elapsed)

    def _record(self, violation: Violation, indices: list[int]) -> bool:
        self.found.append((violation, indices))
        if not self.all_violations:
            self.stop_reason = "core fault" if violation.property == CORE_FAULT else "violation"
            return True
        return False


def depth_first(model: AnyModel, *, strategy: str, symmetry: bool, limits: Limits,
                 max_depth: int | None, all_violations: bool, progress: Progress,
                 interrupt: Interrupt) -> ExploreResult:
    fingerprint_of = fingerprinter(model, symmetry)
    generated = 0
    goals: set[str] = set()
    if strategy == "dfs":
        limits_to_try: Iterator[int | None] = iter([max_depth])
    else:
        last = max_depth if max_depth is not None else 2**31

        def deepening() -> Iterator[int | None]:
            yield from range(1, last + 1)

        limits_to_try = deepening()
    search: _DepthFirst | None = None
    previous_distinct = -1
    stop_reason = ""
    exhausted = False
    found: dict[str, tuple[Violation, list[int]]] = {}
    try:
        for limit in limits_to_try:
            if search is not None and (interrupt.requested or limits.out_of_time()):
                stop_reason = "interrupted" if interrupt.requested else "max_seconds"
                break
            search = _DepthFirst(model, fingerprint_of, limit, limits, all_violations,
                                 interrupt, progress)
            search.run()
            generated += search.generated
            goals |= search.goals
            for violation, indices in search.found:  # the first round a property broke in
                found.setdefault(violation.property, (violation, indices))
            stop_reason = search.stop_reason
            if stop_reason:
                break
            # Exhausted when nothing was cut off at the limit, or when a deeper limit found
            # no new state (then every state is within the previous limit and was expanded).
            if not search.truncated or len(search.seen) == previous_distinct:
                exhausted = True
                break
            previous_distinct = len(search.seen)
    except KeyboardInterrupt:
        stop_reason = "interrupted"
    assert search is not None
    if not stop_reason and not exhausted:
        stop_reason = "max_depth"
    shortest = strategy == "iddfs"
    violations = tuple(
        Counterexample(violation, tuple(replay_indices(model, indices)), shortest)
        for violation, indices in found.values())
    complete = not stop_reason
    return ExploreResult(
        complete=complete,
        stop_reason=stop_reason or "exhausted",
        violations=violations,
        distinct=len(search.seen),
        generated=generated,
        depth=search.deepest,
        seconds=limits.elapsed,
        goals=frozenset(goals),
        strategy=strategy,
        **model_fields(model, symmetry),
        workers=1,
        peak_rss=peak_rss(),
    )
