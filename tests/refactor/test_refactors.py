"""`raftcheck diff` on the shipped example refactors (impl/refactors/): the verdict at each
comparison level, where the first divergence is, and how long its (shrunk) trace is.

* median-commit: a correct rewrite of commit advancement; no divergence even in state.
* median-commit-off-by-one: the same rewrite taking the wrong element; caught at every level,
  by breadth-first search, with the shortest traces pinned.
* conflict-term-backtracking: a legitimate change of messages; equivalent at the properties
  level, divergent at the messages level (found by the Hypothesis engine on the pair: the
  divergence needs diverging logs, beyond small exhaustive bounds).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from raftcheck.impl.raft import CORE
from raftcheck.impl.refactors import CONFLICT_TERM, MEDIAN_COMMIT, MEDIAN_COMMIT_OFF_BY_ONE
from raftcheck.model.cli import main
from raftcheck.model.diff import DIFF_BOUNDS, diff
from raftcheck.model.shrink import first_violation
from raftcheck.model.tracefile import load_trace
from raftcheck.model.verdict import Verdict
from raftcheck.model.world import Bounds, Submit
from raftcheck.properties import RAFT_PROPERTIES

# One term, one entry, three messages in flight: ~2,400 pair states, a few seconds.
SMALL = Bounds(max_term=1, max_log=1, values=1, max_messages=3, max_crashes=0,
               max_partitions=0, drop=False, duplicate=False)


def test_correct_median_rewrite_is_state_equivalent() -> None:
    result = diff(CORE, MEDIAN_COMMIT, level="state", bounds=SMALL, examples=30)
    assert result.verdict is Verdict.EQUIVALENT and result.complete
    assert result.random_runs >= 30  # Hypothesis may run a few more than the budget


@pytest.mark.parametrize(("level", "steps"), [("state", 4), ("messages", 4),
                                              ("properties", 13)])
def test_off_by_one_median_is_caught_at_every_level(level: str, steps: int) -> None:
    result = diff(CORE, MEDIAN_COMMIT_OFF_BY_ONE, level=level, bounds=DIFF_BOUNDS,
                  engine="exhaustive")
    found = result.divergence
    assert result.verdict is Verdict.DIVERGENT and result.exit_code == 1
    assert found is not None and found.shortest and len(found.actions) == steps
    if level == "properties":  # a later leader lacks the entry the old leader "committed"
        assert found.detail[0].startswith("NEW violates Leader Completeness")
    else:  # the leader commits on its own, the moment the client's entry arrives
        assert found.actions[-1].old == Submit(0, 1)
        assert "n0: commit_index 0 (OLD) vs 1 (NEW)" in found.detail


def test_ignored_properties_are_not_compared(capsys: pytest.CaptureFixture[str]) -> None:
    """--ignore and --property choose what --compare properties compares: without Leader
    Completeness the off-by-one median is caught by another property, later; with Election
    Safety alone, it is not caught at all within the bounds."""
    result = diff(CORE, MEDIAN_COMMIT_OFF_BY_ONE, level="properties", bounds=DIFF_BOUNDS,
                  engine="exhaustive",
                  properties=RAFT_PROPERTIES.ignoring(["Leader Completeness"]))
    found = result.divergence
    assert found is not None and found.shortest and len(found.actions) > 13
    assert found.detail[0].startswith("NEW violates ")
    assert "Leader Completeness" not in found.detail[0]
    assert result.ignored() == ["Leader Completeness"]
    code = main(["diff", "raft", "raftcheck.impl.refactors:MEDIAN_COMMIT_OFF_BY_ONE",
                 "--compare", "properties", "--engine", "exhaustive", "--property",
                 "Election Safety", "--max-term", "1", "--max-messages", "3", "--json",
                 "--no-save"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["verdict"] == "equivalent"
    assert "Leader Completeness" in summary["properties_ignored"]
    assert "Election Safety" not in summary["properties_ignored"]
    code = main(["diff", "raft", "raft", "--liveness"])
    assert code == 2 and "timed world only" in capsys.readouterr().err


def test_conflict_terms_keep_every_property() -> None:
    result = diff(CORE, CONFLICT_TERM, level="properties", bounds=SMALL, seed=3,
                  examples=30)
    assert result.verdict is Verdict.EQUIVALENT, result.divergence


def test_conflict_terms_change_the_messages() -> None:
    result = diff(CORE, CONFLICT_TERM, level="messages", engine="random", seed=1,
                  examples=100)
    found = result.divergence
    assert found is not None and found.engine == "random" and result.random_runs == 5
    assert found.shrunk_from is not None and len(found.actions) < found.shrunk_from
    assert len(found.actions) == 13
    (line,) = found.detail
    assert line.startswith("sent: AppendEntriesResponse") and "rejected" in line
    assert line.endswith("rejected hint=0 conflict_term=2 (NEW)")


def test_cli_diff_json_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["diff", "raft", "raftcheck.impl.refactors:MEDIAN_COMMIT_OFF_BY_ONE", "--engine",
                 "exhaustive", "--json", "--no-save"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 1 and summary["verdict"] == "divergent"
    assert summary["divergence"]["step"] == 4 and summary["divergence"]["shortest"]
    code = main(["diff", "raft", "raftcheck.impl.refactors:MEDIAN_COMMIT_OFF_BY_ONE", "--engine",
                 "exhaustive", "--no-save"])
    out = capsys.readouterr().out
    assert code == 1
    assert "First divergence after 4 steps (shortest, by breadth-first search)" in out
    assert "       OLD n0: log []→[1:x=1]" in out
    assert "       NEW n0: log []→[1:x=1], commit 0→1, applied 0→1" in out


@pytest.mark.parametrize("argv", [
    ["diff", "raft", "no.such.module:CORE"],
    ["diff", "raft", "not-a-core"],
    ["diff", "raft", "raft", "--compare", "bytes"],
    ["diff", "raft", "raft", "--steps", "0"],
    ["diff", "raft"],
])
def test_cli_diff_bad_usage_is_exit_2(argv: list[str],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own errors exit, with the same code
        code = exit_.code  # type: ignore[assignment]  # an int here
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().count("\n") == 0 and err.strip() and "Traceback" not in err


def test_a_divergence_is_saved_as_a_replayable_trace_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "divergence.json"
    code = main(["diff", "raft", "raftcheck.impl.refactors:MEDIAN_COMMIT_OFF_BY_ONE", "--compare",
                 "properties", "--engine", "exhaustive", "--save", str(target)])
    assert code == 1 and f"saved: {target}" in capsys.readouterr().out
    trace = load_trace(target)
    assert trace.engine == "diff"
    assert trace.core.spec == "raftcheck.impl.refactors:MEDIAN_COMMIT_OFF_BY_ONE"
    assert len(trace.actions) == 13 and trace.violation is not None
    assert trace.violation.property == "Leader Completeness"
    assert trace.metadata["diff"]["compare"] == "properties"
    # NEW's side replays to the same violation; the bundled core survives the same schedule.
    assert first_violation(trace.model(MEDIAN_COMMIT_OFF_BY_ONE), trace.actions) is not None
    assert first_violation(trace.model(CORE), trace.actions) is None


def test_a_saved_divergence_never_replays_as_clean(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """At --compare state the divergence is a difference between the cores, not a broken
    property: NEW's side replays without a violation. That must read as inconclusive, with
    the command that re-checks the divergence, never as CLEAN (exit 0)."""
    target = tmp_path / "divergence.json"
    code = main(["diff", "raft", "raftcheck.impl.refactors:MEDIAN_COMMIT_OFF_BY_ONE",
                 "--engine", "exhaustive", "--save", str(target)])
    assert code == 1
    capsys.readouterr()
    assert main(["replay", str(target)]) == 3
    out = capsys.readouterr().out
    assert "INCONCLUSIVE: this trace records a divergence" in out
    assert "raftcheck diff raft raftcheck.impl.refactors:MEDIAN_COMMIT_OFF_BY_ONE" in out
    assert main(["replay", str(target), "--json"]) == 3
    assert json.loads(capsys.readouterr().out)["exit_code"] == 3
