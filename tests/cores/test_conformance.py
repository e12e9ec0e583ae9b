"""`raftcheck.check_core`, the conformance checks as a library call: the bundled core and the
README's from-scratch example pass every check; broken cores (a zoo bug, cores that break the
protocol) fail with a one-line reason naming what broke, and a counterexample to read."""

from __future__ import annotations

from pathlib import Path

import pytest

from raftcheck import CORE, ConformanceReport, check_core
from raftcheck.impl.broken import BROKEN_CORES
from raftcheck.impl.types import Node, Persistent
from raftcheck.model.conformance import CHECKS, REFERENCES
from raftcheck.model.cores import load_core
from raftcheck.model.scenarios import SCENARIOS

BAD = Path(__file__).resolve().parent / "bad_cores.py"


def assert_passes(report: ConformanceReport) -> None:
    assert report.ok, report.render()
    assert [check.name for check in report.checks] == list(CHECKS)
    assert all(check.reference and check.reason and check.trace is None
               for check in report.checks)
    assert "FAIL" not in report.render() and "✗" not in report.render()


def test_the_bundled_core_passes_every_check() -> None:
    report = check_core(CORE)
    assert_passes(report)
    assert report.core == "raft" and report.seed == 0
    assert report["exhaustive: safety"].reference.startswith("Figure 3")
    assert report.render().startswith(
        "raftcheck conformance: core 'raft', seed 0: PASS (10 of 10 checks passed)")


def test_the_example_core_passes_every_check() -> None:
    report = check_core(load_core("examples.my_core:CORE"), seed=3)
    assert_passes(report)
    assert report.core == "my-core"


def test_a_zoo_bug_fails_with_the_property_it_breaks() -> None:
    report = check_core(BROKEN_CORES["two-votes-per-term"])
    assert not report.ok
    assert {"step contract", "random runs: safety", "exhaustive: safety"} <= {
        check.name for check in report.failed}
    exhaustive = report["exhaustive: safety"]
    assert exhaustive.reason.startswith("Single Vote Per Term: ")
    assert exhaustive.reason.endswith("(after 15 actions, a shortest run)")
    assert exhaustive.trace is not None and "Counterexample (shortest)" in exhaustive.trace
    text = report.render()
    assert "FAIL (7 of 10 checks passed)" in text
    assert f"  ✗ exhaustive: safety: {exhaustive.reason}" in text
    assert "--- exhaustive: safety ---" in text and "Replay with" in text
    assert "--- exhaustive: safety ---" not in report.render(traces=False)


def test_a_second_zoo_bug_fails_everywhere_it_shows() -> None:
    """Counting n // 2 votes as a majority elects a leader on its own vote: every engine and
    every scenario sees it, each naming the property and where."""
    report = check_core(BROKEN_CORES["quorum-off-by-one"])
    assert [check.name for check in report.failed] == list(CHECKS[1:])
    assert report["random runs: safety"].reason == (
        "Elected By Majority: n0 became leader of term 1 with votes from n0: 1 of 3, not a "
        "majority (after 1 action, shrunk; seed 0)")
    assert report["exhaustive: progress"].reason.endswith(
        "; the search stopped at the Elected By Majority violation")
    assert report["scenario: split-brain"].reason.endswith("not a majority (after step 1)")
    trace = report["scenario: split-brain"].trace
    assert trace is not None and "✗ Elected By Majority violated after step 1" in trace


def test_a_core_that_raises_fails_every_check_with_the_fault() -> None:
    report = check_core(load_core(f"{BAD}:RAISING_STEP"))
    assert [check.name for check in report.failed] == list(CHECKS[1:])
    fault = "core 'raising-step': step(n"
    for check in report.failed:
        if check.name.endswith("progress"):  # the runs stopped at the fault
            assert check.reason.endswith("stopped at the Core Fault violation"), check
        else:
            assert fault in check.reason and "raised ZeroDivisionError" in check.reason, check
    assert report["exhaustive: safety"].reason.startswith("Core Fault: ")
    assert "Traceback" not in report.render()


def test_a_core_that_mutates_its_input_is_caught_on_the_first_step() -> None:
    report = check_core(load_core(f"{BAD}:MUTATING_STEP"), only=["step contract"])
    (check,) = report.failed
    assert check.reason == (
        "core 'mutating-step': step(n0, ElectionTimeout) mutated its input (the node or event "
        "it was given changed during the call; a core must return a new Node) (walk 1, "
        "step 1: n0: election timeout)")


class MissingStep:
    name = "missing-step"

    def initial_node(self, node_id: int, cluster_size: int) -> Node:
        return Node(id=node_id, cluster_size=cluster_size)

    def restart(self, node_id: int, cluster_size: int, persistent: Persistent) -> Node:
        return Node(id=node_id, cluster_size=cluster_size, persistent=persistent)


def test_a_core_without_step_fails_the_protocol_and_nothing_else_runs() -> None:
    report = check_core(MissingStep())  # type: ignore[arg-type]  # the point of the test
    assert report.checks[0].name == "protocol" and not report.checks[0].passed
    assert report.checks[0].reason == (
        "missing callable step (needs initial_node, restart, step)")
    assert all(check.reason == "not run: the core does not satisfy the protocol"
               for check in report.checks[1:])
    assert len(report.checks) == len(CHECKS)
    assert check_core(42).core == "int"  # type: ignore[arg-type]  # not even a name


def test_reports_are_reproducible_from_the_seed() -> None:
    core = BROKEN_CORES["two-votes-per-term"]
    assert check_core(core, seed=5) == check_core(core, seed=5)


def test_reasons_are_one_line() -> None:
    for core in (BROKEN_CORES["two-votes-per-term"], load_core(f"{BAD}:WRONG_RETURN")):
        assert all("\n" not in check.reason for check in check_core(core).checks)


def test_every_check_has_a_paper_reference() -> None:
    assert CHECKS[:6] == ("protocol", "step contract", "random runs: safety",
                          "random runs: progress", "exhaustive: safety", "exhaustive: progress")
    assert CHECKS[6:] == tuple(f"scenario: {name}" for name in SCENARIOS)
    assert set(CHECKS) == set(REFERENCES)


def test_unknown_checks_and_names_are_errors() -> None:
    with pytest.raises(ValueError, match="unknown conformance check"):
        check_core(CORE, only=["no such check"])
    report = check_core(CORE, walks=2, only="step contract")  # one name is a name
    assert [check.name for check in report.checks] == ["protocol", "step contract"]
    with pytest.raises(KeyError, match="no check 'exhaustive: safety'"):
        report["exhaustive: safety"]
