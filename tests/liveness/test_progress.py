"""Progress properties (properties/progress.py) and the stabilisation phase that checks them
(model/liveness.py): the values, the deadlines, the phase on the correct core, the
Hypothesis engine in the timed world (clean on the correct core at the ci profile), and a
finding shrunk, replayed and saved like any other; the command line and the pytest fixture
select them like every other property."""

from __future__ import annotations

import pytest

from raftcheck.impl.raft import CORE
from raftcheck.model.cli import main
from raftcheck.model.cores import load_core
from raftcheck.model.fuzz import fuzz
from raftcheck.model.liveness import Settled, applied_everywhere, leader_of, settle
from raftcheck.model.pytest_plugin import Raftcheck
from raftcheck.model.shrink import first_violation
from raftcheck.model.stateful import FUZZ_BOUNDS
from raftcheck.model.tracefile import record
from raftcheck.model.verdict import Exit
from raftcheck.model.world import Config, Crash, Model, Partition, Submit, Tick, World
from raftcheck.properties import (
    ALL_PROPERTIES,
    LIVENESS,
    LIVENESS_TIMED,
    RAFT_PROPERTIES,
    Property,
)
from raftcheck.properties.progress import (
    INSTANT_STEPS,
    LEADER_ELECTED,
    LEADER_STABLE,
    REQUEST_APPLIED,
    Progress,
    apply_deadline,
    election_deadline,
    leader_elected,
    leader_stable,
    request_applied,
    stability_window,
)

TIMED = Config(timing="timed")


def live_model(core: str = "raft", seed: int = 0) -> Model:
    return Model(load_core(core), Config(timing="timed", seed=seed), FUZZ_BOUNDS,
                 properties=ALL_PROPERTIES)


# ------------------------------------------------------------------ the values


def test_progress_properties_are_a_fourth_kind_the_user_opts_into() -> None:
    assert LIVENESS_TIMED.names == (LEADER_ELECTED, REQUEST_APPLIED, LEADER_STABLE)
    assert all(prop.kind == "eventually" for prop in LIVENESS_TIMED.all)
    assert LIVENESS.progress_names == set(LIVENESS_TIMED.names)
    assert not RAFT_PROPERTIES.progress  # the default set stays as it was
    assert ALL_PROPERTIES.progress_names == {LEADER_ELECTED, REQUEST_APPLIED, LEADER_STABLE}
    chosen = ALL_PROPERTIES.selecting(["leader elected"])
    assert chosen.progress_names == {LEADER_ELECTED}
    assert not chosen.states and not chosen.transitions and chosen.goals
    assert ALL_PROPERTIES.ignoring([REQUEST_APPLIED]).progress_names == {LEADER_ELECTED,
                                                                          LEADER_STABLE}
    mine = Property.eventually("Never", lambda config, progress: None)
    assert RAFT_PROPERTIES.adding(mine).progress_names == {"Never"}


def test_the_deadlines_follow_the_timeouts() -> None:
    assert election_deadline(TIMED) == 3 * 300
    assert apply_deadline(TIMED) == 900 + 3 * 300 + 2 * 50
    assert stability_window(TIMED) == 2 * 300
    slow = Config(timing="timed", election_timeout_ms=(1000, 2000), heartbeat_ms=100)
    assert (election_deadline(slow), apply_deadline(slow), stability_window(slow)) == \
        (6000, 12200, 4000)


LEADER = (0, 1)


@pytest.mark.parametrize(("progress", "elected", "applied", "stable"), [
    (Progress(100, 1000, 0, None, None, None, None), True, True, True),  # in time
    (Progress(100, 1001, 0, None, None, None, None), False, True, True),  # no leader, late
    (Progress(100, 1001, 0, 200, LEADER, 200, None), True, True, True),  # apply in time
    (Progress(100, 2001, 0, 200, LEADER, 200, None), True, False, True),  # not applied, late
    (Progress(100, 2001, 0, 200, LEADER, 200, 300, LEADER), True, True, True),  # applied
    (Progress(100, 400, 0, 200, LEADER, 200, 300, LEADER, 400), True, True, False),  # deposed
    (Progress(100, 100, INSTANT_STEPS + 1, None, None, None, None), False, True, True),
    (Progress(100, 100, INSTANT_STEPS + 1, 100, LEADER, None, None), True, False, True),
    (Progress(100, 300, INSTANT_STEPS + 1, 100, LEADER, 100, 300, LEADER), True, True, False),
])
def test_each_property_fails_only_when_its_deadline_has_passed(
        progress: Progress, elected: bool, applied: bool, stable: bool) -> None:
    assert (leader_elected(TIMED, progress) is None) is elected
    assert (request_applied(TIMED, progress) is None) is applied
    assert (leader_stable(TIMED, progress) is None) is stable


# ------------------------------------------------------------------ the phase


