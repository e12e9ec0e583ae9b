"""The zoo is what it claims to be: at least fifteen real Raft bugs, each the correct core
with one rule changed, documented with its source and the property that catches it, and
catalogued (`model/zoo.py`) with every fact the engines and the docs use: the numbers live
in the catalogue only, and the z3 rule set it names is the one `raftcheck prove` uses."""

from __future__ import annotations

import inspect
import re

import attrs
import pytest

from raftcheck.impl.broken import BROKEN_CORES, ZOO
from raftcheck.impl.raft import CORE, RaftCore
from raftcheck.model.cores import BUNDLED
from raftcheck.model.scenarios import SCENARIOS, run_scenario
from raftcheck.model.zoo import BUGS, Bug
from raftcheck.properties import STATE_PROPERTIES, TRANSITION_PROPERTIES


def test_the_zoo_has_at_least_fifteen_bugs_and_every_one_is_catalogued() -> None:
    assert len(ZOO) >= 15
    assert list(BUGS) == [core.name for core in ZOO] == list(BROKEN_CORES)
    assert all(name in BUNDLED for name in BUGS)  # usable as --core NAME everywhere


@pytest.mark.parametrize("bug", BUGS.values(), ids=list(BUGS))
def test_each_bug_is_the_correct_core_with_one_rule_changed(bug: Bug) -> None:
    cls = type(bug.core)
    assert cls.__bases__ == (RaftCore,)
    overridden = [name for name, value in vars(cls).items()
                  if not name.startswith("__") and name != "name"
                  and (callable(value) or name == "max_entries_per_append")]
    assert 1 <= len(overridden) <= 2, overridden
    changed_lines = sum(len(inspect.getsource(getattr(cls, name)).splitlines())
                        for name in overridden if callable(getattr(cls, name)))
    assert changed_lines <= 12, f"{bug.name} is not a small variant ({changed_lines} lines)"


@pytest.mark.parametrize("bug", BUGS.values(), ids=list(BUGS))
def test_each_docstring_tells_the_story_and_leaves_the_numbers_to_the_catalogue(
        bug: Bug) -> None:
    doc = " ".join((type(bug.core).__doc__ or "").split())
    assert bug.breaks in doc, f"{bug.name}'s docstring does not name {bug.breaks}"
    assert not re.search(r"\b\d+ steps?\b", doc), \
        f"{bug.name}'s docstring restates a length: it belongs in model/zoo.py"
    assert "[" in doc, f"{bug.name}'s docstring cites no source"
    assert bug.breaks in {**STATE_PROPERTIES, **TRANSITION_PROPERTIES}
    assert all(prop in {**STATE_PROPERTIES, **TRANSITION_PROPERTIES} and length >= bug.shortest
               for prop, length in bug.then)


@pytest.mark.parametrize("bug", BUGS.values(), ids=list(BUGS))
def test_the_prove_rule_is_the_one_field_the_z3_rule_set_replaces(bug: Bug) -> None:
    from raftcheck.model.prove.encoding import CORRECT, NOT_ENCODED, RULES

    if bug.prove_rule is None:
        assert bug.name in NOT_ENCODED and bug.name not in RULES
        return
    rules = RULES[bug.name]
    replaced = {name for name in attrs.fields_dict(type(rules))
                if name != "name" and getattr(rules, name) is not getattr(CORRECT, name)}
    # batching is the world the replaced rule matters in, not a rule (see impl.broken)
    replaced.discard("max_entries_per_append")
    assert replaced == {bug.prove_rule}


def test_the_correct_core_passes_the_seed_experiments_that_the_zoo_report_shows() -> None:
    assert all(run_scenario(name, CORE).passed for name in SCENARIOS)


def test_some_zoo_bugs_break_the_seed_experiments_and_say_which() -> None:
    """`raftcheck break` names the seed experiments a bug breaks; an election bug such as the
    off-by-one quorum breaks split brain, while a bug in the vote check alone passes all of
    them (the scripted runs never give it the chance)."""
    assert not run_scenario("split-brain", BUGS["quorum-off-by-one"].core).passed
    assert all(run_scenario(name, BUGS["two-votes-per-term"].core).passed
               for name in SCENARIOS)
