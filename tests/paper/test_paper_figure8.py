"""The Raft paper's Figure 8: why a leader must not commit an earlier term's entry by counting.

The paper's five servers S1..S5 are n0..n4 here, and its terms are ours:

  term 1  n1 leads and commits 1:x=1 on every server (the figure's index-1 entry).
  (a) 2   S1 (n0) leads and replicates 2:x=2 at index 2 to S2 (n1) only.
  (b) 3   S1 crashes; S5 (n4) is elected with votes from S3, S4 and itself, and accepts a
          different entry, 3:x=3, at index 2.
  (c) 4   S5 crashes; S1 restarts, is elected, and replicates 2:x=2 to S3 (n2): now stored on
          a majority (S1, S2, S3), but it is an entry of term 2 and S1 leads term 4.
  (d) 5   S1 crashes; S5 restarts and is elected with votes from S2, S3, S4 (its last term 3
          beats their 2), and overwrites index 2 with 3:x=3 everywhere.

If S1 had committed 2:x=2 in (c) by counting replicas, (d) overwrites a committed entry: the
correct core does not commit it, `impl.broken.CommitPreviousTermByCounting` does, and the
properties catch it. (e): if S1 first replicates an entry of its own term 4 on a majority,
that commits both, and S5 can no longer win.
"""

from __future__ import annotations

from raftcheck.impl.broken import CommitPreviousTermByCounting
from raftcheck.impl.raft import CORE, RaftCore
from raftcheck.impl.types import (
    AppendEntriesResponse,
    CandidateState,
    Entry,
    Node,
    Persistent,
    Put,
    RequestVote,
    Role,
    Volatile,
)
from raftcheck.model.scenarios import Script
from raftcheck.model.world import (
    Action,
    Bounds,
    Config,
    Crash,
    Model,
    Restart,
    Submit,
    Timeout,
)
from raftcheck.properties import STATE_PROPERTIES, TRANSITION_PROPERTIES, check_transition
from raftcheck.properties.safety import LEADER_COMPLETENESS, STATE_MACHINE_SAFETY

ALL = (0, 1, 2, 3, 4)
FIGURE8_BOUNDS = Bounds(max_term=6, max_log=4, values=3, max_messages=40, max_crashes=3,
                        max_partitions=0)


def x(term: int, value: int) -> Entry:
    return Entry(term, Put("x", value))


def figure8(core: RaftCore, commit_own_term_first: bool = False) -> tuple[Script, int]:
    """Drive Figure 8 (a)-(d) on `core`; with `commit_own_term_first`, S1 appends 4:x=1 in
    (c) before replicating (the figure's (e)). Returns the script and the number of actions
    at the end of (c)."""
    s = Script(Model(core, Config(cluster_size=5), FIGURE8_BOUNDS))
    others = (0, 2, 3, 4)
    s.elect(1, others)
    s.replicate(1, others)
    s.do(Submit(1, 1))
    s.heartbeat(1, others)
    s.heartbeat(1, others)
    # (a) S1 leads term 2; 2:x=2 reaches S2 only.
    s.elect(0, (1, 2, 3, 4))
    s.replicate(0, (1, 2, 3, 4))
    s.do(Submit(0, 2))
    s.heartbeat(0, [1])
    # (b) S1 crashes; S5 wins term 3 with S3 and S4 and accepts 3:x=3, sending it nowhere.
    s.do(Crash(0))
    s.elect(4, (2, 3))
    s.replicate(4, ())
    s.do(Submit(4, 3))
    # (c) S5 crashes; S1 restarts, its term-3 election goes nowhere (requests lost), it wins
    # term 4 with S2, S3, S4 and replicates index 2 to S2 and S3.
    s.do(Crash(4))
    s.do(Restart(0))
    s.do(Timeout(0))
    s.drop(RequestVote, source=0)
    s.elect(0, (1, 2, 3))
    if commit_own_term_first:
        s.do(Submit(0, 1))
    s.replicate(0, (1, 2))
    if commit_own_term_first:
        s.heartbeat(0, (1, 2))
    end_of_c = len(s.actions)
    # (d) S1 crashes; S5 restarts, fails term 4 (all voted), wins term 5 with S2, S3, S4 and
    # replicates its log to them.
    s.do(Crash(0))
    s.do(Restart(4))
    s.do(Timeout(4))
    s.drop(RequestVote, source=4)
    s.elect(4, (1, 2, 3))
    if s.is_leader(4):
        s.replicate(4, (1, 2, 3))
        s.heartbeat(4, (1, 2, 3))
    return s, end_of_c


def violations_along(model: Model, actions: list[Action]) -> dict[str, int]:
    """Every property violated anywhere along `actions`, with the first step violating it."""
    states = model.run(actions)
    first: dict[str, int] = {}
    for step in range(1, len(states)):
        before, after = states[step - 1], states[step]
        for name, transition in TRANSITION_PROPERTIES.items():
            if transition(before, after) is not None:
                first.setdefault(name, step)
        for name, prop in STATE_PROPERTIES.items():
            if prop(after) is not None:
                first.setdefault(name, step)
    return first