def test_the_correct_core_settles_from_any_fault_and_the_phase_is_deterministic() -> None:
    model = live_model()
    state = model.initial_state()
    for action in (Tick(), Crash(1), Partition(frozenset({0}))):
        state = model.next_state(state, action)
    settled = settle(model, state)
    assert settled.violation is None
    assert settle(model, state) == settled
    assert settled.progress.leader_at is not None and settled.progress.applied_at is not None
    assert settled.progress.applied_at - settled.progress.start <= apply_deadline(TIMED)
    assert settled.progress.deposed_at is None
    assert settled.progress.applied_leader == leader_of(after_phase(model, state, settled))
    after = after_phase(model, state, settled)
    assert settled.progress.now >= settled.progress.applied_at + stability_window(TIMED)
    assert applied_everywhere(after) and leader_of(after) is not None
    assert not after.isolated and all(node is not None for node in after.nodes)
    assert any(isinstance(action, Submit) and action.key == "probe"
               for action in settled.actions)


def after_phase(model: Model, state: World, settled: Settled) -> World:
    for action in settled.actions:
        state = model.next_state(state, action)
    return state


def test_a_model_without_progress_properties_has_no_phase() -> None:
    model = Model(CORE, TIMED, FUZZ_BOUNDS)
    assert model.settle(model.initial_state()) is None
    untimed = Model(CORE, Config(), FUZZ_BOUNDS, properties=ALL_PROPERTIES)
    assert untimed.settle(untimed.initial_state()) is None


def test_the_correct_core_is_clean_at_the_ci_profile() -> None:
    result = fuzz(live_model(seed=7), seed=7, profile="ci")
    assert result.violation is None and result.examples == 400


# ------------------------------------------------------------------ findings


def test_a_finding_is_shrunk_replayed_and_saved_like_any_other() -> None:
    model = live_model("never-decrement-next-index", seed=1)
    result = fuzz(model, seed=1, examples=100)
    assert result.violation is not None and result.violation.property == REQUEST_APPLIED
    assert len(result.actions) < result.found_length
    replayed = first_violation(model, result.actions)
    assert replayed is not None and replayed.violation == result.violation
    assert list(replayed.actions) == list(result.actions)
    assert result.trace is not None and "stabilisation phase" in result.trace
    saved = record(model, engine="fuzz", core_spec="never-decrement-next-index", seed=1,
                   actions=result.actions, violation=result.violation)
    again = saved.model(model.core)
    assert again.properties.progress
    replayed = first_violation(again, list(saved.actions))
    assert replayed is not None and replayed.violation == result.violation
    # The safety properties alone find nothing in the same run: the finding is liveness.
    assert first_violation(Model(model.core, model.config, model.bounds),
                           result.actions) is None


# ------------------------------------------------------------------ where a user selects them


def test_the_command_line_selects_them_and_asks_for_the_timed_world(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fuzz", "--liveness", "--seed", "0", "--examples", "5"]) == Exit.USAGE
    assert "the timed ones need --timed" in capsys.readouterr().err
    assert main(["fuzz", "--property", "Leader Elected", "--seed", "0"]) == Exit.USAGE
    assert "timed world only" in capsys.readouterr().err
    assert main(["explore", "--timed", "--liveness"]) == Exit.USAGE
    assert "raftcheck fuzz --timed" in capsys.readouterr().err
    assert main(["fuzz", "--timed", "--property", "Leader Elected", "--core",
                 "strictly-more-up-to-date", "--seed", "0", "--examples", "5",
                 "--json"]) == Exit.VIOLATION
    assert '"Leader Elected"' in capsys.readouterr().out
    assert main(["fuzz", "--timed", "--liveness", "--ignore", "Leader Elected",
                 "--ignore", "Request Applied", "--core", "strictly-more-up-to-date",
                 "--seed", "0", "--examples", "5", "--json"]) != Exit.VIOLATION
    capsys.readouterr()


def test_the_pytest_fixture_selects_them() -> None:
    raftcheck = Raftcheck()
    assert raftcheck.properties(liveness=True).progress_names == LIVENESS.progress_names
    assert raftcheck.properties(["Request Applied"]).progress_names == {REQUEST_APPLIED}
    raftcheck.fuzz("raft", examples=20, timed=True, liveness=True, require_goals=False)
    with pytest.raises(pytest.fail.Exception, match="Leader Elected found by raftcheck fuzz"):
        raftcheck.fuzz("strictly-more-up-to-date", examples=5, timed=True, liveness=True,
                       require_goals=False)
    with pytest.raises(pytest.fail.Exception, match="not by fuzz"):
        raftcheck.fuzz("raft", examples=5, liveness=True)
    with pytest.raises(pytest.fail.Exception, match="timed world only"):
        raftcheck.fuzz("raft", examples=5, properties=["Leader Elected"])
    with pytest.raises(pytest.fail.Exception, match="not by the exhaustive search"):
        raftcheck.explore("raft", properties=["Leader Elected"])
