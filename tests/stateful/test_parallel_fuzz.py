"""Fuzzing in several processes (`fuzz(..., workers=N)`, `raftcheck fuzz --workers N`).

What these protect: a seed and an example budget name one run of the Hypothesis engine, so
`workers` may only change how fast it goes, never what it finds: the same failing run (taken
in batch order, even when a later batch fails first), the same counts on a clean run. And the
batch plan is fixed by the budget alone, which is what makes that possible. `minimise=False`
(for benchmarks that only count finds) returns that same failing run, unshrunk."""

from __future__ import annotations

from itertools import islice

import pytest

from raftcheck.impl.raft import CORE
from raftcheck.model.cli import main
from raftcheck.model.fuzz import BATCH, batch_plan, fuzz
from raftcheck.model.stateful import FUZZ_BOUNDS
from raftcheck.model.world import Config, Model
from raftcheck.model.zoo import BUGS


def test_the_batch_plan_depends_on_the_budget_only() -> None:
    assert list(batch_plan(2 * BATCH + 20)) == [BATCH, BATCH, 20]
    assert list(batch_plan(2 * BATCH)) == [BATCH, BATCH]
    assert list(islice(batch_plan(None), 3)) == [BATCH] * 3


def test_workers_find_the_same_failing_run() -> None:
    """two-votes-per-term with seed 0 first fails in the second batch: the parallel run
    must wait for the first batch before reporting it."""
    bug = BUGS["two-votes-per-term"]
    model = Model(bug.core, Config(bug.nodes), FUZZ_BOUNDS)
    one = fuzz(model, seed=0, examples=150)
    two = fuzz(model, seed=0, examples=150, workers=2)
    assert one.violation is not None and one.examples > BATCH
    assert (two.violation, two.actions, two.found_length, two.examples, two.steps) == (
        one.violation, one.actions, one.found_length, one.examples, one.steps)


def test_without_minimising_the_failing_run_comes_back_as_found() -> None:
    bug = BUGS["two-votes-per-term"]
    model = Model(bug.core, Config(bug.nodes), FUZZ_BOUNDS)
    raw = fuzz(model, seed=0, examples=150, workers=2, minimise=False)
    shrunk = fuzz(model, seed=0, examples=150)
    assert raw.violation is not None and raw.trace is None
    assert len(raw.actions) == raw.found_length == shrunk.found_length > len(shrunk.actions)
    assert raw.examples == shrunk.examples


def test_workers_count_a_clean_run_the_same() -> None:
    model = Model(CORE, Config(), FUZZ_BOUNDS)
    one = fuzz(model, seed=3, examples=120)
    two = fuzz(model, seed=3, examples=120, workers=2)
    assert one.violation is None and two.violation is None
    assert (two.examples, two.steps, two.distinct_states, two.goals) == (
        one.examples, one.steps, one.distinct_states, one.goals)


def test_bad_workers_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fuzz", "--workers", "0", "--examples", "1"]) == 2
    assert "--workers must be at least 1" in capsys.readouterr().err
    with pytest.raises(ValueError, match="workers"):
        fuzz(Model(CORE, Config(), FUZZ_BOUNDS), examples=1, workers=0)


@pytest.mark.parametrize("examples", [1, BATCH - 1, BATCH, 2 * BATCH + 7])
def test_an_example_budget_runs_exactly_that_many_runs(examples: int) -> None:
    """Hypothesis counts toward `max_examples` only the runs it calls valid, and runs more
    after one that used up its choice buffer; each batch stops at its own size instead."""
    model = Model(CORE, Config(3), FUZZ_BOUNDS)
    assert fuzz(model, seed=1, examples=examples).examples == examples
    assert fuzz(model, seed=1, examples=examples, workers=2).examples == examples
