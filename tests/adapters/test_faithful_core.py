"""The faithful PySyncObj cores (`impl/pysyncobj.py`) as step functions: their rules, their
journal, their encodings, and the bugs of each release that the engines find on them. No
library needed: these run in the default suite."""

from __future__ import annotations

import pytest
from attrs import evolve

from raftcheck.impl.pysyncobj import (
    NOOP,
    RELEASES,
    SAME_RULES,
    PySyncObj0311,
    PySyncObj0312,
    PySyncObjCore,
)
from raftcheck.impl.types import (
    AppendEntries,
    AppendEntriesResponse,
    ElectionTimeout,
    Entry,
    Journal,
    Put,
    RequestVote,
    RequestVoteResponse,
    Role,
)
from raftcheck.model.cores import load_core
from raftcheck.model.fingerprint import decode, encode
from raftcheck.model.fuzz import fuzz, fuzz_each
from raftcheck.model.stateful import FUZZ_BOUNDS
from raftcheck.model.symmetry import state_bytes
from raftcheck.model.world import (
    Bounds,
    Config,
    Crash,
    Deliver,
    Heartbeat,
    Model,
    Restart,
    Submit,
    Timeout,
)

CORE = PySyncObjCore()
X = Put("x", 1)


def elected(core: PySyncObjCore = CORE) -> tuple[Model, list[object]]:
    """n0 elected in term 1 by n1's vote; its first AppendEntries (the no-op) in flight."""
    model = Model(core, Config(), Bounds(max_messages=30, max_term=3, max_crashes=3))
    actions: list[object] = [Timeout(0)]
    state = model.run(actions)[-1]  # type: ignore[arg-type]
    vote = next(m for m in state.network if m.dest == 1)
    actions.append(Deliver(vote))
    state = model.run(actions)[-1]  # type: ignore[arg-type]
    actions.append(Deliver(next(m for m in state.network if m.dest == 0)))
    return model, actions


def test_the_cores_are_bundled_by_release() -> None:
    assert {core.release for core in RELEASES.values()} == {"0.3.17", "0.3.12", "0.3.11"}
    for core in RELEASES.values():
        assert load_core(core.name) is core


def test_every_release_from_0_3_8_has_the_core_of_its_rules() -> None:
    """impl/pysyncobj.py's SAME_RULES: a release without a core of its own takes one of a
    release with a core (docs/pysyncobj.md, "Release matrix")."""
    assert sorted(RELEASES, key=lambda r: tuple(map(int, r.split(".")))) == [
        f"0.3.{minor}" for minor in range(8, 18)]
    assert all(RELEASES[rules].release == rules and rules not in SAME_RULES
               for rules in SAME_RULES.values())
    assert {r: RELEASES[r].name for r in ("0.3.8", "0.3.15", "0.3.16")} == {
        "0.3.8": "pysyncobj-0.3.11", "0.3.15": "pysyncobj-0.3.12",
        "0.3.16": "pysyncobj-0.3.17"}


def test_a_new_leader_appends_a_no_op_and_sends_it() -> None:
    model, actions = elected()
    state = model.run(actions)[-1]  # type: ignore[arg-type]
    leader = state.nodes[0]
    assert leader is not None and leader.role is Role.LEADER
    assert leader.log == (Entry(1, NOOP),)
    sent = [m for m in state.network if isinstance(m, AppendEntries)]
    assert {m.dest for m in sent} == {1, 2}
    assert all(m.entries == (Entry(1, NOOP),) and m.prev_log_index == 0 for m in sent)
    # nextIndex moved past the no-op when it was sent, before any reply.
    assert leader.leader is not None and leader.leader.next_index[1:] == (2, 2)


def test_votes_are_granted_once_per_term_and_refusals_are_silent() -> None:
    node = CORE.initial_node(1, 3)
    request = RequestVote(0, 1, 1, 0, 0)
    node, effects = CORE.step(node, request)
    assert effects.messages == (RequestVoteResponse(1, 0, 1, True),)
    again, effects = CORE.step(node, request)  # the same candidate again: no answer
    assert effects.messages == () and again == node
    other, effects = CORE.step(node, RequestVote(2, 1, 1, 0, 0))
    assert effects.messages == () and other.voted_for == 0


def test_a_candidate_counts_responses_not_voters() -> None:
    five = CORE.initial_node(0, 5)
    five, _ = CORE.step(five, ElectionTimeout())
    vote = RequestVoteResponse(1, 0, 1, True)
    five, _ = CORE.step(five, vote)
    assert five.role is Role.CANDIDATE
    five, _ = CORE.step(five, vote)  # the same voter's response, delivered twice
    assert five.role is Role.LEADER


def test_replies_carry_no_term_and_a_leader_takes_them_in_any_term() -> None:
    model, actions = elected()
    state = model.run(actions)[-1]  # type: ignore[arg-type]
    request = next(m for m in state.network if isinstance(m, AppendEntries) and m.dest == 1)
    follower = state.nodes[1]
    assert follower is not None
    follower, effects = CORE.step(follower, request)
    (reply,) = effects.messages
    assert reply == AppendEntriesResponse(1, 0, 0, True, 1, 0)
    leader = state.nodes[0]
    assert leader is not None
    later = Journal(5, 0, leader.log)  # the same leader, in a later term of its own
    leader = evolve(leader, persistent=later)
    leader, _ = CORE.step(leader, reply)
    assert leader.leader is not None and leader.leader.match_index[1] == 1


