"""Checks any core must pass, run against the core RAFTCHECK_CORE names (the bundled one by
default): `RAFTCHECK_CORE=mymod:CORE pytest tests/cores/test_core_agnostic.py` checks yours.

The checks themselves are a library call, `raftcheck.check_core` (model/conformance.py), so a
user can run them without this suite; each test here runs the part of it that it names, with
the seed it always used. They read a core only through the protocol (`name`, `initial_node`,
`restart`, `step`) and the world, never through `impl.raft`'s internals, so a from-scratch
core is judged by the same standard as the bundled one: the contract of `step` (checked mode
on), every property on random runs and on every state within small bounds, and progress
(leaders elected, entries committed).
"""

from __future__ import annotations

from raftcheck.model.conformance import check_core
from raftcheck.model.scenarios import SCENARIOS
from raftcheck.model.world import Core


def test_step_keeps_its_contract_on_random_walks(raftcheck_core: Core) -> None:
    """Checked mode validates every call (types, shapes, no mutation of the input) on 40
    random walks of 40 steps, every transition property checked on every step; a CoreFault
    fails the test with its one-line reason."""
    report = check_core(raftcheck_core, seed=7, walks=40, walk_length=40,
                        only=["step contract"])
    assert report.ok, report.render()


def test_fuzz_is_clean_and_makes_progress(raftcheck_core: Core) -> None:
    """No violation in 100 Hypothesis runs (seed 1), which elect, commit and replace leaders."""
    report = check_core(raftcheck_core, seed=1, examples=100,
                        only=["random runs: safety", "random runs: progress"])
    assert report.ok, report.render()


def test_every_state_within_small_bounds_is_safe(raftcheck_core: Core) -> None:
    """Every state within explore's default bounds with three messages in flight is safe, the
    search is complete, and an entry gets committed."""
    report = check_core(raftcheck_core, only=["exhaustive: safety", "exhaustive: progress"])
    assert report.ok, report.render()


def test_seed_scenarios_behave_as_raft_should(raftcheck_core: Core) -> None:
    report = check_core(raftcheck_core, only=[f"scenario: {name}" for name in SCENARIOS])
    assert report.ok, report.render()
