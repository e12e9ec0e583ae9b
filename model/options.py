"""Command-line options every engine shares: which core, which world, which bounds.

The bounds options are derived from `attrs.fields(Bounds)`: one option per field, named after
it (`max_term` -> `--max-term`), typed by its annotation (an int is a count >= 0, an optional
int also takes 'none', a bool is a --x/--no-x switch), defaulting to the engine's preset.
"""

from __future__ import annotations

import argparse
import typing
from typing import Any

import attrs

from raftcheck.model.cores import CoreLoadError, load_core
from raftcheck.model.world import Bounds, Config, Model
from raftcheck.properties import (
    ALL_PROPERTIES,
    LIVENESS_TIMED,
    LIVENESS_UNTIMED,
    RAFT_PROPERTIES,
    Properties,
    with_liveness,
)


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


# What each bound means on the command line, before "(default: ...)". A field's own
# `metadata["help"]` takes precedence (model/world.py may carry it there one day);
# `test_every_bound_has_an_option` checks that no field is left without one.
BOUND_HELP = {
    "max_term": "no election timeout past this term",
    "max_log": "longest log a leader grows by client requests",
    "values": "distinct command values",
    "max_messages": "messages in flight, the whole bag",
    "max_crashes": "crashes in a behaviour, or 'none'",
    "max_partitions": "partitions in a behaviour, or 'none'",
    "drop": "messages may be lost",
    "duplicate": "messages may be duplicated",
}


def option_name(field: attrs.Attribute[Any]) -> str:
    """The option of a `Bounds` field: `max_term` -> `--max-term`."""
    return "--" + field.name.replace("_", "-")


def bound_help(field: attrs.Attribute[Any]) -> str:
    return str(field.metadata.get("help") or BOUND_HELP.get(field.name) or
               field.name.replace("_", " "))


def _option_kind(field: attrs.Attribute[Any]) -> dict[str, Any]:
    """argparse keywords for a field, from its (resolved) annotation."""
    if field.type is bool:
        return {"action": argparse.BooleanOptionalAction}
    if field.type is int:
        return {"type": count}
    if set(typing.get_args(field.type)) == {int, type(None)}:
        return {"type": optional_count}
    raise TypeError(f"Bounds.{field.name}: no command-line option for type {field.type!r}")


def bound_fields() -> tuple[attrs.Attribute[Any], ...]:
    """The fields of `Bounds`, their annotations resolved (model/world.py postpones them)."""
    return tuple(attrs.fields(attrs.resolve_types(Bounds)))


def add_bounds_arguments(group: argparse._ActionsContainer, defaults: Bounds | None) -> None:
    """One option per field of `Bounds`, defaulting to `defaults`; None: to a preset chosen
    after parsing (`bounds_from_args(args, preset)`), e.g. by an engine option."""
    for field in bound_fields():
        default = argparse.SUPPRESS if defaults is None else getattr(defaults, field.name)
        shown = "the engine's" if defaults is None else "%(default)s"
        group.add_argument(option_name(field), dest=field.name, default=default,
                           help=f"{bound_help(field)} (default: {shown})",
                           **_option_kind(field))


def add_world_arguments(parser: argparse.ArgumentParser, defaults: Bounds,
                        nodes: int = 3) -> None:
    """--core, --nodes, --timed and every field of `Bounds`, with the engine's defaults."""
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
    add_bounds_arguments(world, defaults)
    add_property_arguments(parser)


def add_property_arguments(parser: argparse.ArgumentParser) -> None:
    """--property and --ignore: which of the model's properties the engines check."""
    names = ", ".join(ALL_PROPERTIES.names)
    checks = parser.add_argument_group("properties (default: every property the model "
                                       "carries)")
    checks.add_argument("--property", dest="properties", action="append", metavar="NAME",
                        default=None, help="check only this property (repeatable; the "
                                           f"reachability goals are always tracked): {names}")
    checks.add_argument("--ignore", dest="ignored", action="append", metavar="NAME",
                        default=None, help="do not check this property (repeatable)")
    checks.add_argument("--liveness", action="store_true",
                        help="also check the progress properties: in the timed world (" +
                             ", ".join(LIVENESS_TIMED.names) + ") after each run of the "
                             "Hypothesis engine, over a stabilisation phase; in the untimed "
                             "world (" + ", ".join(LIVENESS_UNTIMED.names) + ") by the "
                             "exhaustive search, as fair cycles (docs/liveness.md)")


def properties_from_args(args: argparse.Namespace) -> Properties:
    """The properties the options select: the safety properties, plus with --liveness the
    progress ones of the world (`--timed` or not); --property may name any. Raises
    ValueError naming an unknown property."""
    chosen = with_liveness(getattr(args, "timed", False)) if getattr(args, "liveness", False) \
        else RAFT_PROPERTIES
    if getattr(args, "properties", None):
        chosen = ALL_PROPERTIES.selecting(args.properties)
    if getattr(args, "ignored", None):
        ignored = set(ALL_PROPERTIES.ignoring(args.ignored).names)  # checks the names
        chosen = Properties(tuple(p for p in chosen.all if p.name in ignored))
    return chosen


def bounds_from_args(args: argparse.Namespace, preset: Bounds | None = None) -> Bounds:
    """The `Bounds` the options describe, those not given taken from `preset` (for options
    added without defaults). Raises ValueError with a one-line reason."""
    return Bounds(**{field.name: getattr(args, field.name) if preset is None else
                     getattr(args, field.name, getattr(preset, field.name))
                     for field in attrs.fields(Bounds)})


def model_from_args(args: argparse.Namespace, seed: int) -> Model:
    """The model the options describe. Raises ValueError with a one-line reason."""
    try:
        core = load_core(args.core)
    except CoreLoadError as error:
        raise ValueError(str(error)) from None
    config = Config(cluster_size=args.nodes, timing="timed" if args.timed else "untimed",
                    seed=seed)
    properties = properties_from_args(args)
    if properties.progress and config.timing != "timed":
        names = ", ".join(sorted(properties.progress_names))
        raise ValueError(f"the progress properties ({names}) are checked in the timed world "
                         "only, by raftcheck fuzz --timed")
    if properties.fair and config.timing == "timed":
        names = ", ".join(sorted(properties.fair_names))
        raise ValueError(f"the fair-cycle progress properties ({names}) are checked in the "
                         "untimed world only, by raftcheck explore: drop --timed")
    return Model(core, config, bounds_from_args(args), properties=properties)
