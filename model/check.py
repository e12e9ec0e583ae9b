"""`raftcheck check`: the main job. Every engine that exists, on its defaults, against one core
(the bundled one unless --core says otherwise), ending in one summary table.

Today that is: the seed's scenarios (split brain, log inconsistency, network partition), the
Hypothesis engine (ci profile) and, when present, the exhaustive enumerator on its default
bounds. The verdict is the worst of the parts: a violation anywhere is a violation (exit 1),
an inconclusive part makes the whole inconclusive (exit 3). The command line is
model/cli/check.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from attrs import evolve, frozen

from raftcheck.model.fuzz import fuzz
from raftcheck.model.fuzz_report import fuzz_summary, fuzz_verdict
from raftcheck.model.stateful import FUZZ_BOUNDS, PROFILES, RunStats
from raftcheck.model.trace import render_trace
from raftcheck.model.verdict import Exit, Verdict
from raftcheck.model.world import Config, Core, CoreFault, Model


@frozen
class Part:
    engine: str
    verdict: Verdict  # CLEAN | VIOLATION | INCONCLUSIVE
    summary: str
    detail: dict[str, Any]


@frozen
class CheckResult:
    """Every part, and the worst of their verdicts."""

    core: str
    seed: int
    parts: tuple[Part, ...]

    @property
    def verdict(self) -> Verdict:
        return overall(self.parts)


def check(core: Core, seed: int, *, quick: bool = False, show_scenarios: bool = False,
          say: Callable[[str], None] = lambda text: None,
          progress: Callable[[str], None] | None = None) -> CheckResult:
    """Every engine on its defaults against `core`; `say` receives what a part shows as it
    goes (failed scenarios, counterexample traces), `progress` a line now and then saying
    where the run is."""
    tell = progress or (lambda text: None)
    tell("scenarios")
    parts = [run_scenarios(core, say, show_scenarios)]
    parts.append(run_fuzz(core, seed, quick, say, progress))
    tell("explore: breadth-first search")
    explore_part = run_explore(core, quick, say)
    if explore_part is not None:
        parts.append(explore_part)
    return CheckResult(core.name, seed, tuple(parts))


def overall(parts: Sequence[Part]) -> Verdict:
    """The worst of the parts: a violation anywhere, else anything inconclusive, else clean."""
    verdicts = {part.verdict for part in parts}
    for verdict in (Verdict.VIOLATION, Verdict.INCONCLUSIVE):
        if verdict in verdicts:
            return verdict
    return Verdict.CLEAN


def run_scenarios(core: Core, say: Any, show_all: bool = False) -> Part:
    from raftcheck.model.scenarios import SCENARIOS, render_scenario, run_scenario

    try:
        results = [run_scenario(name, core) for name in SCENARIOS]
    except CoreFault as fault:  # a scripted scenario hit a failing core: a finding
        say(f"scenarios: CORE FAULT: {fault}\n")
        return Part("scenarios", Verdict.VIOLATION, f"the core failed: {fault}",
                    {"core_fault": str(fault)})
    failed = [result for result in results if not result.passed]
    for result in results if show_all else failed:
        say(render_scenario(result) + "\n")
    verdict = Verdict.CLEAN if not failed else Verdict.VIOLATION
    summary = (f"{len(results) - len(failed)}/{len(results)} seed experiments behave as Raft "
               "should" + (f"; failed: {', '.join(r.name for r in failed)}" if failed else ""))
    return Part("scenarios", verdict, summary,
                {"scenarios": {r.name: r.passed for r in results}})


def run_fuzz(core: Core, seed: int, quick: bool, say: Any,
             progress: Callable[[str], None] | None = None) -> Part:
    model = Model(core, Config(), FUZZ_BOUNDS)
    profile = "dev" if quick else "ci"
    budget = PROFILES[profile]["max_examples"]
    shown = [0.0]

    def on_step(stats: RunStats) -> None:  # called every step: report a few times a second
        now = time.monotonic()
        if progress is not None and now - shown[0] >= 0.5:
            shown[0] = now
            progress(f"fuzz: {stats.examples}/{budget} runs, {stats.steps:,} steps")

    result = fuzz(model, seed=seed, profile=profile,
                  on_progress=on_step if progress is not None else None)
    verdict = fuzz_verdict(result)
    if result.violation is not None:
        say(result.trace)
    summary = (f"{result.examples} runs, {result.steps} steps, {result.distinct_states} "
               f"distinct states, {len(result.goals)}/{len(result.goal_names)} goals, "
               f"{result.seconds:.0f} s")
    if result.violation is not None:
        summary += f"; {result.violation.property} in {len(result.actions)} steps"
    elif result.missing_goals:
        summary += f"; never reached: {', '.join(result.missing_goals)}"
    return Part("fuzz (Hypothesis)", verdict, summary, fuzz_summary(result, model))


def run_explore(core: Core, quick: bool, say: Any) -> Part | None:
    from raftcheck.model import explore

    bounds = explore.DEFAULT_BOUNDS
    if quick:
        bounds = evolve(bounds, max_messages=3)
    model = Model(core, Config(cluster_size=explore.DEFAULT_NODES), bounds)
    result = explore.explore(model, strategy="bfs", symmetry=True)
    # INCOMPLETE and BROKEN MODEL are both inconclusive here
    verdict = {Exit.CLEAN: Verdict.CLEAN, Exit.VIOLATION: Verdict.VIOLATION}.get(
        result.verdict.exit_code, Verdict.INCONCLUSIVE)
    summary = (f"BFS {result.verdict.value.lower()}: {result.distinct:,} distinct states "
               f"(symmetry-reduced), depth {result.depth}, {result.seconds:.0f} s, "
               f"{len(result.goals)}/{len(result.goal_names)} goals; bounds {bounds.describe()}")
    if result.violations:
        first = result.violations[0]
        say(render_trace(model, first.actions, first.violation, title="Shortest counterexample"))
        summary += f"; {first.violation.property} in {len(first.actions)} steps (shortest)"
    detail = {"verdict_detail": result.verdict.value, "distinct": result.distinct,
              "generated": result.generated, "depth": result.depth,
              "complete": result.complete, "goals_reached": sorted(result.goals),
              "bounds": bounds.describe(), "seconds": round(result.seconds, 3)}
    return Part("explore (exhaustive)", verdict, summary, detail)
