"""One options layer (model/options.py): the world's bounds options are derived from
`attrs.fields(Bounds)`, so a new bound is a new option of every command without touching
one, named, typed and defaulted like the field."""

from __future__ import annotations

import argparse

import attrs

from raftcheck.model.options import (
    BOUND_HELP,
    add_bounds_arguments,
    add_world_arguments,
    bounds_from_args,
)
from raftcheck.model.world import Bounds


def test_every_bound_has_an_option_with_the_presets_default() -> None:
    defaults = Bounds(max_term=5, max_log=3, values=2, max_messages=7, max_crashes=None,
                      max_partitions=2, drop=False, duplicate=True)
    parser = argparse.ArgumentParser()
    add_world_arguments(parser, defaults)
    options = {action.dest: action for action in parser._actions}
    for field in attrs.fields(Bounds):
        assert field.name in BOUND_HELP or field.metadata.get("help"), field.name
        assert options[field.name].option_strings[0] == "--" + field.name.replace("_", "-")
    assert bounds_from_args(parser.parse_args([])) == defaults
    parsed = parser.parse_args(["--max-term", "1", "--max-crashes", "2", "--max-partitions",
                                "none", "--drop", "--no-duplicate"])
    assert bounds_from_args(parsed) == attrs.evolve(
        defaults, max_term=1, max_crashes=2, max_partitions=None, drop=True, duplicate=False)


def test_bounds_without_defaults_take_the_preset_chosen_after_parsing() -> None:
    """`raftcheck hunt` adds the options without defaults: the engine it names picks the
    preset, and only the bounds given override it (an unbounded one included)."""
    preset = Bounds(max_term=2, max_log=1, values=1, max_messages=4, max_crashes=0,
                    max_partitions=0, drop=False, duplicate=False)
    parser = argparse.ArgumentParser()
    add_bounds_arguments(parser, None)
    assert bounds_from_args(parser.parse_args([]), preset) == preset
    parsed = parser.parse_args(["--max-log", "2", "--max-crashes", "none", "--drop"])
    assert bounds_from_args(parsed, preset) == attrs.evolve(
        preset, max_log=2, max_crashes=None, drop=True)
