"""What a search returns: `Counterexample`, `ExploreResult` (its verdict and JSON form) and
`format_result`, the human report."""

from __future__ import annotations

from typing import Any

import attrs
from attrs import define, frozen

from raftcheck.model.seam import AnyModel
from raftcheck.model.trace import render_trace, replayable
from raftcheck.model.verdict import Exit, Verdict
from raftcheck.model.world import Bounds, Config, Model
from raftcheck.properties import Violation


@frozen
class Counterexample:
    """A violated property and the actions that lead to it from the initial state."""

    violation: Violation
    actions: tuple[Any, ...]  # the model's actions (world actions, or a lockstep pair's)
    shortest: bool  # BFS and iterative deepening guarantee it; dfs and simulate do not

    @property
    def property(self) -> str:
        return self.violation.property


@define
class ExploreResult:
    """What a search found and how far it got. `complete` means every state reachable within
    the bounds was visited (for a violation: every state up to its depth)."""

    complete: bool
    stop_reason: str  # exhausted | violation | max_states | max_seconds | max_depth |
    # interrupted | walks | collision
    violations: tuple[Counterexample, ...]
    distinct: int
    generated: int
    depth: int
    seconds: float
    goals: frozenset[str]  # the goals reached
    goal_names: tuple[str, ...]  # the goals the bounds allow
    ruled_out: tuple[str, ...]  # the goals the bounds rule out (not expected of the search)
    bounds: Bounds
    config: Config
    core: str
    strategy: str
    symmetry: bool
    workers: int
    queue: int = 0  # states discovered but not yet expanded when the search stopped
    walks: int = 0
    collisions: int = 0  # detected with exact=True only
    exact: bool = False
    peak_rss: int = 0
    notes: tuple[str, ...] = ()
    ray: str | None = None  # the Ray address the workers ran at (None: this machine)

    @property
    def verdict(self) -> Verdict:
        """VIOLATION; INCOMPLETE (stopped before the bounds were exhausted); VACUOUS
        ("BROKEN MODEL": complete, but no goal reached, so nothing was checked, or a goal
        the bounds allow is unreachable, so the core cannot get there); PASS."""
        if self.violations:
            return Verdict.VIOLATION
        if not self.complete:
            return Verdict.INCOMPLETE
        if not self.goals or self.missed_goals:
            return Verdict.VACUOUS
        return Verdict.PASS

    @property
    def missed_goals(self) -> list[str]:
        """The goals the bounds allow that the search did not reach."""
        return [name for name in self.goal_names if name not in self.goals]

    @property
    def exit_code(self) -> Exit:
        return self.verdict.exit_code

    @property
    def collision_probability(self) -> float:
        """TLC's "calculated (optimistic)" estimate: each of the (generated - distinct) lookups
        that found a known fingerprint could have hit one of `distinct` others by chance."""
        return self.distinct * max(self.generated - self.distinct, 0) / 2.0**64

    @property
    def birthday_bound(self) -> float:
        """The chance that any two of `distinct` random 64-bit fingerprints coincide."""
        return self.distinct * self.distinct / 2.0**65

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "exit_code": int(self.exit_code),
            "complete": self.complete,
            "stop_reason": self.stop_reason,
            "core": self.core,
            "nodes": self.config.cluster_size,
            "timing": self.config.timing,
            "bounds": {**attrs.asdict(self.bounds), "describe": self.bounds.describe()},
            "strategy": self.strategy,
            "symmetry": self.symmetry,
            "workers": self.workers,
            "ray": self.ray,
            "distinct": self.distinct,
            "generated": self.generated,
            "depth": self.depth,
            "queue": self.queue,
            "walks": self.walks,
            "seconds": round(self.seconds, 3),
            "distinct_per_second": round(self.distinct / self.seconds) if self.seconds else None,
            "generated_per_second": (round(self.generated / self.seconds) if self.seconds
                                     else None),
            "goals_reached": sorted(self.goals),
            "goals_missed": self.missed_goals,
            "goals_ruled_out": list(self.ruled_out),
            "fingerprint_bits": 64,
            "exact": self.exact,
            "collisions_detected": self.collisions,
            "collision_probability_optimistic": self.collision_probability,
            "collision_probability_birthday": self.birthday_bound,
            "peak_rss_bytes": self.peak_rss,
            "notes": list(self.notes),
            "violations": [
                {"property": found.property, "detail": found.violation.detail,
                 "length": len(found.actions), "shortest": found.shortest,
                 "actions": [repr(action) for action in found.actions]}
                for found in self.violations
            ],
        }


