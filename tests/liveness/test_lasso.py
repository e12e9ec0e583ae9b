"""The exhaustive liveness check of the untimed world (model/search/lasso.py): fair cycles on
which a progress property never holds. The correct core has none within the bounds; every
liveness zoo bug the catalogue says has one is caught with a lasso that replays; an unfair
cycle is excused; a lasso is saved, replayed and rendered like any trace; the command line,
the API and the pytest fixture reach it."""

from __future__ import annotations

from pathlib import Path

import pytest
from attrs import evolve

from raftcheck.impl.raft import CORE
from raftcheck.impl.types import (
    AppendEntries,
    AppendEntriesResponse,
    Entry,
    Put,
    RequestVote,
    RequestVoteResponse,
)
from raftcheck.model import presets
from raftcheck.model.breaking import lasso_model
from raftcheck.model.cli import main
from raftcheck.model.cores import load_core
from raftcheck.model.pytest_plugin import Raftcheck
from raftcheck.model.replay import replay
from raftcheck.model.search.lasso import check_lasso, lasso_search
from raftcheck.model.tracefile import load_trace
from raftcheck.model.verdict import Exit, Verdict
from raftcheck.model.world import Action, Config, Deliver, Heartbeat, Model, Submit, Timeout
from raftcheck.model.zoo import LASSO_BOUNDS, LIVENESS_BUGS, LivenessBug
from raftcheck.properties import LIVENESS_UNTIMED, with_liveness
from raftcheck.properties.progress import ENTRY_COMMITTED, FOLLOWER_CAUGHT_UP


def untimed(core: str = "raft", **bounds: int) -> Model:
    """The world the liveness zoo is hunted in, with some bounds changed."""
    return lasso_model(load_core(core)).with_bounds(evolve(LASSO_BOUNDS, **bounds))


def test_the_untimed_progress_properties_are_fair_kind() -> None:
    assert LIVENESS_UNTIMED.names == (ENTRY_COMMITTED, FOLLOWER_CAUGHT_UP)
    assert all(prop.kind == "fair" for prop in LIVENESS_UNTIMED.all)
    assert with_liveness(False).fair_names == {ENTRY_COMMITTED, FOLLOWER_CAUGHT_UP}
    assert not with_liveness(True).fair


def test_the_correct_core_has_no_lasso() -> None:
    result = lasso_search(untimed())
    assert result.verdict is Verdict.PASS and result.complete and not result.lassos
    assert result.distinct > 3000  # the whole bounded graph, up to relabelling


@pytest.mark.slow
def test_the_correct_core_has_no_lasso_at_the_default_bounds() -> None:
    result = lasso_search(untimed(max_messages=presets.EXPLORE.max_messages))
    assert result.verdict is Verdict.PASS and not result.lassos
    assert result.distinct == 124_957  # the default explore's state count


@pytest.mark.parametrize("bug", LIVENESS_BUGS.values(), ids=lambda bug: bug.name)
def test_the_lasso_search_finds_what_the_catalogue_says(bug: LivenessBug) -> None:
    model = lasso_model(bug.core)
    result = lasso_search(model)
    assert result.complete
    assert tuple(found.property for found in result.lassos) == bug.lassos
    for found in result.lassos:
        again, why = check_lasso(model, found.actions, found.loop, found.property)
        assert again == found.violation, why
        replayed = replay(model, found.actions, found.violation, found.loop)
        assert replayed.verdict is Verdict.REPRODUCED
        # the cycle is a cycle of the stable world: deliveries and heartbeats only
        assert all(isinstance(action, (Deliver, Heartbeat)) for action in found.cycle)


def test_symmetry_reduction_changes_no_verdict_and_no_component() -> None:
    """The search up to relabelling, expanded to real states, finds the same components,
    judges them alike and returns the same lassos as the search without reduction."""
    model = lasso_model(LIVENESS_BUGS["empty-heartbeats"].core)
    reduced, plain = lasso_search(model), lasso_search(model, symmetry=False)
    assert reduced.symmetry and not plain.symmetry
    assert (reduced.components, reduced.excused) == (plain.components, plain.excused) == \
        (282, 252)
    assert reduced.lassos == plain.lassos


def _elected_with_a_vote_in_flight() -> list[Action]:
    """n0 elected by n1's vote, with n2's vote still in flight, and its entry replicated
    to both followers (ignore-leader-commit: they never learn that it is committed)."""
    entry = (Entry(1, Put("x", 1)),)
    return [
        Timeout(0),
        Deliver(RequestVote(0, 1, 1, 0, 0)), Deliver(RequestVote(0, 2, 1, 0, 0)),
        Deliver(RequestVoteResponse(1, 0, 1, True)),
        Deliver(AppendEntries(0, 1, 1, 0, 0, (), 0)), Deliver(AppendEntries(0, 2, 1, 0, 0, (), 0)),
        Deliver(AppendEntriesResponse(1, 0, 1, True, 0, 0)),
        Deliver(AppendEntriesResponse(2, 0, 1, True, 0, 0)),
        Submit(0, 1), Heartbeat(0),
        Deliver(AppendEntries(0, 1, 1, 0, 0, entry, 0)),
        Deliver(AppendEntries(0, 2, 1, 0, 0, entry, 0)),
        Deliver(AppendEntriesResponse(1, 0, 1, True, 1, 1)),
        Deliver(AppendEntriesResponse(2, 0, 1, True, 1, 1)),
    ]


