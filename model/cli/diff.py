"""`raftcheck diff OLD NEW`: verify a refactor (model/diff.py) on the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from raftcheck.model.cores import CoreLoadError, load_core
from raftcheck.model.diff import (
    DIFF_BOUNDS,
    DIFF_EXAMPLES,
    DIFF_STEPS,
    ENGINES,
    DiffResult,
    diff,
    render,
    to_json,
)
from raftcheck.model.lockstep import LEVELS
from raftcheck.model.options import (
    add_bounds_arguments,
    add_property_arguments,
    bounds_from_args,
    count,
    properties_from_args,
)
from raftcheck.model.shrink import first_violation
from raftcheck.model.stateful import FUZZ_BOUNDS
from raftcheck.model.tracefile import add_save_arguments, record, save_from_args
from raftcheck.model.verdict import UsageError
from raftcheck.model.world import Config, Core


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("old", metavar="OLD",
                        help="the reference core: raft, a bundled core's name, module:object "
                             "or path/to/file.py:object")
    parser.add_argument("new", metavar="NEW", help="the refactored core, likewise")
    parser.add_argument("--compare", choices=LEVELS, default="state",
                        help="state: node state after every step; messages: also every "
                             "message sent; properties: only that both satisfy every "
                             "property (default: %(default)s)")
    parser.add_argument("--engine", choices=ENGINES, default="both",
                        help="exhaustive (BFS within the bounds), random (Hypothesis), or "
                             "both, exhaustive first (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the random schedules (default: %(default)s)")
    parser.add_argument("--examples", type=count, default=DIFF_EXAMPLES,
                        help="runs of the Hypothesis engine on the pair, within the fuzz "
                             f"engine's bounds ({FUZZ_BOUNDS.describe()}); the default "
                             "finds every zoo bug at --compare properties, in the cluster "
                             "size the bug needs (default: %(default)s)")
    parser.add_argument("--steps", type=count, default=DIFF_STEPS,
                        help="actions per random run (default: %(default)s)")
    parser.add_argument("--workers", type=count, default=1,
                        help="processes for both engines (BFS shares out each level, the "
                             "Hypothesis engine its batches of runs); the result does not "
                             "depend on it (default: %(default)s)")
    parser.add_argument("--max-states", type=count, default=None,
                        help="stop the exhaustive search after this many pair states "
                             "(inconclusive)")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="stop the exhaustive search after this long (inconclusive)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary only")
    add_save_arguments(parser)
    add_property_arguments(parser)
    world = parser.add_argument_group("exhaustive bounds (the random part runs within the "
                                      "fuzz engine's)")
    world.add_argument("--nodes", type=int, default=3,
                       help="cluster size, for both engines (default: %(default)s)")
    add_bounds_arguments(world, DIFF_BOUNDS)


def run(args: argparse.Namespace) -> int:
    try:
        old, new = load_core(args.old), load_core(args.new)
        config = Config(cluster_size=args.nodes)
        bounds = bounds_from_args(args)
        if args.steps < 1 or args.workers < 1 or (args.engine != "exhaustive"
                                                  and args.examples < 1):
            raise UsageError("--steps, --workers and --examples must be at least 1")
        if args.max_seconds is not None and args.max_seconds <= 0:
            raise UsageError("--max-seconds must be positive")
        result = diff(old, new, level=args.compare, config=config, bounds=bounds,
                      engine=args.engine, seed=args.seed, examples=args.examples,
                      steps=args.steps, max_states=args.max_states,
                      max_seconds=args.max_seconds, workers=args.workers,
                      properties=properties_from_args(args))
    except (CoreLoadError, ValueError) as error:  # UsageError is a ValueError
        raise UsageError(str(error)) from None
    saved = save_divergence(args, result, old, new)
    if args.json:
        summary = to_json(result)
        summary["saved"] = None if saved is None else str(saved)
        print(json.dumps(summary, indent=2))
    else:
        print(render(result, old, new))
        if saved is not None:
            print(f"saved: {saved} (NEW's side of the schedule; `raftcheck replay` runs it)")
    return result.exit_code


def save_divergence(args: argparse.Namespace, result: DiffResult, old: Core,
                    new: Core) -> Path | None:
    """Save the divergence as a trace file (model/tracefile.py) of the NEW core's side of the
    schedule: its violation when it is NEW that breaks a property, else none (the cores
    differ, but NEW alone may be correct), with the comparison in `metadata["diff"]`."""
    found = result.divergence
    if found is None:
        return None
    bounds = result.bounds if found.engine == "exhaustive" else result.random_bounds
    model = result.model(new, bounds)
    actions = [a.new for a in found.actions if a.new is not None]
    violation = None
    if result.level == "properties" and found.detail[0].startswith("NEW violates"):
        outcome = first_violation(model, actions)
        violation = None if outcome is None else outcome.violation
    if any(line.startswith("NEW fails") for line in found.detail):
        violation = None  # the failing step is NEW's last action; replay reports it
    saved, error = save_from_args(args, record(
        model, engine="diff", core_spec=args.new, seed=result.seed, actions=actions,
        violation=violation, metadata={"diff": {
            "old": args.old, "new": args.new, "compare": result.level,
            "found_by": found.engine, "detail": list(found.detail),
            "old_actions": [repr(a.old) for a in found.actions]}}))
    if error is not None:
        print(f"raftcheck diff: warning: divergence not saved: {error}", file=sys.stderr)
    return saved
