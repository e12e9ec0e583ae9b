"""Every liveness zoo bug (impl/stalled.py, catalogued in model/zoo.py) is caught by the
progress properties, by the catalogued one, within its pinned seed and budget, with a trace
that replays; none of them breaks a safety property along the way; `raftcheck break` lists
them apart from the safety bugs."""

from __future__ import annotations

import pytest

from raftcheck.impl.broken import BROKEN_CORES
from raftcheck.impl.stalled import LIVENESS_ZOO
from raftcheck.model.breaking import liveness_model
from raftcheck.model.cli import main
from raftcheck.model.fuzz import fuzz
from raftcheck.model.shrink import first_violation
from raftcheck.model.stateful import FUZZ_BOUNDS
from raftcheck.model.verdict import Exit
from raftcheck.model.world import Config, Model
from raftcheck.model.zoo import LIVENESS_BUGS, LivenessBug
from raftcheck.properties import LIVENESS


def test_every_liveness_core_is_catalogued_apart_from_the_safety_zoo() -> None:
    assert [core.name for core in LIVENESS_ZOO] == list(LIVENESS_BUGS)
    assert len(LIVENESS_BUGS) >= 6
    assert not set(LIVENESS_BUGS) & set(BROKEN_CORES)
    assert {bug.breaks for bug in LIVENESS_BUGS.values()} <= set(LIVENESS.names)


@pytest.mark.parametrize("bug", LIVENESS_BUGS.values(), ids=lambda bug: bug.name)
def test_the_progress_properties_catch_it(bug: LivenessBug) -> None:
    model = liveness_model(bug.core, bug.seed)
    result = fuzz(model, seed=bug.seed, examples=bug.examples)
    assert result.violation is not None, f"{bug.name} escaped"
    assert result.violation.property == bug.breaks
    assert result.examples <= bug.examples
    replayed = first_violation(model, result.actions)
    assert replayed is not None and replayed.violation == result.violation


@pytest.mark.parametrize("bug", LIVENESS_BUGS.values(), ids=lambda bug: bug.name)
def test_it_breaks_no_safety_property(bug: LivenessBug) -> None:
    """The runs that catch it, with the safety properties alone, find nothing, and neither
    do 50 runs in the untimed world: the bug is one of liveness. (A first version of
    step-down-on-rejected-append forgot its vote on stepping down, and failed here.)"""
    timed = liveness_model(bug.core, bug.seed)
    for model, examples in ((Model(bug.core, timed.config, FUZZ_BOUNDS), bug.examples),
                            (Model(bug.core, Config(), FUZZ_BOUNDS), 50)):
        result = fuzz(model, seed=bug.seed, examples=examples)
        assert result.violation is None, result.trace


def test_break_lists_them_apart(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["break", "--list"]) == Exit.CLEAN
    out = capsys.readouterr().out
    safety, _, liveness = out.partition("liveness (")
    assert all(name in liveness and name not in safety for name in LIVENESS_BUGS)
    assert main(["break", "--liveness", "strictly-more-up-to-date", "--seed", "0",
                 "--fuzz-seconds", "5"]) == Exit.CLEAN
    assert "every liveness bug caught by at least one check (1 bugs)" in \
        capsys.readouterr().out
    assert main(["break", "--liveness", "quorum-off-by-one"]) == Exit.USAGE
