"""`raftcheck diff` is as strong as the engines that catch the zoo: a "refactor" that brings
any zoo bug back is DIVERGENT at `--compare properties` on the defaults, and the correct
refactors (and the bundled core against itself) stay EQUIVALENT.

The whole zoo on the default budgets takes minutes (docs/refactoring.md has the times), so it
is slow-marked (`tox -e deep`); the default run checks the seam with a few bugs the
exhaustive part misses and the random part finds within a small budget, and the equivalent
pairs on a small budget.
"""

from __future__ import annotations

import pytest

from raftcheck.impl.broken import BROKEN_CORES
from raftcheck.impl.raft import CORE
from raftcheck.impl.refactors import CONFLICT_TERM, MEDIAN_COMMIT
from raftcheck.model.diff import DIFF_EXAMPLES, diff
from raftcheck.model.lockstep import Lockstep, PairAction
from raftcheck.model.shrink import first_violation
from raftcheck.model.stateful import FUZZ_BOUNDS
from raftcheck.model.verdict import Verdict
from raftcheck.model.world import Config, Core, Model
from raftcheck.model.zoo import BUGS

EQUIVALENT_TO_RAFT = {"raft": CORE, "median-commit": MEDIAN_COMMIT,
                      "conflict-term-backtracking": CONFLICT_TERM}


def assert_diverges(old: Core, new: Core, **options: object) -> None:
    result = diff(old, new, level="properties", **options)  # type: ignore[arg-type]
    found = result.divergence
    assert result.verdict is Verdict.DIVERGENT and result.exit_code == 1, result.notes
    assert found is not None
    broken = "NEW" if new is not CORE else "OLD"
    assert found.detail[0].startswith(f"{broken} violates") or \
        found.detail[0].startswith(f"{broken} fails")
    if found.engine == "random":  # shrunk, and each side replays to what the report says
        assert found.shrunk_from is not None and len(found.actions) <= found.shrunk_from
        _replays(old, new, found.actions, broken, result.config)


def _replays(old: Core, new: Core, actions: tuple[PairAction, ...], broken: str,
             config: Config) -> None:
    sides = {"OLD": (old, [a.old for a in actions if a.old is not None]),
             "NEW": (new, [a.new for a in actions if a.new is not None])}
    for label, (core, side) in sides.items():
        outcome = first_violation(Model(core, config, FUZZ_BOUNDS), side)
        assert (outcome is not None) == (label == broken), label


@pytest.mark.parametrize(("name", "seed", "examples"), [
    ("ack-beyond-request", 0, 20),
    ("act-on-stale-responses", 0, 50),
])
def test_the_random_part_finds_what_the_exhaustive_part_misses(
        name: str, seed: int, examples: int) -> None:
    assert_diverges(CORE, BROKEN_CORES[name], seed=seed, examples=examples, engine="random")


def test_a_bug_in_the_old_core_is_a_divergence_too() -> None:
    assert_diverges(BROKEN_CORES["ack-beyond-request"], CORE, examples=20, engine="random")


@pytest.mark.parametrize("name", sorted(EQUIVALENT_TO_RAFT))
def test_correct_refactors_stay_equivalent_on_a_small_budget(name: str) -> None:
    result = diff(CORE, EQUIVALENT_TO_RAFT[name], level="properties", engine="random",
                  examples=30)
    assert result.verdict is Verdict.EQUIVALENT and result.exit_code == 0, result.divergence
    assert result.random_runs >= 30


def test_the_pair_is_a_model_every_engine_takes() -> None:
    """The lockstep pair offers the seam's methods; its bounds are decided in one place."""
    lock = Lockstep(Model(CORE, Config(), FUZZ_BOUNDS), Model(MEDIAN_COMMIT, Config(),
                                                               FUZZ_BOUNDS), "state")
    pair = lock.initial_state()
    assert lock.check_initial(pair) is None
    actions = list(lock.candidate_actions(pair))
    assert actions and all(isinstance(action, PairAction) for action in actions)
    after = lock.bounded_next(pair, actions[0])
    assert after is not None and lock.check_step(pair, actions[0], after) is None
    assert lock.sent(pair, after)  # an election timeout sends RequestVotes on both sides
    tight = lock.with_bounds(FUZZ_BOUNDS.__class__(max_messages=0))
    assert tight.bounded_next(pair, actions[0]) is None  # more in flight than the bound


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BUGS))
def test_every_zoo_bug_diverges_on_the_defaults(name: str) -> None:
    """On the default budgets, in the cluster size the bug needs (count-duplicate-votes'
    duplicated vote changes nothing in a cluster of 3: one real vote is a majority there)."""
    bug = BUGS[name]
    assert_diverges(CORE, bug.core, config=Config(bug.nodes), examples=DIFF_EXAMPLES,
                    workers=2)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EQUIVALENT_TO_RAFT))
def test_correct_refactors_stay_equivalent_on_the_defaults(name: str) -> None:
    result = diff(CORE, EQUIVALENT_TO_RAFT[name], level="properties", workers=2)
    assert result.verdict is Verdict.EQUIVALENT and result.complete, result.divergence


def test_the_result_does_not_depend_on_the_worker_count() -> None:
    one, two = (diff(CORE, BROKEN_CORES["act-on-stale-responses"], level="properties",
                     engine="random", examples=50, workers=workers) for workers in (1, 2))
    assert one.divergence is not None and two.divergence is not None
    assert one.divergence.actions == two.divergence.actions
    assert one.random_runs == two.random_runs
