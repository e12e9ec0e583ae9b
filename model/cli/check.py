"""`raftcheck check`: every engine on its defaults (model/check.py), one summary table."""

from __future__ import annotations

import argparse
import json
import os
import sys

from rich.console import Console
from rich.table import Table

from raftcheck.model.check import check
from raftcheck.model.cli.common import resolve_seed
from raftcheck.model.cores import CoreLoadError, load_core
from raftcheck.model.options import add_property_arguments, properties_from_args
from raftcheck.model.verdict import UsageError, Verdict

DEFAULT_WORKERS = min(2, os.cpu_count() or 1)
STYLE = {Verdict.CLEAN: "green", Verdict.VIOLATION: "bold red", Verdict.INCONCLUSIVE: "yellow"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--core", default="raft",
                        help="core to check: raft (bundled), a broken core's name, or "
                        "module:object (default: raft)")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed for the engines that draw (default: random, printed)")
    parser.add_argument("--quick", action="store_true",
                        help="smaller budgets (the dev profile; the exhaustive portfolio without "
                             "its largest bound set)")
    parser.add_argument("--show-scenarios", action="store_true",
                        help="print each seed scenario in full (trace, question, answer, checks)")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                        help="processes sharing the exhaustive bound sets; the results do not "
                             f"depend on it (default: {DEFAULT_WORKERS}, this machine's cores "
                             "up to 2)")
    add_property_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print a JSON summary only")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="say on stderr which part runs and how far it is (default: when "
                             "stderr is a terminal)")


def word(verdict: Verdict) -> str:
    """How `check` prints a verdict: clean | violation | inconclusive."""
    return verdict.value.lower()


def run(args: argparse.Namespace) -> int:
    seed = resolve_seed(args.seed)
    try:
        core = load_core(args.core)
        properties = properties_from_args(args)
    except (CoreLoadError, ValueError) as error:
        raise UsageError(str(error)) from None
    say = (lambda text: None) if args.json else print
    say(f"raftcheck check: core={core.name} seed={seed}")
    console = Console(stderr=True)
    shown = console.is_terminal if args.progress is None else args.progress
    if shown and console.is_terminal:  # a live line, rewritten in place
        with console.status("check: starting") as status:
            result = check(core, seed, quick=args.quick, show_scenarios=args.show_scenarios,
                           workers=args.workers, properties=properties,
                           say=say, progress=lambda text: status.update(f"check: {text}"))
    else:  # plain lines, for a log (or nothing)
        result = check(core, seed, quick=args.quick, show_scenarios=args.show_scenarios,
                       workers=args.workers, properties=properties, say=say,
                       progress=(lambda text: print(f"check: {text}",
                                                              file=sys.stderr))
                       if shown else None)
    if args.json:
        print(json.dumps({"engine": "check", "core": core.name, "seed": seed,
                          "verdict": word(result.verdict),
                          "parts": [{"engine": p.engine, "verdict": word(p.verdict),
                                     "summary": p.summary, **p.detail} for p in result.parts]},
                         indent=2))
    else:
        table = Table(title=f"raftcheck check: {core.name} (seed {seed})")
        table.add_column("engine")
        table.add_column("verdict")
        table.add_column("what it did")
        for part in result.parts:
            table.add_row(part.engine, f"[{STYLE[part.verdict]}]{word(part.verdict)}[/]",
                          part.summary)
        Console().print(table)
        print(f"overall: {word(result.verdict).upper()}")
    return result.verdict.exit_code
