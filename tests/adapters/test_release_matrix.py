"""benchmarks/pysyncobj_matrix.py without running a release: a release that does not conform is
reported so and not hunted; the table shows confirmed lengths and other verdicts. No library
needed (the subprocesses are replaced). Slow (`-m slow`): a release with two bugs installed in
a venv of its own (`venv_for`, reused from $RAFTCHECK_RELEASES when set), fuzzed with
`--continue`."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


def load() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "pysyncobj_matrix.py"
    spec = importlib.util.spec_from_file_location("pysyncobj_matrix", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


matrix = load()
ARGS = argparse.Namespace(seed=1, examples=10, conformance_examples=10, nodes=3,
                          conformance_nodes=3, engine="fuzz", seconds=None, hunt_args="")


def conformance(verdict: str, prop: str | None = None) -> dict[str, Any]:
    return {"verdict": verdict, "conformance": {"core": "pysyncobj-0.3.12", "steps_compared": 9},
            "violation": None if prop is None else {"property": prop, "detail": "n1: term"}}


@pytest.mark.parametrize(("report", "verdict"), [
    (conformance("clean"), "CONFORMS"),
    (conformance("violation", "No Divergence"), "diverges"),
    (conformance("inconclusive"), "inconclusive"),
    (None, "error (exit 2: raftcheck: error: no faithful core)"),
])
def test_the_conformance_verdict(report: dict[str, Any] | None, verdict: str) -> None:
    assert matrix.conformance_verdict(2, report, "raftcheck: error: no faithful core") == verdict


def test_a_release_that_diverges_is_not_hunted(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    calls: list[list[str]] = []

    def raftcheck(venv: Path, argv: list[str]) -> tuple[int, dict[str, Any], float, str]:
        calls.append(argv)
        return 1, conformance("violation", "No Divergence"), 1.0, ""

    monkeypatch.setattr(matrix, "venv_for", lambda release, scratch: (tmp_path, 0.0))
    monkeypatch.setattr(matrix, "raftcheck", raftcheck)
    row = matrix.run_release("0.3.13", tmp_path, ARGS)
    assert [argv[0] for argv in calls] == ["fuzz"]
    assert row["conformance"] == "diverges" and row["hunt"] is None
    assert row["divergence"] == "n1: term"
    assert "| 0.3.13 | pysyncobj-0.3.12 | diverges | not hunted | 1.0 |" in matrix.table([row])


def test_a_hunt_takes_the_engine_and_its_options(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    calls: list[list[str]] = []

    def raftcheck(venv: Path, argv: list[str]) -> tuple[int, dict[str, Any], float, str]:
        calls.append(argv)
        if argv[0] == "fuzz":
            return 0, conformance("clean"), 1.0, ""
        return 3, {"core": "pysyncobj-0.3.12", "search": "9 states, depth 2, complete",
                   "counterexamples": []}, 2.0, ""

    monkeypatch.setattr(matrix, "venv_for", lambda release, scratch: (tmp_path, 0.0))
    monkeypatch.setattr(matrix, "raftcheck", raftcheck)
    args = argparse.Namespace(**{**vars(ARGS), "engine": "explore", "seconds": 60.0,
                                 "hunt_args": "--max-term 1 --drop"})
    row = matrix.run_release("0.3.13", tmp_path, args)
    hunt = calls[1]
    assert hunt[:2] == ["hunt", "--core"] and "--examples" not in hunt
    assert hunt[hunt.index("--engine") + 1] == "explore"
    assert hunt[hunt.index("--seconds") + 1] == "60.0"
    assert hunt[hunt.index("--max-term"):hunt.index("--max-term") + 3] == [
        "--max-term", "1", "--drop"]
    assert "| 9 states, depth 2, complete | 3.0 |" in matrix.table([row])


def test_the_table_shows_confirmed_lengths_and_other_verdicts() -> None:
    found = [{"property": "State Machine Safety", "verdict": "CONFIRMED",
              "core_trace_length": 13, "library_trace_length": 19},
             {"property": "Leader Completeness", "verdict": "CANNOT APPLY",
              "core_trace_length": 36, "library_trace_length": 0}]
    rows = [{"release": "0.3.11", "core": "pysyncobj-0.3.11", "conformance": "CONFORMS",
             "conformance_seconds": 1.0, "hunt_seconds": 2.0,
             "hunt": {"search": "10 runs, 1,234 steps", "counterexamples": found}},
            {"release": "0.3.17", "core": "pysyncobj-0.3.17", "conformance": "CONFORMS",
             "conformance_seconds": 1.0, "hunt_seconds": 2.0,
             "hunt": {"search": "6,078 states, depth 35, complete",
                      "counterexamples": found[:1]}}]
    lines = matrix.table(rows).splitlines()
    assert lines[0].startswith("| release | faithful core | conformance | Leader Completeness "
                               "| State Machine Safety |")
    assert lines[2] == ("| 0.3.11 | pysyncobj-0.3.11 | CONFORMS | CANNOT APPLY (36) | "
                        "✓ 13 → 19 | 10 runs, 1,234 steps | 3.0 |")
    assert lines[3].split(" | ")[3:5] == ["-", "✓ 13 → 19"]


@pytest.mark.slow
def test_continue_reports_both_bugs_of_a_two_bug_release(
        tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """PySyncObj 0.3.11 loses its term across a restart (Term Monotonicity) and lowers a
    follower's commit index on a reordered heartbeat (Commit Index Monotonicity):
    `raftcheck fuzz --core pysyncobj --continue` on the library reports both, each with a
    record that replays to it in that release's venv."""
    scratch = Path(os.environ.get("RAFTCHECK_RELEASES") or tmp_path_factory.mktemp("releases"))
    scratch.mkdir(parents=True, exist_ok=True)
    venv, _ = matrix.venv_for("0.3.11", scratch)
    code, report, _, stderr = matrix.raftcheck(venv, [
        "fuzz", "--core", "pysyncobj", "--seed", "1", "--examples", "300", "--continue",
        "--json", "--save", str(tmp_path) + "/"])
    assert code == 1 and report is not None, stderr
    assert {"Term Monotonicity", "Commit Index Monotonicity"} <= set(report["violated"])
    for entry in report["rounds"]:
        if entry["violation"] is None:
            continue
        code, replayed, _, stderr = matrix.raftcheck(venv, [
            "fuzz", "--core", "pysyncobj", "--replay", entry["record"], "--json"])
        assert code == 1 and replayed is not None, stderr
        assert replayed["reproduced"], json.dumps(replayed)
        assert replayed["outcome"] == entry["violation"]["property"]
