"""Command-line options every engine shares: which core, which world, which bounds."""

from __future__ import annotations

import argparse

from raftcheck.model.cores import CoreLoadError, load_core
from raftcheck.model.world import Bounds, Config, Model


def count(text: str) -> int:
    """An int >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def optional_count(text: str) -> int | None:
    """An int >= 0, or none/inf for unbounded."""
    if text.lower() in ("none", "inf", "unbounded"):
        return None
    return count(text)


def add_world_arguments(parser: argparse.ArgumentParser, defaults: Bounds,
                        nodes: int = 3) -> None:
    """--core, --nodes, --timed and every field of `Bounds`, with the engine's defaults."""
    d = defaults
    world = parser.add_argument_group("world and bounds (a successor outside them is not "
                                      "part of the model, like a TLC state constraint)")
    world.add_argument("--core", default="raft",
                       help="the core to check: raft, a broken core's name, or "
                            "module:object (default: %(default)s)")
    world.add_argument("--nodes", type=int, default=nodes,
                       help="cluster size (default: %(default)s)")
    world.add_argument("--timed", action="store_true",
                       help="the timed world (clock and seeded 150-300 ms election timeouts) "
                            "instead of untimed")
    world.add_argument("--max-term", type=count, default=d.max_term,
                       help="no election timeout past this term (default: %(default)s)")
    world.add_argument("--max-log", type=count, default=d.max_log,
                       help="longest log a leader grows by client requests "
                            "(default: %(default)s)")
    world.add_argument("--values", type=count, default=d.values,
                       help="distinct command values (default: %(default)s)")
    world.add_argument("--max-messages", type=count, default=d.max_messages,
                       help="messages in flight, the whole bag (default: %(default)s)")
    world.add_argument("--max-crashes", type=optional_count, default=d.max_crashes,
                       help="crashes in a behaviour, or 'none' (default: %(default)s)")
    world.add_argument("--max-partitions", type=optional_count, default=d.max_partitions,
                       help="partitions in a behaviour, or 'none' (default: %(default)s)")
    world.add_argument("--drop", action=argparse.BooleanOptionalAction, default=d.drop,
                       help="messages may be lost (default: %(default)s)")
    world.add_argument("--duplicate", action=argparse.BooleanOptionalAction,
                       default=d.duplicate, help="messages may be duplicated "
                                                 "(default: %(default)s)")


def model_from_args(args: argparse.Namespace, seed: int) -> Model:
    """The model the options describe. Raises ValueError with a one-line reason."""
    try:
        core = load_core(args.core)
    except CoreLoadError as error:
        raise ValueError(str(error)) from None
    bounds = Bounds(max_term=args.max_term, max_log=args.max_log, values=args.values,
                    max_messages=args.max_messages, max_crashes=args.max_crashes,
                    max_partitions=args.max_partitions, drop=args.drop,
                    duplicate=args.duplicate)
    config = Config(cluster_size=args.nodes, timing="timed" if args.timed else "untimed",
                    seed=seed)
    return Model(core, config, bounds)