_ROUND = [Heartbeat(0), Deliver(AppendEntries(0, 1, 1, 1, 1, (), 1)),
          Deliver(AppendEntries(0, 2, 1, 1, 1, (), 1)),
          Deliver(AppendEntriesResponse(1, 0, 1, True, 1, 1)),
          Deliver(AppendEntriesResponse(2, 0, 1, True, 1, 1))]


def test_a_cycle_that_never_delivers_a_message_is_excused() -> None:
    """The same heartbeat round, with n2's vote in flight the whole time: that delivery is
    enabled in every state of the cycle and never taken, so the cycle is unfair. Delivered
    once, before the cycle, the same round is a lasso."""
    model = untimed("ignore-leader-commit", max_messages=4)
    prefix = _elected_with_a_vote_in_flight()
    found, why = check_lasso(model, [*prefix, *_ROUND], len(prefix))
    assert found is None and "unfair" in why  # it returns, and is stuck, but is unfair
    fair_prefix = [*prefix, Deliver(RequestVoteResponse(2, 0, 1, True))]
    found, why = check_lasso(model, [*fair_prefix, *_ROUND], len(fair_prefix))
    assert found is not None and found.property == FOLLOWER_CAUGHT_UP, why


def test_cycles_cut_by_a_bound_are_excused() -> None:
    """A leader that never backs off resends to a lagging follower for ever, and each
    heartbeat adds a message that never goes away: the only cycles leave the heartbeat out
    once the bag is full. A heartbeat cut by the bound counts as enabled and not taken, so
    they are unfair, and the search reports none (a lasso of the bounded graph only)."""
    result = lasso_search(lasso_model(LIVENESS_BUGS["never-decrement-next-index"].core))
    assert result.verdict is Verdict.PASS
    assert result.components > 0 and result.excused == result.components


def test_a_search_cut_short_promises_nothing() -> None:
    result = lasso_search(untimed(), max_seconds=0)
    assert result.verdict is Verdict.INCOMPLETE and result.exit_code == Exit.INCONCLUSIVE
    assert not lasso_search(untimed(), max_states=100).complete


def test_a_lasso_is_saved_replayed_and_rendered(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "lasso.json"
    code = main(["explore", "--core", "ignore-leader-commit", "--liveness",
                 "--max-term", "1", "--max-messages", "3", "--save", str(saved)])
    out = capsys.readouterr().out
    assert code == Exit.VIOLATION
    assert "liveness: VIOLATION" in out and "cycle (repeats forever)" in out
    trace = load_trace(saved)
    assert trace.loop is not None and trace.violation is not None
    assert trace.violation.property == FOLLOWER_CAUGHT_UP
    assert main(["replay", str(saved)]) == Exit.VIOLATION
    out = capsys.readouterr().out
    assert "REPRODUCED: Follower Caught Up round the same cycle" in out
    assert "cycle (repeats forever)" in out
    assert main(["replay", str(saved), "--core", "raft"]) == Exit.CLEAN
    assert "the lasso no longer holds" in capsys.readouterr().out
    assert main(["replay", str(saved), "--format", "mermaid"]) == Exit.VIOLATION
    assert "cycle (repeats forever)" in capsys.readouterr().out
    assert main(["replay", str(saved), "--shrink"]) == Exit.USAGE
    damaged = tmp_path / "damaged.json"
    damaged.write_text(saved.read_text().replace(f'"loop": {trace.loop}', '"loop": 999'))
    assert main(["replay", str(damaged)]) == Exit.USAGE
    assert "$.loop" in capsys.readouterr().err


def test_the_command_line_runs_it_after_a_clean_search(
        capsys: pytest.CaptureFixture[str]) -> None:
    small = ["--max-term", "1", "--max-messages", "3", "--no-save"]
    assert main(["explore", "--liveness", *small]) == Exit.CLEAN
    assert "liveness: PASS (complete" in capsys.readouterr().out
    assert main(["explore", "--property", "Entry Committed", "--core", "empty-heartbeats",
                 *small]) == Exit.VIOLATION
    out = capsys.readouterr().out
    assert "Entry Committed never holds" in out and "Follower Caught Up never" not in out
    assert main(["explore", "--property", "Leader Elected"]) == Exit.USAGE
    assert "raftcheck fuzz --timed" in capsys.readouterr().err
    assert main(["fuzz", "--timed", "--property", "Entry Committed"]) == Exit.USAGE
    assert "untimed world only" in capsys.readouterr().err


def test_the_pytest_fixture_reaches_it() -> None:
    raftcheck = Raftcheck()
    raftcheck.explore(CORE, liveness=True, max_term=1, max_messages=3)
    with pytest.raises(pytest.fail.Exception, match="Entry Committed never holds"):
        raftcheck.lasso("empty-heartbeats", max_term=1, max_messages=3)
    assert raftcheck.lasso(CORE, max_term=1, max_messages=3).verdict is Verdict.PASS
    assert Model(CORE, Config(), properties=raftcheck.properties(liveness=True, timed=False)) \
        .properties.fair_names == {ENTRY_COMMITTED, FOLLOWER_CAUGHT_UP}
