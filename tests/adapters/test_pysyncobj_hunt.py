"""`raftcheck hunt --core pysyncobj`: counterexamples of the faithful core, translated into
library runs and confirmed there (model/adapters/library_hunt.py).

Skipped as a whole when the optional `pysyncobj` extra is not installed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("pysyncobj", reason="the pysyncobj extra is not installed "
                                        "(pip install 'raftcheck[pysyncobj]')")

from raftcheck.impl.pysyncobj import PySyncObjCore
from raftcheck.impl.raft import Out, RaftCore
from raftcheck.impl.types import AppendEntries, AppendEntriesResponse, Node
from raftcheck.model import world as w
from raftcheck.model.adapters.library_hunt import (
    CONFIRMED,
    NOT_CONFIRMED,
    SEARCH_BOUNDS,
    Hunted,
    confirm as confirm_on,
)
from raftcheck.model.adapters.pysyncobj_conformance import faithful_core
from raftcheck.model.adapters.pysyncobj_fuzz import CHECK_ORDER, PYSYNCOBJ, load_record, replay
from raftcheck.model.adapters.sim import FireTimer
from raftcheck.model.cli import main


class NoNoOpOnElection(PySyncObjCore):
    name = "wrong-no-no-op"

    def become_leader(self, node: Node) -> Out:
        return RaftCore.become_leader(self, node)


def confirm(core: PySyncObjCore, nodes: int, prop: str, actions: list[w.Action]) -> Hunted:
    return confirm_on(PYSYNCOBJ, core, nodes, prop, actions)


def stale_append_entries(core: PySyncObjCore) -> list[w.Action]:
    """The faithful core's counterexample of docs/pysyncobj.md's finding 1: n1 applies x=1,
    then the leader's first AppendEntries, delivered late, truncates it."""
    model = w.Model(core, w.Config(), SEARCH_BOUNDS)
    actions: list[w.Action] = [w.Timeout(0)]

    def deliver(pick: object) -> None:
        state = model.run(actions)[-1]
        actions.append(w.Deliver(next(m for m in state.network if pick(m))))  # type: ignore[operator]

    deliver(lambda m: m.dest == 1)
    deliver(lambda m: m.dest == 0)
    stale = next(m for m in model.run(actions)[-1].network
                 if isinstance(m, AppendEntries) and m.dest == 1)
    actions += [w.Submit(0, 1), w.Heartbeat(0)]
    deliver(lambda m: isinstance(m, AppendEntries) and m.dest == 1 and m.prev_log_index == 1)
    deliver(lambda m: isinstance(m, AppendEntriesResponse))
    actions.append(w.Heartbeat(0))
    deliver(lambda m: isinstance(m, AppendEntries) and m.dest == 1 and len(m.entries) == 2)
    deliver(lambda m: isinstance(m, AppendEntriesResponse))
    actions.append(w.Heartbeat(0))
    deliver(lambda m: isinstance(m, AppendEntries) and m.dest == 1 and m.leader_commit == 2)
    actions.append(w.Deliver(stale))
    return actions


def test_a_core_counterexample_is_confirmed_on_the_library() -> None:
    core = faithful_core()
    hunted = confirm(core, 3, "State Machine Safety", stale_append_entries(core))
    assert hunted.verdict == CONFIRMED, hunted.reason
    assert "applied an entry it no longer has" in hunted.reason
    assert hunted.config is not None
    # The library run replays by itself (its seeded timeouts, each node's clock in its actions).
    outcome, applied, _ = replay(hunted.config, hunted.library_actions)
    assert outcome.violation is not None and outcome.violation.property == \
        "State Machine Safety"
    assert len(applied) == len(hunted.library_actions)


def election(core: PySyncObjCore) -> list[w.Action]:
    """n0 times out and is elected by n1's vote."""
    model = w.Model(core, w.Config(), SEARCH_BOUNDS)
    actions: list[w.Action] = [w.Timeout(0)]
    for dest in (1, 0):
        state = model.run(actions)[-1]
        actions.append(w.Deliver(next(m for m in state.network if m.dest == dest)))
    return actions


def test_a_wrong_faithful_rule_is_not_confirmed_but_reported_as_a_gap() -> None:
    core = NoNoOpOnElection()
    hunted = confirm(core, 3, "Election Safety", election(core))
    assert hunted.verdict == NOT_CONFIRMED
    assert hunted.reason.startswith("conformance gap at step 3")


def test_a_follower_times_out_while_the_leader_has_an_entry_to_send() -> None:
    """On one shared clock the library's leader beats (with the entry) before any election
    timeout can pass; with each node's own clock n2 times out first, as the counterexample
    says, and the library follows every step (the property holds)."""
    core = faithful_core()
    actions = [*election(core), w.Submit(0, 1), w.Timeout(2)]
    hunted = confirm(core, 3, "Election Safety", actions)
    assert hunted.verdict == NOT_CONFIRMED and "followed every step" in hunted.reason
    assert hunted.library_actions[-1] == FireTimer(2)