def term4_leader(core: RaftCore) -> Node:
    """S1 in (c): leader of term 4 with [1:x=1 2:x=2], index 1 committed, S2 known to hold
    index 2. Built directly, for the step-level test."""
    node = Node(id=0, cluster_size=5, role=Role.CANDIDATE,
                persistent=Persistent(4, 0, (x(1, 1), x(2, 2))),
                volatile=Volatile(commit_index=1),
                candidate=CandidateState(frozenset({0, 1})))
    node = core.apply_committed(node)
    node, _ = core.become_leader(node)
    node, _ = core.step(node, AppendEntriesResponse(1, 0, 4, True, 2, 2))
    return node


# ------------------------------------------------------------------------------ step level


def test_figure8_term4_leader_does_not_commit_term2_entry_by_counting() -> None:
    """S1, leader of term 4, learns that S3 now holds its term-2 entry: three of five servers
    hold it, yet commit_index stays 1, because the entry is not of the current term.
    Reference: §5.4.2 "Raft never commits log entries from previous terms by counting replicas"
    """
    node, _ = CORE.step(term4_leader(CORE), AppendEntriesResponse(2, 0, 4, True, 2, 2))
    assert node.leader is not None
    assert sum(m >= 2 for m in node.leader.match_index) == 3
    assert node.commit_index == 1
    assert node.last_applied == 1


def test_figure8_broken_core_commits_term2_entry_by_counting() -> None:
    """The same step on `CommitPreviousTermByCounting` commits (and applies) index 2: the
    mistake Figure 8 is about.
    Reference: §5.4.2 "Raft never commits log entries from previous terms by counting replicas"
    """
    broken = CommitPreviousTermByCounting()
    node, _ = broken.step(term4_leader(broken), AppendEntriesResponse(2, 0, 4, True, 2, 2))
    assert node.commit_index == 2
    assert node.volatile.state_machine == (("x", 2),)


# ------------------------------------------------------------------------------ in the world


def test_figure8_correct_core_never_commits_the_overwritten_entry() -> None:
    """On the correct core S1 does not commit 2:x=2 in (c), so S5 overwriting it in (d) breaks
    no property: every Figure 3 property holds on every step.
    Reference: §5.4.2 "Raft never commits log entries from previous terms by counting replicas"
    """
    s, end_of_c = figure8(CORE)
    assert all(check.passed for check in s.checks), s.checks  # every scripted step happened
    states = s.model.run(s.actions)
    at_c = states[end_of_c]
    leader_c = at_c.nodes[0]
    assert leader_c is not None and leader_c.role is Role.LEADER and leader_c.current_term == 4
    assert [at_c.persistent_of(i).log[1:2] for i in (0, 1, 2)] == [(x(2, 2),)] * 3
    assert leader_c.commit_index < 2
    final = states[-1]
    assert s.is_leader(4, term=5)
    assert [final.persistent_of(i).log for i in (1, 2, 3, 4)] == [(x(1, 1), x(3, 3))] * 4
    assert all(known.entry != x(2, 2) for known in final.history.committed)
    assert violations_along(s.model, s.actions) == {}


def test_figure8_broken_core_loses_a_committed_entry() -> None:
    """On `CommitPreviousTermByCounting` S1 commits and applies 2:x=2 in (c). S5 still wins
    term 5 in (d): Leader Completeness is violated the moment it becomes leader without the
    committed entry, and once it overwrites index 2 and commits 3:x=3 there, State Machine
    Safety too (S1 applied x=2 at index 2, S5 applies x=3).
    Reference: §5.4.2 "an old log entry is stored on a majority ..., yet can still be overwritten"
    """
    s, end_of_c = figure8(CommitPreviousTermByCounting())
    assert all(check.passed for check in s.checks), s.checks
    states = s.model.run(s.actions)
    leader_c = states[end_of_c].nodes[0]
    assert leader_c is not None and leader_c.commit_index == 2
    assert states[end_of_c].history.committed[1].entry == x(2, 2)
    found = violations_along(s.model, s.actions)
    assert set(found) == {LEADER_COMPLETENESS, STATE_MACHINE_SAFETY}
    assert found[LEADER_COMPLETENESS] < found[STATE_MACHINE_SAFETY]
    step = found[LEADER_COMPLETENESS]
    elected = states[step].nodes[4]
    assert elected is not None and elected.role is Role.LEADER and elected.current_term == 5
    first = check_transition(states[step - 1], states[step])
    assert first is not None and first.property == LEADER_COMPLETENESS
    assert first.index == 2 and first.nodes == (4,)


def test_figure8_e_committing_an_own_term_entry_protects_earlier_ones() -> None:
    """Figure 8 (e): if S1 in term 4 replicates its own 4:x=1 along with 2:x=2 to a majority,
    both are committed, and S5 can no longer be elected: S2 and S3 refuse, their last term 4
    being newer than S5's 3.
    Reference: §5.4.2 "all prior entries are committed indirectly because of the Log Matching"
    """
    s, end_of_c = figure8(CORE, commit_own_term_first=True)
    states = s.model.run(s.actions)
    leader_c = states[end_of_c].nodes[0]
    assert leader_c is not None and leader_c.commit_index == 3
    assert all(check.passed for check in s.checks), s.checks
    assert not s.is_leader(4)
    voters = states[-1].nodes[1], states[-1].nodes[2]
    assert all(v is not None and v.current_term == 5 and v.voted_for is None for v in voters)
    assert violations_along(s.model, s.actions) == {}
