"""`raftcheck explore`: the bounded exhaustive search (model/explore.py) on the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from raftcheck.model.cli.common import add_force_argument, refuse_to_overwrite, write_new
from raftcheck.model.explore import (
    DEFAULT_BOUNDS,
    DEFAULT_NODES,
    STRATEGIES,
    ExploreResult,
    explore,
    format_result,
)
from raftcheck.model.options import add_world_arguments, count, model_from_args, optional_count
from raftcheck.model.search.lasso import LassoResult, format_lasso_result, lasso_search
from raftcheck.model.trace import render_trace, replayable
from raftcheck.model.tracefile import add_save_arguments, record, save_from_args
from raftcheck.model.verdict import Exit, UsageError
from raftcheck.model.world import Model

SIMULATION: dict[str, Any] = {"walks": 1000, "depth": 100, "bias": "uniform"}


def simulation_options(args: argparse.Namespace) -> None:
    """Refuse a simulation option given to another strategy; fill in the defaults."""
    given = [name for name in SIMULATION if hasattr(args, name)]
    if given and args.strategy != "simulate":
        raise UsageError(f"--{given[0]} applies to --strategy simulate only")
    for name, value in SIMULATION.items():
        if not hasattr(args, name):
            setattr(args, name, value)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `raftcheck explore`."""
    add_world_arguments(parser, DEFAULT_BOUNDS, DEFAULT_NODES)
    search = parser.add_argument_group("search")
    search.add_argument("--strategy", choices=STRATEGIES, default="bfs",
                        help="bfs (shortest counterexample), dfs, iddfs (iterative "
                             "deepening), simulate (random walks) (default: %(default)s)")
    search.add_argument("--symmetry", action=argparse.BooleanOptionalAction, default=True,
                        help="reduce under node relabelling (default: on)")
    search.add_argument("--all", "--continue", dest="all_violations", action="store_true",
                        help="keep going after a violation and collect one per property "
                             "(the shortest for each)")
    search.add_argument("--workers", type=int, default=1,
                        help="BFS worker processes, or Ray actors with --ray "
                             "(default: %(default)s)")
    search.add_argument("--ray", metavar="ADDRESS", default=None,
                        help="run the BFS workers on Ray: local (a Ray of --workers CPUs "
                             "started here), auto (the cluster this machine is in), "
                             "HOST:PORT or ray://HOST:PORT (needs the ray extra)")
    search.add_argument("--max-depth", type=count, default=None,
                        help="stop expanding past this many steps (the run is incomplete)")
    search.add_argument("--max-states", type=count, default=None,
                        help="stop after this many distinct states (incomplete)")
    search.add_argument("--max-seconds", type=float, default=None,
                        help="stop after this long (incomplete)")
    search.add_argument("--exact", action="store_true",
                        help="keep every state's encoding to detect fingerprint collisions")
    simulation = parser.add_argument_group("simulation (--strategy simulate)")
    simulation.add_argument("--seed", type=int, default=0, help="random seed")
    # Left unset unless given, so that giving one to another strategy is refused rather than
    # silently ignored (`simulation_options`).
    simulation.add_argument("--walks", type=optional_count, default=argparse.SUPPRESS,
                            help="number of walks, or 'none' to run until a limit "
                                 f"(default: {SIMULATION['walks']})")
    simulation.add_argument("--depth", type=count, default=argparse.SUPPRESS,
                            help=f"steps per walk (default: {SIMULATION['depth']})")
    simulation.add_argument("--bias", choices=("uniform", "kind"), default=argparse.SUPPRESS,
                            help="uniform over actions, or over action kinds first "
                                 f"(default: {SIMULATION['bias']})")
    output = parser.add_argument_group("long runs and output")
    output.add_argument("--checkpoint", metavar="DIR", default=None,
                        help="write the search state to DIR periodically and when stopped")
    output.add_argument("--checkpoint-every", type=float, default=60.0, metavar="SECONDS",
                        help="seconds between checkpoints (default: %(default)s)")
    output.add_argument("--resume", metavar="DIR", default=None,
                        help="continue the search checkpointed in DIR")
    output.add_argument("--json", action="store_true",
                        help="print a JSON summary on stdout instead of the report")
    output.add_argument("--trace-out", metavar="FILE", default=None,
                        help="save the first counterexample as a replayable Python file")
    add_force_argument(parser)
    output.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="live progress on stderr (default: when stderr is a terminal)")
    add_save_arguments(parser)


def build_model(args: argparse.Namespace) -> Model:
    """The model the CLI options describe. Raises UsageError on impossible values."""
    try:
        model = model_from_args(args, args.seed)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if model.properties.progress:
        raise UsageError("the timed progress properties ("
                         + ", ".join(sorted(model.properties.progress_names)) + ") are "
                         "checked by raftcheck fuzz --timed (after each run), not by the "
                         "exhaustive search, which checks the untimed ones (docs/liveness.md)")
    return model


