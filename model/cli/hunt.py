"""`raftcheck hunt --core pysyncobj|raftos`: search a library's faithful core, confirm each
counterexample on the installed library (model/adapters/library_hunt.py)."""

from __future__ import annotations

import argparse
import importlib

from raftcheck.model.cli.common import resolve_seed
from raftcheck.model.cli.fuzz import LIBRARIES
from raftcheck.model.options import (
    add_bounds_arguments,
    add_property_arguments,
    bounds_from_args,
    properties_from_args,
)
from raftcheck.model.presets import ENGINE_BOUNDS
from raftcheck.model.verdict import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--core", required=True,
                        help="the library to hunt in: pysyncobj or raftos (each needs its extra)")
    parser.add_argument("--release", default=None,
                        help="the release whose faithful core is searched (default and only "
                             "choice: the installed library's; PySyncObj releases without a "
                             "core of their own take the one with their rules, "
                             "impl/pysyncobj.py SAME_RULES)")
    parser.add_argument("--engine", choices=tuple(ENGINE_BOUNDS), default="fuzz",
                        help="how the faithful core is searched: the Hypothesis engine "
                             "(shrunk counterexamples), or explore's breadth-first search "
                             "(the shortest counterexample of each property within the "
                             "bounds) (default: %(default)s)")
    parser.add_argument("--nodes", type=int, default=3, help="cluster size (default: 3)")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the search (default: drawn at random and printed)")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--examples", type=int, default=None,
                        help="runs of the faithful core to search (--engine fuzz; default: "
                             "the ci profile's)")
    budget.add_argument("--seconds", type=float, default=None,
                        help="time budget instead (--engine explore: its time limit; "
                             "default: none)")
    add_bounds_arguments(parser.add_argument_group(
        "bounds of the search (default: the engine's: raftcheck fuzz's or explore's)"), None)
    add_property_arguments(parser)
    parser.add_argument("--save", metavar="PATH", default=None,
                        help="where to save the library traces (a file or a directory; "
                             "default: ./raftcheck-traces/hunt-<library>-<seed>.json)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary only")


def run(args: argparse.Namespace) -> int:
    """Exit 1: a counterexample confirmed on the library; 3: counterexamples, none
    confirmed; 0: none found on the faithful core within the budget."""
    if args.core not in LIBRARIES:
        raise UsageError(f"hunt applies to a library with a faithful core "
                         f"({', '.join(LIBRARIES)}), not {args.core!r}")
    if args.examples is not None and args.examples < 1:
        raise UsageError("--examples must be at least 1")
    if args.seconds is not None and args.seconds <= 0:
        raise UsageError("--seconds must be positive")
    try:
        importlib.import_module(f"raftcheck.model.adapters.{LIBRARIES[args.core][0]}")
    except ImportError as error:
        raise UsageError(f"--core {args.core} needs {LIBRARIES[args.core][1]}: "
                         f"{error}") from None
    from raftcheck.model.adapters.library_fuzz import library_named
    from raftcheck.model.adapters.library_hunt import run_cli
    seed = resolve_seed(args.seed)
    try:
        return run_cli(
            library_named(args.core), args.release, args.nodes, seed, args.examples,
            args.seconds, args.json, args.save, args.engine,
            bounds_from_args(args, ENGINE_BOUNDS[args.engine]), properties_from_args(args))
    except ValueError as error:
        raise UsageError(str(error)) from None