def test_hunt_cli_confirms_and_saves_a_replayable_trace(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["hunt", "--core", "pysyncobj", "--seed", "1", "--examples", "40", "--json",
                 "--save", str(tmp_path) + "/"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    confirmed = [row for row in report["counterexamples"] if row["verdict"] == CONFIRMED]
    assert confirmed and report["runs"] == 40
    record = load_record(confirmed[0]["record"])
    assert main(["fuzz", "--core", "pysyncobj", "--replay", confirmed[0]["record"]]) == 1
    assert record.outcome.violation is not None


def test_hunt_by_explore_confirms_the_shortest_counterexample(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--engine explore`: the breadth-first search of the faithful core within the bounds
    given (a term, a client entry), one property, stops at its shortest counterexample (the
    stale AppendEntries that lowers a follower's commit index, 14 core actions), which the
    library confirms; the record ignores every other property and replays to it."""
    code = main(["hunt", "--core", "pysyncobj", "--engine", "explore", "--max-term", "1",
                 "--max-log", "2", "--property", "Commit Index Monotonicity", "--seed", "1",
                 "--json", "--save", str(tmp_path) + "/"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["search_engine"] == "explore"
    assert report["bounds"].startswith("term≤1 log≤2 ")
    assert report["stop_reason"] == "violation" and report["depth"] == 14
    [found] = report["counterexamples"]
    assert found["verdict"] == CONFIRMED and found["core_trace_length"] == 14
    record = load_record(found["record"])
    assert set(record.ignored) == set(CHECK_ORDER) - {"Commit Index Monotonicity"}
    assert main(["fuzz", "--core", "pysyncobj", "--replay", found["record"], "--json"]) == 1
    replayed = json.loads(capsys.readouterr().out)
    assert replayed["reproduced"] and replayed["outcome"] == "Commit Index Monotonicity"


@pytest.mark.parametrize(("argv", "code", "verdict"), [
    (["--max-term", "1"], 0, "CLEAN"),  # complete: 6,078 states, no client entry past one
    (["--max-term", "1", "--max-log", "2", "--seconds", "0.001"], 3, "INCONCLUSIVE"),  # stopped
    # long before the 4,211 states to the violation at depth 14, on any machine
])
def test_hunt_by_explore_finding_nothing_says_whether_it_was_complete(
        argv: list[str], code: int, verdict: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hunt", "--core", "pysyncobj", "--engine", "explore", *argv, "--property",
                 "Committed Entries Kept", "--seed", "1"]) == code
    out = capsys.readouterr().out
    assert f"{verdict} on the faithful core" in out
    assert ("complete" if code == 0 else "stopped: max_seconds") in out


@pytest.mark.parametrize("argv", [
    ["hunt", "--core", "pysyncobj", "--engine", "explore", "--examples", "3"],
    ["hunt", "--core", "pysyncobj", "--property", "leader replaced"],  # a goal only
    ["hunt", "--core", "pysyncobj", "--property", "No Such Property"],
    ["hunt", "--core", "pysyncobj", "--liveness"],
    ["hunt", "--core", "raft"],
    ["hunt", "--core", "pysyncobj", "--release", "0.3.12"],
    ["hunt", "--core", "pysyncobj", "--release", "0.3.16"],  # 0.3.17's rules, not installed
    ["hunt", "--core", "pysyncobj", "--release", "0.3.7"],  # no faithful core
    ["hunt", "--core", "pysyncobj", "--nodes", "1"],
])
def test_hunt_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


RECORDS = Path(__file__).parent / "records"


@pytest.mark.parametrize(("name", "prop", "length"), [
    ("hunt5-duplicated-vote-ebm.json", "Elected By Majority", 6),
    ("hunt5-duplicated-vote-lc.json", "Leader Completeness", 24),
])
def test_hunted_five_server_records_replay_on_the_library(name: str, prop: str,
                                                          length: int) -> None:
    """Found by `raftcheck hunt --core pysyncobj --nodes 5 --seed 1 --examples 2000` on the
    faithful core and confirmed on the library (docs/pysyncobj.md, "Hunting"): a duplicated
    vote response elects a leader of five with two votes, and then one that lacks a committed
    entry. Each timer step is its node's own clock (`FireTimer`)."""
    record = load_record(RECORDS / name)
    assert record.config.nodes == 5
    assert any(isinstance(action, FireTimer) for action in record.actions)
    outcome, applied, _ = replay(record.config, record.actions,
                                 ignored=frozenset(record.ignored))
    assert outcome.violation is not None and outcome.violation.property == prop
    assert len(applied) == length == len(record.actions)
