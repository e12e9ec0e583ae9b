"""Conformance: raftos 0.2.6 and its faithful core (`impl/raftos.py`) in lockstep
(`model/adapters/raftos_conformance.py`). The release conforms on a budget and on every saved
finding; a faithful core with one rule deliberately wrong is caught, shrunk and replayed.

Skipped as a whole when raftos is not installed."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("raftos", reason="raftos is not installed (pip install 'raftcheck[raftos]'"
                                     " && pip install --no-deps raftos==0.2.6)")

from raftcheck.impl.raft import RaftCore
from raftcheck.impl.raftos import RaftosCore
from raftcheck.impl.types import Message, Node, Persistent
from raftcheck.model.adapters.library_fuzz import Faults, load_record, replay
from raftcheck.model.adapters.raftos_adapter import LIBRARY_VERSION, Cluster, ClusterConfig
from raftcheck.model.adapters.raftos_conformance import Tracker, faithful_core
from raftcheck.model.adapters.raftos_fuzz import fuzz
from raftcheck.model.cli import main
from raftcheck.model.lockstep import NO_DIVERGENCE
from raftcheck.model.verdict import Verdict

RECORDS = sorted((Path(__file__).parent / "records/raftos").glob("*.json"))


class KeepsItsVote(RaftosCore):
    """Deliberately wrong: becoming follower keeps the vote (finding 1 fixed)."""

    name = "wrong-keeps-its-vote"

    def forget_vote(self, persistent: Persistent) -> Persistent:
        return persistent


class IgnoresOlderVotes(RaftosCore):
    """Deliberately wrong: a vote response of an older term does not count (finding 2
    fixed, as the paper)."""

    name = "wrong-ignores-older-votes"

    def is_stale(self, node: Node, message: Message) -> bool:
        return RaftCore.is_stale(self, node, message)


def test_the_pinned_release_has_a_faithful_core() -> None:
    assert faithful_core().release == LIBRARY_VERSION


def test_the_pinned_release_conforms() -> None:
    """Reordering, drops, duplicates, crashes and partitions, three servers: no divergence,
    every run compared to its end, leaders stepping down included. (A value applied on every
    node takes more runs than this budget: see test_conformance_cli.)"""
    result = fuzz(seed=1, examples=60, core=faithful_core())
    assert result.outcome.violation is None, result.outcome.violation
    assert result.compared > 3_000 and result.cut_short == ()


def test_the_pinned_release_conforms_on_fifo_links() -> None:
    """A crash resets a node's links there, in the library's cluster and in the core's."""
    result = fuzz(ordering="fifo", faults=Faults(duplicate=False), seed=1, examples=30,
                  core=faithful_core())
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
    """Each finding's run on the library, each step a step of the core: the core has the
    four bugs."""
    record = load_record(path)
    outcome, applied, _ = replay(record.config, record.actions, core=faithful_core())
    assert outcome.violation is None, outcome.violation
    assert len(applied) == len(record.actions)


def test_a_core_that_keeps_its_vote_is_caught_and_shrunk() -> None:
    result = fuzz(seed=1, examples=20, core=KeepsItsVote())
    violation = result.outcome.violation
    assert violation is not None and violation.property == NO_DIVERGENCE
    assert result.verdict is Verdict.VIOLATION
    assert "voted_for" in violation.detail
    assert len(result.actions) <= 2  # a candidate's timeout, then its timer again
    assert result.config is not None
    assert replay(result.config, result.actions, core=KeepsItsVote())[0] == result.outcome


def test_a_core_that_ignores_older_votes_is_caught_on_the_saved_finding() -> None:
    record = load_record(Path(__file__).parent / "records/raftos/raftos-stale-vote-ebm.json")
    outcome, applied, _ = replay(record.config, record.actions, core=IgnoresOlderVotes())
    assert outcome.violation is not None and outcome.violation.property == NO_DIVERGENCE
    assert "role" in outcome.violation.detail
    assert len(applied) == len(record.actions)  # the older vote, the record's last step


def test_conformance_cli(capsys: pytest.CaptureFixture[str]) -> None:
    """A verdict that names its budget; too few runs to apply a value on every node is
    INCONCLUSIVE (exit 3), not clean."""
    code = main(["fuzz", "--core", "raftos", "--conformance", "--seed", "1",
                 "--examples", "10"])
    out = capsys.readouterr().out
    assert code == 3, out
    assert f"conformance with raftos-{LIBRARY_VERSION}: " in out
    assert "INCONCLUSIVE: no divergence, but some goals were never reached" in out
    assert main(["fuzz", "--core", "raftos", "--conformance", "--release", "0.0.1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no faithful core models raftos 0.0.1" in err


def test_the_tracker_compares_the_initial_cluster() -> None:
    cluster = Cluster(ClusterConfig())
    assert Tracker(faithful_core(), cluster).initial == []
