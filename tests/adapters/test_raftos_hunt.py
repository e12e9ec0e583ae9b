"""`raftcheck hunt --core raftos`: counterexamples of raftos's faithful core, translated into
library runs (each timer step is its node's own clock, the others paused) and confirmed there
(model/adapters/library_hunt.py).

Skipped as a whole when raftos is not installed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("raftos", reason="raftos is not installed (pip install 'raftcheck[raftos]'"
                                     " && pip install --no-deps raftos==0.2.6)")

from raftcheck.impl.raftos import RaftosCore
from raftcheck.impl.types import AppendEntries, Persistent, Role
from raftcheck.model import world as w
from raftcheck.model.adapters.library_fuzz import CHECK_ORDER, load_record, replay
from raftcheck.model.adapters.library_hunt import (
    CANNOT_APPLY,
    CONFIRMED,
    NOT_CONFIRMED,
    SEARCH_BOUNDS,
    Hunted,
    confirm as confirm_on,
)
from raftcheck.model.adapters.raftos_adapter import ClusterConfig
from raftcheck.model.adapters.raftos_conformance import faithful_core
from raftcheck.model.adapters.raftos_fuzz import RAFTOS
from raftcheck.model.adapters.sim import Drop, FireTimer
from raftcheck.model.cli import main


class KeepsItsVote(RaftosCore):
    """Deliberately wrong: becoming follower keeps the vote (finding 1 fixed)."""

    name = "wrong-keeps-its-vote"

    def forget_vote(self, persistent: Persistent) -> Persistent:
        return persistent


# A leader's heartbeats before its step-down when nobody answers (the library's default
# setting): the next one falls on the step-down's instant, which fires with it.
UNANSWERED_BEATS = ClusterConfig().step_down_missed_heartbeats - 1


def confirm(core: RaftosCore, nodes: int, prop: str, actions: list[w.Action]) -> Hunted:
    return confirm_on(RAFTOS, core, nodes, prop, actions)


def election(core: RaftosCore) -> list[w.Action]:
    """n0 times out and is elected by n1's vote (n2's request stays in flight)."""
    model = w.Model(core, w.Config(), SEARCH_BOUNDS)
    actions: list[w.Action] = [w.Timeout(0)]
    for dest in (1, 0):
        state = model.run(actions)[-1]
        actions.append(w.Deliver(next(m for m in state.network if m.dest == dest)))
    assert model.run(actions)[-1].nodes[0].role is Role.LEADER  # type: ignore[union-attr]
    return actions


def test_a_candidate_that_times_out_forgets_its_vote_on_the_library() -> None:
    """Finding 1 in two core steps: each is n0's clock run to its election timer."""
    hunted = confirm(faithful_core(), 3, "Single Vote Per Term", [w.Timeout(0), w.Timeout(0)])
    assert hunted.verdict == CONFIRMED, hunted.reason
    assert hunted.library_actions == (FireTimer(0), FireTimer(0))
    assert hunted.config is not None
    outcome, _, _ = replay(hunted.config, hunted.library_actions)
    assert outcome.violation is not None
    assert outcome.violation.property == "Single Vote Per Term"


def test_a_leaders_step_down_comes_after_its_unanswered_heartbeats() -> None:
    """The core's Timeout of a leader is raftos's step-down timer: n0's clock runs past the
    heartbeats nobody answers (their messages dropped), and the leader that steps down
    forgets its vote (finding 1 again, by a path the world searches since it fires a
    leader's timer for this core)."""
    core = faithful_core()
    hunted = confirm(core, 3, "Single Vote Per Term", [*election(core), w.Timeout(0)])
    assert hunted.verdict == CONFIRMED, hunted.reason
    timers = [a for a in hunted.library_actions if isinstance(a, FireTimer)]
    assert len(timers) == 1 + UNANSWERED_BEATS + 1  # election, beats, step-down
    assert any(isinstance(a, Drop) for a in hunted.library_actions)
    assert hunted.config is not None
    outcome, _, _ = replay(hunted.config, hunted.library_actions)
    assert outcome.violation is not None
    assert outcome.violation.property == "Single Vote Per Term"


def test_a_follower_times_out_beside_a_live_leader() -> None:
    """On one shared clock the leader's step-down always comes before a follower's election
    timeout; with each node's own clock, n2 stands for election while n0 still leads, as
    the counterexample says, and the library follows every step (the property holds)."""
    core = faithful_core()
    actions = [*election(core), w.Timeout(2)]
    hunted = confirm(core, 3, "Election Safety", actions)
    assert hunted.verdict == NOT_CONFIRMED, hunted.reason
    assert "followed every step" in hunted.reason
    assert hunted.library_actions[-1] == FireTimer(2)


