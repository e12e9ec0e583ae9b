"""`raftcheck`: one entry point, a subcommand per engine.

Exit codes, the same for every subcommand:
  0  clean: every property held and the run was conclusive
  1  a property was violated (the counterexample is printed)
  2  bad usage or input (one-line message on stderr)
  3  inconclusive: the search stopped on a bound/limit, or reached none of the goals
  4  a library adapter failed (fuzz --core pysyncobj or raftos): not a finding about Raft
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import sys
from collections.abc import Callable, Sequence

from raftcheck.model.cli.common import ArgumentParser, resolve_seed
from raftcheck.model.cores import BUNDLED
from raftcheck.model.search.common import WorkerLost
from raftcheck.model.verdict import Exit, UsageError

__all__ = ["ArgumentParser", "UsageError", "build_parser", "main", "resolve_seed"]

Command = tuple[str, Callable[[argparse.ArgumentParser], None],
                Callable[[argparse.Namespace], int]]


def commands() -> list[Command]:
    from raftcheck.model.cli import (
        breaking,
        check,
        diff,
        explore,
        fuzz,
        hunt,
        prove,
        replay,
        timing,
    )

    return [
        ("check", check.add_arguments, check.run),
        ("fuzz", fuzz.add_arguments, fuzz.run),
        ("explore", explore.add_arguments, explore.run),
        ("break", breaking.add_arguments, breaking.run),
        ("replay", replay.add_arguments, replay.run),
        ("diff", diff.add_arguments, diff.run),
        ("hunt", hunt.add_arguments, hunt.run),
        ("prove", prove.add_arguments, prove.run),
        ("timing", timing.add_arguments, timing.run),
    ]


HELP = {
    "prove": "z3: the safety invariant is inductive for bounded sizes, or a minimal CTI",
    "break": "every engine against every bug in the zoo of broken cores: which catches what, "
             "how fast, how short",
    "diff": "verify a refactor: drive two cores with the same schedules and show where they "
            "first disagree (--compare state/messages/properties)",
    "check": "the full default suite against a core: scenarios, fuzzing, exhaustive search",
    "fuzz": "Hypothesis stateful exploration for a budget of runs or seconds",
    "explore": "bounded exhaustive search (BFS/DFS/simulation) with shortest counterexamples",
    "replay": "re-run a saved trace file against a core; --shrink, --format mermaid|html",
    "hunt": "search a library's faithful core (--core pysyncobj, raftos), then confirm each "
            "counterexample on the library: CONFIRMED, NOT CONFIRMED or CANNOT APPLY",
    "timing": "the Raft paper's Figure 16: time to elect a new leader after the leader "
              "crashes, per election-timeout range, beside the paper's figures; --plot FILE",
}


def _version() -> str:
    try:
        return importlib.metadata.version("raftcheck")
    except importlib.metadata.PackageNotFoundError:  # a source tree that was never installed
        return "(not installed)"


def build_parser() -> tuple[ArgumentParser, dict[str, Callable[[argparse.Namespace], int]]]:
    parser = ArgumentParser(prog="raftcheck", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--list-cores", action="store_true",
                        help="list the bundled and deliberately broken cores and exit")
    parser.add_argument("--version", action="version", version=f"raftcheck {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    runners = {}
    for name, add_arguments, run in commands():
        subparser = sub.add_parser(name, help=HELP.get(name), description=HELP.get(name))
        add_arguments(subparser)
        runners[name] = run
    return parser, runners


def main(argv: Sequence[str] | None = None) -> int:
    parser, runners = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.list_cores:
            for name, core in BUNDLED.items():
                doc = (type(core).__doc__ or "").strip().split("\n")[0]
                print(f"{name:36s} {doc}")
            return Exit.CLEAN
        if args.command is None:
            parser.print_help()
            return Exit.USAGE
        return runners[args.command](args)
    except UsageError as error:
        print(f"raftcheck {args.command}: error: {error}", file=sys.stderr)
        return Exit.USAGE
    except KeyboardInterrupt:
        print("raftcheck: interrupted", file=sys.stderr)
        return Exit.INCONCLUSIVE
    except WorkerLost as error:  # killed from outside (out of memory, a signal to it alone)
        print(f"raftcheck {args.command}: stopped: {str(error).splitlines()[0]}; nothing "
              "was concluded", file=sys.stderr)
        return Exit.INCONCLUSIVE
    except BrokenPipeError:  # `raftcheck ... | head`: the reader left before the report ended
        _silence_stdout()
        return Exit.INCONCLUSIVE


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python's own flush at exit does not fail again on
    the closed pipe (and print a traceback)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)

