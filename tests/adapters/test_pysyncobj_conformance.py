"""Conformance: the installed PySyncObj and its faithful core (`impl/pysyncobj.py`) in lockstep
(`model/adapters/pysyncobj_conformance.py`). The pinned release conforms on a budget; a faithful
core with one rule deliberately wrong is caught, shrunk, saved and replayed.

Skipped as a whole when the optional `pysyncobj` extra is not installed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("pysyncobj", reason="the pysyncobj extra is not installed "
                                        "(pip install 'raftcheck[pysyncobj]')")

from raftcheck.impl.pysyncobj import PySyncObj0312, PySyncObjCore
from raftcheck.impl.raft import Out, RaftCore
from raftcheck.impl.types import Entry, Node
from raftcheck.model.adapters.pysyncobj_adapter import LIBRARY_VERSION, Cluster, ClusterConfig
from raftcheck.model.adapters.pysyncobj_conformance import Tracker, faithful_core
from raftcheck.model.adapters.pysyncobj_fuzz import (
    Faults,
    Record,
    dump_record,
    fuzz,
    load_record,
    replay,
)
from raftcheck.model.cli import main
from raftcheck.model.lockstep import NO_DIVERGENCE
from raftcheck.model.verdict import Verdict

ROOT = Path(__file__).resolve().parents[2]
RECORDS = sorted([*(ROOT / "tests/adapters/records").glob("*.json"),
                  *(ROOT / "benchmarks/records/pysyncobj").glob("*.json")])


class NoNoOpOnElection(PySyncObjCore):
    """Deliberately wrong: a new leader appends no no-op (the paper's Figure 2 leader)."""

    name = "wrong-no-no-op"

    def become_leader(self, node: Node) -> Out:
        return RaftCore.become_leader(self, node)


class MergeAsThePaper(PySyncObjCore):
    """Deliberately wrong: the follower merges as Figure 2 does (truncate on conflict only)."""

    name = "wrong-merge"

    def merge_entries(self, log: tuple[Entry, ...], prev_log_index: int,
                      entries: tuple[Entry, ...]) -> tuple[Entry, ...]:
        return RaftCore.merge_entries(self, log, prev_log_index, entries)


def test_the_pinned_release_has_a_faithful_core() -> None:
    assert faithful_core().release == LIBRARY_VERSION


def test_the_pinned_release_conforms() -> None:
    """Reordering, drops, duplicates, crashes and partitions, three servers."""
    result = fuzz(seed=1, examples=120, core=faithful_core())
    assert result.outcome.violation is None, result.outcome.violation
    assert result.verdict is Verdict.CLEAN
    assert result.compared > 5_000 and result.cut_short == ()


def test_the_pinned_release_conforms_at_five_servers_on_fifo_links() -> None:
    result = fuzz(nodes=5, ordering="fifo", faults=Faults(duplicate=False), seed=2,
                  examples=40, core=faithful_core())
    assert result.outcome.violation is None, result.outcome.violation
    assert result.compared > 1_000 and result.cut_short == ()


def test_the_pinned_release_conforms_with_pauses() -> None:
    """`Faults(pauses=True)`: one node's clock runs while the others stand still
    (`FireTimer`); the core follows those runs too."""
    result = fuzz(faults=Faults(pauses=True), seed=1, examples=40, core=faithful_core())
    assert result.outcome.violation is None, result.outcome.violation
    assert result.compared > 2_000 and result.cut_short == ()


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.stem)
def test_every_saved_finding_conforms(path: Path) -> None:
    """The fuzzer's findings on the library, each step a step of the core."""
    record = load_record(path)
    outcome, applied, _ = replay(record.config, record.actions, core=faithful_core())
    assert outcome.violation is None, outcome.violation
    assert len(applied) == len(record.actions)


def test_a_core_without_the_no_op_is_caught_and_shrunk() -> None:
    result = fuzz(seed=1, examples=50, core=NoNoOpOnElection())
    violation = result.outcome.violation
    assert violation is not None and violation.property == NO_DIVERGENCE
    assert result.verdict is Verdict.VIOLATION
    assert "log [1:noop=0] (library) vs [] (core)" in violation.detail
    assert len(result.actions) <= 3  # an election: the clock, a vote, its response
    assert result.config is not None
    assert replay(result.config, result.actions, core=NoNoOpOnElection())[0] == result.outcome


def test_a_follower_that_merges_as_the_paper_is_caught_on_a_saved_finding() -> None:
    record = load_record(ROOT / "tests/adapters/records/stale-append-entries-sms.json")
    outcome, applied, _ = replay(record.config, record.actions, core=MergeAsThePaper())
    assert outcome.violation is not None and outcome.violation.property == NO_DIVERGENCE
    assert "n0: log" in outcome.violation.detail
    assert len(applied) == 40  # the stale AppendEntries, the record's last step


def test_an_older_releases_rules_diverge_from_the_pinned_release(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """0.3.12's journal stores no term: the pinned release's does, with its commit index. The
    divergence is saved with the core's name, and --replay checks it against that core."""
    result = fuzz(seed=1, examples=200, core=PySyncObj0312(), shrink_seconds=3)
    assert result.outcome.violation is not None and result.config is not None
    assert "stored commit index" in result.outcome.violation.detail
    path = tmp_path / "div.json"
    path.write_text(dump_record(Record(result.config, result.actions, result.outcome,
                                       core=PySyncObj0312.name)))
    assert load_record(path).core == PySyncObj0312.name
    code = main(["fuzz", "--core", "pysyncobj", "--replay", str(path), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["reproduced"] is True


def test_conformance_cli_conforms_with_its_budget(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["fuzz", "--core", "pysyncobj", "--conformance", "--seed", "1",
                 "--examples", "30"])
    out = capsys.readouterr().out
    assert code == 0
    assert "CONFORMS: every one of the" in out and "of 30 runs was a step of " \
        f"pysyncobj-{LIBRARY_VERSION}" in out


@pytest.mark.parametrize("argv", [
    ["fuzz", "--conformance"],
    ["fuzz", "--core", "pysyncobj", "--release", "0.3.12"],
    ["fuzz", "--core", "pysyncobj", "--conformance", "--release", "0.0.1"],
])
def test_conformance_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_the_tracker_compares_the_initial_cluster() -> None:
    cluster = Cluster(ClusterConfig())
    assert Tracker(faithful_core(), cluster).initial == []