def test_a_wrong_faithful_rule_is_reported_as_a_conformance_gap() -> None:
    hunted = confirm(KeepsItsVote(), 3, "Single Vote Per Term", [w.Timeout(0), w.Timeout(0)])
    assert hunted.verdict == NOT_CONFIRMED
    assert hunted.reason.startswith("conformance gap at step 2") and "voted_for" in hunted.reason


def test_a_heartbeat_the_library_turns_into_a_step_down_cannot_apply() -> None:
    """The untimed core may beat forever unanswered; the library's leader steps down at its
    fifth unanswered heartbeat (both timers fire at that instant), a step the counterexample
    does not take."""
    core = faithful_core()
    model = w.Model(core, w.Config(), SEARCH_BOUNDS)
    actions = election(core)
    for _ in range(UNANSWERED_BEATS + 1):
        actions.append(w.Heartbeat(0))
        actions += [w.Drop(m) for m in model.run(actions)[-1].network
                    if isinstance(m, AppendEntries)]
    hunted = confirm(core, 3, "Election Safety", actions)
    assert hunted.verdict == CANNOT_APPLY, hunted.reason
    assert actions[hunted.step - 1] == w.Heartbeat(0) and actions[hunted.step:] == [
        w.Drop(m) for m in model.run(actions[:hunted.step])[-1].network
        if isinstance(m, AppendEntries)]  # the last heartbeat
    assert "n0: election timeout" in hunted.reason


def test_hunt_cli_confirms_and_saves_replayable_traces(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["hunt", "--core", "raftos", "--seed", "1", "--examples", "40", "--json",
                 "--save", str(tmp_path) + "/"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["library"] == "0.2.6" and report["runs"] == 40
    confirmed = [row for row in report["counterexamples"] if row["verdict"] == CONFIRMED]
    assert confirmed
    for row in confirmed:
        assert load_record(row["record"]).outcome.violation is not None
        assert main(["fuzz", "--core", "raftos", "--replay", row["record"], "--json"]) == 1
        replayed = json.loads(capsys.readouterr().out)
        assert replayed["reproduced"] and replayed["outcome"] == row["property"]


def test_hunt_by_explore_confirms_the_shortest_counterexample(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["hunt", "--core", "raftos", "--engine", "explore", "--property",
                 "Single Vote Per Term", "--seed", "1", "--json", "--save", str(tmp_path) + "/"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["stop_reason"] == "violation" and report["depth"] == 2
    [found] = report["counterexamples"]
    assert found["verdict"] == CONFIRMED and found["library_trace_length"] == 2
    record = load_record(found["record"])
    assert set(record.ignored) == set(CHECK_ORDER) - {"Single Vote Per Term"}


@pytest.mark.parametrize("argv", [
    ["hunt", "--core", "raftos", "--release", "0.2.5"],  # no faithful core
    ["hunt", "--core", "raftos", "--nodes", "1"],
    ["hunt", "--core", "raftos", "--engine", "explore", "--examples", "3"],
])
def test_hunt_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


RECORDS = Path(__file__).parent / "records" / "raftos"


def test_hunted_records_replay_on_the_library() -> None:
    """Two hunts' records (docs/raftos.md, "Hunting"): a leader that steps down forgets its
    vote and gives it to a candidate of its own term (`raftcheck hunt --core raftos --seed 1`,
    7 core steps, 19 library actions), and two leaders of one term in a cluster of four
    (`--nodes 4 --seed 1`, 6 actions: finding 5)."""
    record = load_record(RECORDS / "hunt-stepped-down-leader-es.json")
    outcome, applied, states = replay(record.config, record.actions, ignored=frozenset(
        record.ignored))
    assert outcome.violation is not None and outcome.violation.property == "Election Safety"
    assert len(applied) == len(record.actions) == 19
    stepped_down = [s.nodes[0] for s in states if s.nodes[0] is not None
                    and s.nodes[0].role is Role.FOLLOWER and s.nodes[0].current_term == 1]
    assert stepped_down[0].voted_for is None and stepped_down[-1].voted_for == 2
    record = load_record(RECORDS / "hunt4-even-quorum-es.json")
    outcome, applied, _ = replay(record.config, record.actions, ignored=frozenset(
        record.ignored))
    assert outcome.violation is not None and outcome.violation.property == "Election Safety"
    assert record.config.nodes == 4 and len(applied) == 6
