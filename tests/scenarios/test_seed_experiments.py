"""The seed text's three experiments ("Breaking It"), as scripted scenarios in
`model.scenarios`: each passes on the correct core with every check true and no property
violated along the way, and a broken core makes the scenario that is about its rule fail.
"""

from __future__ import annotations

from itertools import pairwise

import pytest

from raftcheck.impl.broken import (
    BROKEN_CORES,
    CommitPreviousTermByCounting,
    VoteWithoutUpToDateCheck,
)
from raftcheck.impl.raft import CORE
from raftcheck.model.scenarios import (
    CLUSTER_SIZES,
    SCENARIOS,
    ScenarioResult,
    render_scenario,
    run_scenario,
    scenario_model,
)
from raftcheck.model.world import Crash, Heal, Partition, Submit
from raftcheck.properties import check_transition
from raftcheck.properties.goals import goals_reached
from raftcheck.properties.safety import LEADER_COMPLETENESS

NAMES = list(SCENARIOS)


def test_the_seed_experiments_are_all_there() -> None:
    assert NAMES == ["split-brain", "log-inconsistency-minority", "log-inconsistency-majority",
                     "network-partition"]
    assert set(CLUSTER_SIZES) == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_scenario_passes_on_the_correct_core(name: str) -> None:
    result = run_scenario(name)
    assert result.name == name
    assert result.violation is None, result.violation
    assert result.violation_step is None
    assert [c.description for c in result.checks if not c.passed] == []
    assert len(result.checks) >= 5
    assert result.passed


@pytest.mark.parametrize("name", NAMES)
def test_scenario_is_a_replayable_action_list(name: str) -> None:
    """The result's actions replay through `Model.run` (every action enabled, in bounds) with
    no property violated on any step, and reach the goals that make the run meaningful: a
    leader elected, then replaced, and an entry committed."""
    result = run_scenario(name)
    model = scenario_model(name)
    states = model.run(list(result.actions))
    assert all(check_transition(a, b) is None for a, b in pairwise(states))
    reached = goals_reached(states[-1])
    assert {"leader elected", "leader replaced"} <= reached
    if name != "split-brain":
        assert "entry committed" in reached


@pytest.mark.parametrize("name", NAMES)
def test_scenario_is_deterministic(name: str) -> None:
    assert run_scenario(name) == run_scenario(name)


def test_scenarios_do_what_their_names_say() -> None:
    """A cheap guard against a scenario silently losing its point when helpers change."""
    actions = {name: run_scenario(name).actions for name in NAMES}
    assert Partition(frozenset({0})) in actions["split-brain"]
    assert Heal() in actions["split-brain"]
    assert Crash(0) in actions["log-inconsistency-minority"]
    assert Crash(0) in actions["log-inconsistency-majority"]
    assert Partition(frozenset({0, 1})) in actions["network-partition"]
    assert Submit(0, 1) in actions["network-partition"]
    assert Submit(2, 2) in actions["network-partition"]


def test_answers_say_which_log_inconsistency_answer_holds_when() -> None:
    minority = run_scenario("log-inconsistency-minority")
    majority = run_scenario("log-inconsistency-majority")
    assert minority.question == majority.question
    assert "MINORITY" in minority.answer and "truncat" in minority.answer
    assert "MAJORITY" in majority.answer and "wrong" in majority.answer
    assert "Leader Completeness" in majority.answer


def test_render_scenario_shows_trace_and_checks() -> None:
    result = run_scenario("split-brain")
    text = render_scenario(result, scenario_model("split-brain"))
    assert text.startswith(result.title)
    assert result.question in text and result.answer in text
    assert f"{len(result.actions):3d}. " in text  # the numbered trace, to its last step
    assert text.count("✓") == len(result.checks) and "✗" not in text
    assert text.rstrip().endswith("split-brain: passed on core raft")


def test_vote_without_up_to_date_check_breaks_the_majority_case() -> None:
    """Without §5.4.1's restriction, n3 (missing the committed entry) wins term 2: the checks
    about the refused votes fail and Leader Completeness is violated the step n3 is elected."""
    core = VoteWithoutUpToDateCheck()
    result = run_scenario("log-inconsistency-majority", core)
    assert not result.passed
    assert result.violation is not None
    assert result.violation.property == LEADER_COMPLETENESS
    assert result.violation.nodes == (3,) and result.violation.index == 1
    assert [c.description for c in result.failed_checks()] == [
        "n1 and n2 refuse to vote for n3, whose log lacks the committed entry",
        "so n3 cannot become leader: n4's vote and its own make two of five",
    ]
    text = render_scenario(result, scenario_model(result.name, core))
    assert f"✗ Leader Completeness violated after step {result.violation_step}" in text
    assert text.rstrip().endswith("FAILED on core vote-without-up-to-date-check")


def test_vote_without_up_to_date_check_fails_the_minority_vote_check() -> None:
    """In the minority case the broken core lets n1 vote for a candidate with an older log.
    No property breaks (the entry was never committed), but the check says what went wrong."""
    result = run_scenario("log-inconsistency-minority", VoteWithoutUpToDateCheck())
    assert result.violation is None
    assert [c.description for c in result.failed_checks()] == [
        "n1 refuses to vote for n2: n1's log (last term 1) is more up-to-date than n2's "
        "empty log",
    ]


def outcomes(core_name: str) -> dict[str, tuple[bool, str | None]]:
    core = BROKEN_CORES[core_name]
    results: dict[str, ScenarioResult] = {name: run_scenario(name, core) for name in NAMES}
    return {name: (r.passed, r.violation.property if r.violation else None)
            for name, r in results.items()}


def test_which_seed_experiment_catches_which_broken_core() -> None:
    """Pinned: the seed's experiments catch only the missing up-to-date check. The two other
    mutants need situations these scenarios never create (Figure 8 for the commit rule, in
    tests/paper/test_paper_figure8.py; a split vote within one term for two votes per term), so a
    change here means a scenario changed what it exercises."""
    assert outcomes(VoteWithoutUpToDateCheck.name) == {
        "split-brain": (True, None),
        "log-inconsistency-minority": (False, None),
        "log-inconsistency-majority": (False, LEADER_COMPLETENESS),
        "network-partition": (True, None),
    }
    assert outcomes(CommitPreviousTermByCounting.name) == dict.fromkeys(NAMES, (True, None))
    assert outcomes("two-votes-per-term") == dict.fromkeys(NAMES, (True, None))


@pytest.mark.parametrize("core_name", sorted(BROKEN_CORES))
def test_scenarios_report_rather_than_raise_on_every_broken_core(core_name: str) -> None:
    """Whatever a broken core does, each scenario returns a result whose action list replays
    in its model, whose recorded violation is the first one along that list, and which
    renders with the scenario's own model."""
    core = BROKEN_CORES[core_name]
    for name in NAMES:
        result = run_scenario(name, core)
        states = scenario_model(name, core).run(list(result.actions))
        found = [(step, v) for step, (a, b) in enumerate(pairwise(states), 1)
                 if (v := check_transition(a, b)) is not None]
        assert (result.violation_step, result.violation) == (found[0] if found else (None, None))
        assert result.passed == (not found and all(c.passed for c in result.checks))
        assert f"on core {core_name}" in render_scenario(result)


def test_unknown_scenario_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="choose from"):
        run_scenario("byzantine-generals", CORE)
