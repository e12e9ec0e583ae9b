"""`raftcheck check`: the main job. Every engine that exists, on its defaults, against one core
(the bundled one unless --core says otherwise), ending in one summary table.

That is: the seed's scenarios (split brain, log inconsistency, network partition), the
Hypothesis engine (ci profile) and the exhaustive enumerator on each bound set of the
portfolio (presets.PORTFOLIO), one part per set. The verdict is the worst of the parts: a
violation anywhere is a violation (exit 1), an inconclusive part makes the whole
inconclusive (exit 3). The command line is model/cli/check.py.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from attrs import frozen

from raftcheck.model.fuzz import fuzz
from raftcheck.model.fuzz_report import fuzz_summary, fuzz_verdict
from raftcheck.model.presets import PORTFOLIO, BoundSet
from raftcheck.model.search.result import ExploreResult
from raftcheck.model.stateful import FUZZ_BOUNDS, PROFILES, RunStats
from raftcheck.model.trace import render_trace
from raftcheck.model.verdict import Exit, Verdict
from raftcheck.model.world import Bounds, Config, Core, CoreFault, Model
from raftcheck.properties import RAFT_PROPERTIES, Properties


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
          workers: int = 1, properties: Properties = RAFT_PROPERTIES,
          say: Callable[[str], None] = lambda text: None,
          progress: Callable[[str], None] | None = None) -> CheckResult:
    """Every engine on its defaults against `core`; `say` receives what a part shows as it
    goes (failed scenarios, counterexample traces), `progress` a line now and then saying
    where the run is. `workers` processes share the exhaustive part's bound sets. The
    fuzzing and the exhaustive part check `properties` (the seed's scenarios check what
    each scenario expects)."""
    tell = progress or (lambda text: None)
    tell("scenarios")
    parts = [run_scenarios(core, say, show_scenarios)]
    parts.append(run_fuzz(core, seed, quick, say, progress, properties))
    parts.extend(run_portfolio(core, quick, say, workers, tell, properties))
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
             progress: Callable[[str], None] | None = None,
             properties: Properties = RAFT_PROPERTIES) -> Part:
    model = Model(core, Config(), FUZZ_BOUNDS, properties=properties)
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


def portfolio(quick: bool) -> tuple[BoundSet, ...]:
    """The bound sets the exhaustive part runs (presets.PORTFOLIO; --quick: all but the
    first, the largest)."""
    return PORTFOLIO[1:] if quick else PORTFOLIO


_SUBJECT: list[tuple[Core, Properties]] = []  # what a worker explores, set before the fork


def _explore_set(bounds: Bounds) -> ExploreResult:
    from raftcheck.model.explore import DEFAULT_NODES, explore

    core, properties = _SUBJECT[0]
    model = Model(core, Config(cluster_size=DEFAULT_NODES), bounds, properties=properties)
    return explore(model, strategy="bfs", symmetry=True)


def run_portfolio(core: Core, quick: bool, say: Any, workers: int = 1,
                  tell: Callable[[str], None] = lambda text: None,
                  properties: Properties = RAFT_PROPERTIES) -> list[Part]:
    """Explore each bound set of the portfolio exhaustively, `workers` sets at a time (in
    forked processes; the results do not depend on it): one part per set."""
    from raftcheck.model.search.pool import check_workers, process_context

    check_workers(workers)
    sets = portfolio(quick)
    bounds = [bound_set.bounds for bound_set in sets]
    _SUBJECT[:] = [(core, properties)]
    parts = []
    try:
        context = process_context()
        with contextlib.ExitStack() as stack:
            if workers > 1 and context.get_start_method() == "fork":
                pool = stack.enter_context(context.Pool(min(workers, len(sets))))
                results: Iterator[ExploreResult] = pool.imap(_explore_set, bounds)
            else:
                results = map(_explore_set, bounds)
            tell(f"explore: {sets[0].name} (1/{len(sets)})")
            for number, (bound_set, result) in enumerate(zip(sets, results, strict=True)):
                parts.append(_portfolio_part(core, bound_set, result, say))
                if number + 1 < len(sets):
                    tell(f"explore: {sets[number + 1].name} ({number + 2}/{len(sets)})")
    finally:
        _SUBJECT.clear()
    return parts


def _portfolio_part(core: Core, bound_set: BoundSet, result: ExploreResult, say: Any) -> Part:
    from raftcheck.model.explore import DEFAULT_NODES

    # INCOMPLETE and BROKEN MODEL are both inconclusive here
    verdict = {Exit.CLEAN: Verdict.CLEAN, Exit.VIOLATION: Verdict.VIOLATION}.get(
        result.verdict.exit_code, Verdict.INCONCLUSIVE)
    bounds = bound_set.bounds
    summary = (f"{bound_set.aim}; {bounds.describe()}: {result.verdict.value.lower()}, "
               f"{result.distinct:,} states, depth {result.depth}, {result.seconds:.0f} s, "
               f"{len(result.goals)}/{len(result.goal_names)} goals")
    if result.violations:
        first = result.violations[0]
        model = Model(core, Config(cluster_size=DEFAULT_NODES), bounds)
        say(render_trace(model, first.actions, first.violation,
                         title=f"Shortest counterexample ({bound_set.name})"))
        summary += f"; {first.violation.property} in {len(first.actions)} steps (shortest)"
    elif result.missed_goals:
        summary += f"; never reached: {', '.join(result.missed_goals)}"
    detail = {"bound_set": bound_set.name, "aim": bound_set.aim,
              "verdict_detail": result.verdict.value, "distinct": result.distinct,
              "generated": result.generated, "depth": result.depth,
              "complete": result.complete, "goals_reached": sorted(result.goals),
              "goals_missed": result.missed_goals, "bounds": bounds.describe(),
              "seconds": round(result.seconds, 3),
              "violation": result.violations[0].property if result.violations else None}
    return Part(f"explore: {bound_set.name}", verdict, summary, detail)