def test_a_reordered_stale_append_entries_truncates_applied_entries() -> None:
    """The mechanism of docs/pysyncobj.md's finding 1, on the faithful core."""
    model, actions = elected()
    state = model.run(actions)[-1]  # type: ignore[arg-type]
    stale = next(m for m in state.network if isinstance(m, AppendEntries) and m.dest == 1)
    actions += [Submit(0, 1), Heartbeat(0)]

    def deliver(pick: object) -> None:
        state = model.run(actions)[-1]  # type: ignore[arg-type]
        actions.append(Deliver(next(m for m in state.network if pick(m))))  # type: ignore[operator]

    deliver(lambda m: isinstance(m, AppendEntries) and m.dest == 1 and m.prev_log_index == 1)
    deliver(lambda m: isinstance(m, AppendEntriesResponse))  # rejected: nextIndex back to 1
    actions.append(Heartbeat(0))
    deliver(lambda m: isinstance(m, AppendEntries) and m.dest == 1 and len(m.entries) == 2)
    deliver(lambda m: isinstance(m, AppendEntriesResponse))  # n0 commits x=1
    actions.append(Heartbeat(0))
    deliver(lambda m: isinstance(m, AppendEntries) and m.dest == 1 and m.leader_commit == 2)
    states = model.run(actions)  # type: ignore[arg-type]
    applied = states[-1].nodes[1]
    assert applied is not None and applied.last_applied == 2 and applied.commit_index == 2
    actions.append(Deliver(stale))
    states = model.run(actions)  # type: ignore[arg-type]
    truncated = states[-1].nodes[1]
    assert truncated is not None
    assert truncated.log == (Entry(1, NOOP),)
    assert truncated.commit_index == 1 and truncated.last_applied == 2  # lastApplied stays
    violation = model.check_step(states[-2], actions[-1], states[-1])  # type: ignore[arg-type]
    assert violation is not None


def test_the_journal_stores_the_commit_index_with_the_term_only() -> None:
    model, actions = elected()
    actions += [Submit(0, 1), Heartbeat(0)]
    state = model.run(actions)[-1]  # type: ignore[arg-type]
    for message in sorted((m for m in state.network if m.dest == 1), key=lambda m: m.KIND):
        actions.append(Deliver(message))
    state = model.run(actions)[-1]  # type: ignore[arg-type]
    for message in [m for m in state.network if m.dest == 0]:
        actions.append(Deliver(message))
    actions.append(Heartbeat(0))
    state = model.run(actions)[-1]  # type: ignore[arg-type]
    actions.append(Deliver(next(m for m in state.network
                                if m.dest == 1 and isinstance(m, AppendEntries))))
    state = model.run(actions)[-1]  # type: ignore[arg-type]
    follower = state.nodes[1]
    assert follower is not None and follower.commit_index == 2
    assert state.disk[1] == Journal(1, 0, follower.log, 0)  # not stored yet
    flushed, disk = CORE.flush_journal(follower)
    assert disk == Journal(1, 0, follower.log, 2) == flushed.persistent
    # A term change stores it too (the commit index the node had).
    node, effects = CORE.step(follower, ElectionTimeout())
    assert effects.persist == Journal(2, 1, follower.log, 2)
    restarted = CORE.restart(1, 3, effects.persist)
    assert (restarted.current_term, restarted.voted_for, restarted.commit_index,
            restarted.last_applied) == (2, 1, 2, 2)
    assert restarted.volatile.state_machine == (("x", 1),)
    # 0.3.12 stores neither term nor vote, nor the commit index with them.
    old = PySyncObj0312()
    node, effects = old.step(follower, ElectionTimeout())
    assert effects.persist is None  # its journal holds the log only, which did not change
    assert node.current_term == 2
    restarted = old.restart(1, 3, Journal(0, None, follower.log, 0))
    assert (restarted.current_term, restarted.voted_for, restarted.commit_index) == (0, None, 0)


def test_encodings_keep_the_stored_commit_index() -> None:
    model, actions = elected()
    actions += [Crash(1), Restart(1)]
    for state in model.run(actions):  # type: ignore[arg-type]
        assert decode(encode(state)) == state
    state = model.run(actions)[-1]  # type: ignore[arg-type]
    node = state.nodes[0]
    assert node is not None
    other = evolve(state, disk=(Journal(1, 0, (), 7), *state.disk[1:]))
    assert decode(encode(other)) == other
    assert state_bytes(other, reduce=True) != state_bytes(state, reduce=True)


@pytest.mark.parametrize(("core", "seed", "examples", "breaks"), [
    (PySyncObjCore(), 1, 100, "Commit Index Monotonicity"),
    (PySyncObj0312(), 1, 100, "Term Monotonicity"),
    (PySyncObj0311(), 1, 100, "Commit Index Monotonicity"),
])
def test_the_fuzzer_finds_each_releases_bug(core: PySyncObjCore, seed: int, examples: int,
                                             breaks: str) -> None:
    result = fuzz(Model(core, Config(), FUZZ_BOUNDS), seed=seed, examples=examples,
                  minimise=False)  # found is enough here; shrinking is the engine's own test
    assert result.violation is not None
    assert result.violation.property == breaks


def test_continue_reports_both_bugs_of_a_two_bug_release() -> None:
    """0.3.11's rules have two independent bugs: a follower's commit index lowered by a
    reordered heartbeat, and the term lost across a restart. `--continue` (`fuzz_each`)
    reports both, each with its own shrunk counterexample."""
    results = fuzz_each(Model(PySyncObj0311(), Config(), FUZZ_BOUNDS), seed=1, examples=20)
    broken = {r.violation.property: len(r.actions) for r in results if r.violation}
    assert {"Commit Index Monotonicity", "Term Monotonicity"} <= set(broken)
    assert broken["Term Monotonicity"] == 2  # an election, then a crash: the disk has term 0
