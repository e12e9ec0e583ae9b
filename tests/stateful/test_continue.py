"""`--continue` (`fuzz_each`): a core with two independent bugs gets both reported, each with
its own shrunk trace, and each saved trace replays to its own violation because the file
records the properties its run ignored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from raftcheck.impl.broken import CommitToLeaderCommit, CurrentTermNotPersisted
from raftcheck.model.cli import main
from raftcheck.model.replay import replay
from raftcheck.model.tracefile import TraceFileError, load_trace, parse_trace


class TwoBugs(CurrentTermNotPersisted, CommitToLeaderCommit):
    """Forgets its term across a restart, and commits beyond its own log."""

    name = "two-bugs"


TWO_BUGS = TwoBugs()


def test_each_saved_trace_replays_to_its_own_violation(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["fuzz", "--core", "tests.stateful.test_continue:TWO_BUGS", "--seed", "1",
                 "--examples", "300", "--continue", "--json", "--save", str(tmp_path)])
    summary = json.loads(capsys.readouterr().out)
    assert code == 1 and summary["verdict"] == "violation"
    assert {"Term Monotonicity", "Commit Within Log"} <= set(summary["violated"])
    assert len(summary["violated"]) == len(set(summary["violated"]))  # each property once
    assert summary["runs"] <= 300
    files = sorted(tmp_path.glob("*.json"))
    assert len(files) == len(summary["violated"])
    for path in files:
        trace = load_trace(path)
        assert trace.violation is not None
        outcome = replay(trace.model(TWO_BUGS), trace.actions, trace.violation)
        assert outcome.verdict.value == "REPRODUCED", (path, outcome)
    assert any(load_trace(path).ignored for path in files)


def test_an_unknown_ignored_property_is_a_damaged_file() -> None:
    regression = Path(__file__).parents[1] / "regressions" / "current-term-not-persisted.json"
    document = json.loads(regression.read_text())
    document["ignored"] = ["No Such Property"]
    with pytest.raises(TraceFileError, match="ignored"):
        parse_trace(json.dumps(document))


def test_workers_are_for_step_function_cores(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fuzz", "--core", "pysyncobj", "--workers", "2"]) == 2
    assert "--workers" in capsys.readouterr().err