def model_fields(model: AnyModel, symmetry: bool) -> dict[str, Any]:
    """The fields of an `ExploreResult` that describe what was searched, read from the model
    in one place for every engine."""
    return {"goal_names": model.goal_names, "ruled_out": model.ruled_out_goals,
            "bounds": model.bounds, "config": model.config, "core": model.name,
            "symmetry": model.symmetric(symmetry)}


def format_result(result: ExploreResult, model: Model | None = None) -> str:
    """The human report: verdict, bounds, counts, goals; each counterexample as a numbered
    trace (`model.trace.render_trace`) and a replayable action list when `model` is given."""
    lines = [
        f"raftcheck explore: core={result.core} nodes={result.config.cluster_size} "
        f"timing={result.config.timing} strategy={result.strategy} "
        f"symmetry={'on' if result.symmetry else 'off'} workers={result.workers}"
        + (f" (Ray: {result.ray})" if result.ray is not None else ""),
        f"bounds: {result.bounds.describe()}",
    ]
    verdict = result.verdict.value
    if result.verdict is Verdict.INCOMPLETE:
        verdict += f" (stopped: {result.stop_reason}; not a pass)"
    elif result.verdict is Verdict.PASS:
        verdict += " (complete: every reachable state within the bounds was checked)"
    elif result.verdict is Verdict.VACUOUS and not result.goals:
        verdict += " (complete, but no reachability goal was reached: nothing was checked)"
    elif result.verdict is Verdict.VACUOUS:
        verdict += (f" (complete, but never reached {', '.join(result.missed_goals)}, which "
                    "the bounds allow: the core cannot get there)")
    elif not result.complete:
        verdict += f" (search stopped: {result.stop_reason})"
    lines.append(f"result: {verdict}")
    rate = (f", {result.distinct / result.seconds:,.0f} distinct/s, "
            f"{result.generated / result.seconds:,.0f} generated/s" if result.seconds else "")
    queue = f", {result.queue:,} left in queue" if result.queue else ""
    walks = f", {result.walks:,} walks" if result.strategy == "simulate" else ""
    lines.append(f"states: {result.distinct:,} distinct, {result.generated:,} generated, "
                 f"depth {result.depth}{queue}{walks}, {result.seconds:.1f} s{rate}")
    if result.exact:
        lines.append(f"fingerprints: exact states kept; {result.collisions} collisions "
                     "detected")
    else:
        lines.append(f"fingerprints: 64-bit; collision probability calculated (optimistic) "
                     f"{result.collision_probability:.1e}, birthday bound "
                     f"{result.birthday_bound:.1e}")
    marks = [f"{'✓' if name in result.goals else '✗'} {name}" for name in result.goal_names]
    marks += [f"– {name} (ruled out by the bounds)" for name in result.ruled_out]
    lines.append("goals: " + "  ".join(marks))
    if result.peak_rss:
        per = (f" ({result.peak_rss / result.distinct:,.0f} bytes per distinct state, "
               "Python included)" if result.distinct >= 100_000 else "")
        lines.append(f"memory: peak RSS {result.peak_rss / 2**20:,.1f} MiB{per}")
    lines.extend(f"note: {note}" for note in result.notes)
    for found in result.violations:
        lines.append("")
        title = ("Counterexample (shortest)" if found.shortest
                 else "Counterexample (not necessarily shortest)")
        if model is not None:
            lines.append(render_trace(model, found.actions, found.violation, title=title))
            lines.append("")
            lines.append("Replay with Model(core, config, bounds).run(actions):")
            lines.append(replayable(found.actions))
        else:
            lines.append(f"{title}: {len(found.actions)} steps, {found.violation}")
    return "\n".join(lines)