def run(args: argparse.Namespace) -> int:
    """`raftcheck explore`: 0 complete and clean, 1 violation, 2 bad usage, 3 incomplete or
    complete but vacuous (a goal the bounds allow never reached). With fair progress
    properties (--liveness), a clean search is followed by the lasso search
    (model/search/lasso.py), and its verdict counts too."""
    try:
        refuse_to_overwrite(args.trace_out, args.force)
        simulation_options(args)
        model = build_model(args)
        progress = args.progress if args.progress is not None else sys.stderr.isatty()
        result = explore(
            model, strategy=args.strategy, symmetry=args.symmetry,
            max_states=args.max_states, max_seconds=args.max_seconds,
            max_depth=args.max_depth, workers=args.workers,
            all_violations=args.all_violations, checkpoint=args.checkpoint,
            checkpoint_every=args.checkpoint_every, resume=args.resume, seed=args.seed,
            walks=args.walks, walk_depth=args.depth, bias=args.bias, exact=args.exact,
            progress=progress, ray=args.ray)
    except (UsageError, OSError) as error:  # OSError: an unwritable checkpoint directory
        print(f"raftcheck explore: error: {error}", file=sys.stderr)
        return Exit.USAGE
    lasso = _lasso(args, model, result, progress)
    if args.trace_out and result.violations:
        found = result.violations[0]
        try:
            write_new(args.trace_out,
                      f'"""{found.property} counterexample: core={model.core.name} '
                      f"nodes={model.config.cluster_size} bounds: {model.bounds.describe()}\n"
                      f'{found.violation.detail}"""\n' + replayable(found.actions) + "\n",
                      args.force)
        except UsageError as error:
            print(f"raftcheck explore: error: {error}", file=sys.stderr)
    saved = _save_counterexamples(args, model, result)
    saved_lassos = [] if lasso is None else _save_lassos(args, model, lasso)
    if args.json:
        summary = result.to_json()
        summary["traces"] = [render_trace(model, found.actions, found.violation)
                             for found in result.violations]
        summary["trace_files"] = [None if path is None else str(path) for path in saved]
        if model.properties.fair:
            summary["liveness"] = None if lasso is None else {
                **lasso.to_json(),
                "trace_files": [None if path is None else str(path) for path in saved_lassos]}
            summary["exit_code"] = int(_exit_code(result, lasso))
        print(json.dumps(summary, indent=2))
    else:
        print(format_result(result, model))
        for path in saved:
            if path is not None:
                print(f"trace saved: {path} (raftcheck replay {path})")
        if lasso is not None:
            print()
            print(format_lasso_result(lasso, model))
            for path in saved_lassos:
                if path is not None:
                    print(f"trace saved: {path} (raftcheck replay {path})")
        elif model.properties.fair:
            print("liveness: not checked (the lasso search runs after a complete search "
                  "without a violation)")
        resumable = ("interrupted", "max_seconds", "max_states", "max_depth")
        if args.checkpoint is not None and result.stop_reason in resumable:
            print(f"checkpoint: {args.checkpoint} (continue with the same options and "
                  f"--resume {args.checkpoint})")
    return _exit_code(result, lasso)


def _lasso(args: argparse.Namespace, model: Model, result: ExploreResult,
           progress: bool) -> LassoResult | None:
    """The lasso search, when the model carries fair progress properties and the search
    before it was complete without a violation; within what is left of --max-seconds."""
    if not model.properties.fair or not result.complete or result.violations:
        return None
    left = None if args.max_seconds is None else max(args.max_seconds - result.seconds, 0.0)
    return lasso_search(model, symmetry=args.symmetry, max_seconds=left,
                        max_states=args.max_states, progress=progress)


def _exit_code(result: ExploreResult, lasso: LassoResult | None) -> Exit:
    """A violation of either search, else an inconclusive one, else clean."""
    codes = [result.verdict.exit_code] + ([] if lasso is None else [lasso.exit_code])
    for code in (Exit.VIOLATION, Exit.INCONCLUSIVE):
        if code in codes:
            return code
    return Exit.CLEAN


def _save_lassos(args: argparse.Namespace, model: Model,
                 lasso: LassoResult) -> list[Path | None]:
    """Each lasso as a trace file with its loop (`--save`/`--no-save`)."""
    saved: list[Path | None] = []
    for found in lasso.lassos:
        path, error = save_from_args(args, record(
            model, engine="explore-liveness", core_spec=args.core, seed=None,
            actions=found.actions, violation=found.violation, loop=found.loop,
            metadata={"prefix": len(found.prefix), "cycle": len(found.cycle),
                      "distinct": lasso.distinct, "seconds": round(lasso.seconds, 3)}))
        if error is not None:
            print(f"raftcheck explore: warning: lasso not saved: {error}", file=sys.stderr)
        saved.append(path)
    return saved


def _save_counterexamples(args: argparse.Namespace, model: Model,
                          result: ExploreResult) -> list[Path | None]:
    """Each counterexample as a trace file (`--save`/`--no-save`, model.tracefile); a file
    that cannot be written is a warning, never a lost result."""
    seed = args.seed if args.strategy == "simulate" else None
    saved: list[Path | None] = []
    for found in result.violations:
        path, error = save_from_args(args, record(
            model, engine="explore", core_spec=args.core, seed=seed, actions=found.actions,
            violation=found.violation, metadata={
                "strategy": result.strategy, "shortest": found.shortest,
                "distinct": result.distinct, "generated": result.generated,
                "seconds": round(result.seconds, 3)}))
        if error is not None:
            print(f"raftcheck explore: warning: counterexample not saved: {error}",
                  file=sys.stderr)
        saved.append(path)
    return saved
