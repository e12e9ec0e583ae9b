"""`raftcheck check`: the main job. Every engine that exists, on its defaults, against one core
(the bundled one unless --core says otherwise), ending in one summary table.

Today that is: the seed's scenarios (split brain, log inconsistency, network partition), the
Hypothesis engine (ci profile) and, when present, the exhaustive enumerator on its default
bounds. The verdict is the worst of the parts: a violation anywhere is a violation (exit 1),
an inconclusive part makes the whole inconclusive (exit 3).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from attrs import evolve, frozen
from rich.console import Console
from rich.table import Table

from raftcheck.model import cli
from raftcheck.model.cores import CoreLoadError, load_core
from raftcheck.model.fuzz import fuzz
from raftcheck.model.stateful import FUZZ_BOUNDS
from raftcheck.model.trace import render_trace
from raftcheck.model.world import Config, Core, CoreFault, Model
from raftcheck.properties import GOALS


@frozen
class Part:
    engine: str
    verdict: str  # clean | violation | inconclusive
    summary: str
    detail: dict[str, Any]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--core", default="raft",
                        help="core to check: raft (bundled), a broken core's name, or "
                        "module:object (default: raft)")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed for the engines that draw (default: random, printed)")
    parser.add_argument("--quick", action="store_true",
                        help="smaller budgets (the dev profile, smaller exhaustive bounds)")
    parser.add_argument("--show-scenarios", action="store_true",
                        help="print each seed scenario in full (trace, question, answer, checks)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary only")


def run(args: argparse.Namespace) -> int:
    seed = cli.resolve_seed(args.seed)
    try:
        core = load_core(args.core)
    except CoreLoadError as error:
        raise cli.UsageError(str(error)) from None
    say = (lambda text: None) if args.json else print
    say(f"raftcheck check: core={core.name} seed={seed}")
    parts = [run_scenarios(core, say, args.show_scenarios), run_fuzz(core, seed, args.quick, say)]
    explore_part = run_explore(core, args.quick, say)
    if explore_part is not None:
        parts.append(explore_part)
    verdict = overall(parts)
    if args.json:
        print(json.dumps({"engine": "check", "core": core.name, "seed": seed,
                          "verdict": verdict,
                          "parts": [{"engine": p.engine, "verdict": p.verdict,
                                     "summary": p.summary, **p.detail} for p in parts]},
                         indent=2))
    else:
        table = Table(title=f"raftcheck check: {core.name} (seed {seed})")
        table.add_column("engine")
        table.add_column("verdict")
        table.add_column("what it did")
        style = {"clean": "green", "violation": "bold red", "inconclusive": "yellow"}
        for part in parts:
            table.add_row(part.engine, f"[{style[part.verdict]}]{part.verdict}[/]", part.summary)
        Console().print(table)
        print(f"overall: {verdict.upper()}")
    return {"clean": cli.EXIT_CLEAN, "violation": cli.EXIT_VIOLATION}.get(
        verdict, cli.EXIT_INCONCLUSIVE)


def overall(parts: list[Part]) -> str:
    verdicts = {part.verdict for part in parts}
    for verdict in ("violation", "inconclusive"):
        if verdict in verdicts:
            return verdict
    return "clean"


def run_scenarios(core: Core, say: Any, show_all: bool = False) -> Part:
    from raftcheck.model.scenarios import SCENARIOS, render_scenario, run_scenario

    try:
        results = [run_scenario(name, core) for name in SCENARIOS]
    except CoreFault as fault:  # a scripted scenario hit a failing core: a finding
        say(f"scenarios: CORE FAULT: {fault}\n")
        return Part("scenarios", "violation", f"the core failed: {fault}",
                    {"core_fault": str(fault)})
    failed = [result for result in results if not result.passed]
    for result in results if show_all else failed:
        say(render_scenario(result) + "\n")
    verdict = "clean" if not failed else "violation"
    summary = (f"{len(results) - len(failed)}/{len(results)} seed experiments behave as Raft "
               "should" + (f"; failed: {', '.join(r.name for r in failed)}" if failed else ""))
    return Part("scenarios", verdict, summary,
                {"scenarios": {r.name: r.passed for r in results}})


def run_fuzz(core: Core, seed: int, quick: bool, say: Any) -> Part:
    model = Model(core, Config(), FUZZ_BOUNDS)
    result = fuzz(model, seed=seed, profile="dev" if quick else "ci")
    verdict = cli.fuzz_verdict(result)
    if result.violation is not None:
        say(result.trace)
    summary = (f"{result.examples} runs, {result.steps} steps, {result.distinct_states} "
               f"distinct states, {len(result.goals)}/{len(GOALS)} goals, "
               f"{result.seconds:.0f} s")
    if result.violation is not None:
        summary += f"; {result.violation.property} in {len(result.actions)} steps"
    elif result.missing_goals:
        summary += f"; never reached: {', '.join(result.missing_goals)}"
    return Part("fuzz (Hypothesis)", verdict, summary, cli.fuzz_summary(result, model))


def run_explore(core: Core, quick: bool, say: Any) -> Part | None:
    from raftcheck.model import explore

    bounds = explore.DEFAULT_BOUNDS
    if quick:
        bounds = evolve(bounds, max_messages=3)
    model = Model(core, Config(cluster_size=explore.DEFAULT_NODES), bounds)
    result = explore.explore(model, strategy="bfs", symmetry=True)
    verdict = {"PASS": "clean", "VIOLATION": "violation"}.get(result.verdict, "inconclusive")
    summary = (f"BFS {result.verdict.lower()}: {result.distinct:,} distinct states "
               f"(symmetry-reduced), depth {result.depth}, {result.seconds:.0f} s, "
               f"{len(result.goals)}/{len(GOALS)} goals; bounds {bounds.describe()}")
    if result.violations:
        first = result.violations[0]
        say(render_trace(model, first.actions, first.violation, title="Shortest counterexample"))
        summary += f"; {first.violation.property} in {len(first.actions)} steps (shortest)"
    detail = {"verdict_detail": result.verdict, "distinct": result.distinct,
              "generated": result.generated, "depth": result.depth,
              "complete": result.complete, "goals_reached": sorted(result.goals),
              "bounds": bounds.describe(), "seconds": round(result.seconds, 3)}
    return Part("explore (exhaustive)", verdict, summary, detail)
