"""Checks any core must pass, run against the core RAFTCHECK_CORE names (the bundled one by
default): `RAFTCHECK_CORE=mymod:CORE pytest tests/cores/test_core_agnostic.py` checks yours.

They read a core only through the protocol (`name`, `initial_node`, `restart`, `step`) and
the world, never through `impl.raft`'s internals, so a from-scratch core is judged by the
same standard as the bundled one: the contract of `step` (checked mode on), every property
on random runs and on every state within small bounds, and progress (leaders elected,
entries committed).
"""

from __future__ import annotations

import random

from attrs import evolve

from raftcheck.model.explore import DEFAULT_BOUNDS, explore
from raftcheck.model.fuzz import fuzz
from raftcheck.model.scenarios import SCENARIOS, run_scenario
from raftcheck.model.stateful import FUZZ_BOUNDS
from raftcheck.model.verdict import Verdict
from raftcheck.model.world import Config, Core, Model
from raftcheck.properties import check_transition


def test_step_keeps_its_contract_on_random_walks(raftcheck_core: Core) -> None:
    """Checked mode validates every call (types, shapes, no mutation of the input); a
    CoreFault here fails the test with its one-line reason."""
    model = Model(raftcheck_core, Config(), FUZZ_BOUNDS, checked=True)
    rng = random.Random(7)
    for _ in range(40):
        state = model.initial_state()
        for _ in range(40):
            options = list(model.successors(state))
            if not options:
                break
            _, after = rng.choice(options)
            assert check_transition(state, after) is None
            state = after


def test_fuzz_is_clean_and_makes_progress(raftcheck_core: Core) -> None:
    result = fuzz(Model(raftcheck_core, Config(), FUZZ_BOUNDS), seed=1, examples=100)
    assert result.violation is None, result.trace
    assert {"leader elected", "entry committed", "leader replaced"} <= result.goals


def test_every_state_within_small_bounds_is_safe(raftcheck_core: Core) -> None:
    bounds = evolve(DEFAULT_BOUNDS, max_messages=3)
    result = explore(Model(raftcheck_core, Config(), bounds))
    assert result.verdict is Verdict.PASS, [str(found.violation) for found in result.violations]
    assert "entry committed" in result.goals


def test_seed_scenarios_behave_as_raft_should(raftcheck_core: Core) -> None:
    failed = [name for name in SCENARIOS if not run_scenario(name, raftcheck_core).passed]
    assert not failed
