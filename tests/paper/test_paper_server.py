"""Paper-rule tests for what every server does regardless of role: survive a restart with
exactly its persistent state, and (the core's contract rather than the paper's) be a pure
function of its input. Plus a check that every paper test names the rule it checks.
"""

from __future__ import annotations

import ast
import copy
import re
from pathlib import Path

import pytest

from raftcheck.impl.raft import CORE
from raftcheck.impl.types import (
    AppendEntries,
    AppendEntriesResponse,
    CandidateState,
    ClientRequest,
    ElectionTimeout,
    Entry,
    Event,
    HeartbeatTimeout,
    Node,
    Persistent,
    Put,
    RequestVote,
    RequestVoteResponse,
    Role,
    Volatile,
)


def log_of(*terms: int) -> tuple[Entry, ...]:
    return tuple(Entry(term, Put("x", index)) for index, term in enumerate(terms, 1))


def busy_leader() -> Node:
    """A leader of term 3 in a 3-node cluster with a committed, applied prefix."""
    node = Node(id=0, cluster_size=3, role=Role.CANDIDATE,
                persistent=Persistent(3, 0, log_of(1, 1, 3)),
                volatile=Volatile(commit_index=2),
                candidate=CandidateState(frozenset({0})))
    node = CORE.apply_committed(node)
    node, _ = CORE.become_leader(node)
    node, _ = CORE.step(node, AppendEntriesResponse(1, 0, 3, True, 3, 3))
    return node


# ------------------------------------------------------------------------------ restart


def test_restart_keeps_exactly_the_persistent_state() -> None:
    """A leader that crashes and restarts comes back as a follower with its term, vote and
    log, and nothing else: commit_index, last_applied, the state machine, the leader it knew
    and its leader state are volatile and start over.
    Reference: §5.1 Figure 2: "Persistent state on all servers" vs "Volatile state on all servers"
    """
    before = busy_leader()
    assert (before.commit_index, before.last_applied) == (3, 3)  # there was volatile state
    node = CORE.restart(0, 3, before.persistent)
    assert node.persistent == Persistent(3, 0, log_of(1, 1, 3))
    assert node.role is Role.FOLLOWER
    assert node.volatile == Volatile()
    assert node.leader is None and node.candidate is None
    assert node == Node(id=0, cluster_size=3, persistent=before.persistent)


def test_restarted_server_reapplies_committed_entries_once_told() -> None:
    """After a restart the state machine is rebuilt from the log, in order, as soon as a
    leader's AppendEntries tells the server the commit index again.
    Reference: §5.3 All Servers: "If commitIndex > lastApplied: ... apply log[lastApplied]"
    """
    before = busy_leader()
    node = CORE.restart(0, 3, before.persistent)
    node, _ = CORE.step(node, AppendEntries(1, 0, 4, 3, 3, (), 3))
    assert node.volatile.state_machine == before.volatile.state_machine
    assert node.last_applied == 3


def test_persist_only_when_persistent_state_changes() -> None:
    """A step that changes neither term, vote nor log asks for no write; one that changes any
    of them hands the whole persistent state over in the same step.
    Reference: §5.1 Figure 2 persistent state: "Updated on stable storage before responding"
    """
    node = Node(id=1, cluster_size=3, persistent=Persistent(2, 0, log_of(1)))
    _, heartbeat = CORE.step(node, AppendEntries(0, 1, 2, 1, 1, (), 0))
    _, append = CORE.step(node, AppendEntries(0, 1, 2, 1, 1, log_of(1, 2)[1:], 0))
    assert heartbeat.persist is None
    assert append.persist == Persistent(2, 0, log_of(1, 2))


# ------------------------------------------------------------------------------ purity

NODES: dict[str, Node] = {
    "fresh follower": CORE.initial_node(1, 3),
    "follower with log": Node(id=1, cluster_size=3, persistent=Persistent(2, 0, log_of(1, 2))),
    "candidate": Node(id=2, cluster_size=3, role=Role.CANDIDATE,
                      persistent=Persistent(2, 2, log_of(1)),
                      candidate=CandidateState(frozenset({2}))),
    "leader": busy_leader(),
}


def events_for(node: Node) -> list[Event]:
    """Every kind of event, addressed to `node`, in stale, current and newer terms."""
    me, other = node.id, (node.id + 1) % node.cluster_size
    events: list[Event] = [ElectionTimeout(), HeartbeatTimeout(), ClientRequest(Put("k", 9))]
    for term in (node.current_term - 1, node.current_term, node.current_term + 1):
        events += [
            RequestVote(other, me, term, 0, 0),
            RequestVote(other, me, term, 5, 3),
            RequestVoteResponse(other, me, term, True),
            RequestVoteResponse(other, me, term, False),
            AppendEntries(other, me, term, 0, 0, log_of(term), 1),
            AppendEntries(other, me, term, 1, 1, log_of(1, 1, 1), 3),
            AppendEntries(other, me, term, 4, 1, (), 0),
            AppendEntriesResponse(other, me, term, True, 2, 2),
            AppendEntriesResponse(other, me, term, False, 0, 0),
        ]
    return events


CASES = [(name, node, event) for name, node in NODES.items() for event in events_for(node)]


@pytest.mark.parametrize(("name", "node", "event"), CASES,
                         ids=[f"{name}-{i}" for i, (name, _, _) in enumerate(CASES)])
def test_step_is_pure(name: str, node: Node, event: Event) -> None:
    """`step` never mutates its input (not even through a shared tuple or a forced setattr),
    and equal inputs give equal outputs.
    Reference: §5 (not a paper rule): the core's contract, a pure step returning its effects
    """
    node_before, event_before = copy.deepcopy(node), copy.deepcopy(event)
    first = CORE.step(node, event)
    assert node == node_before and event == event_before, "step mutated its input"
    second = CORE.step(node_before, event_before)
    assert first == second


def test_step_result_does_not_alias_later_steps() -> None:
    """Stepping the result again leaves the first result as it was: no state is shared
    between successive nodes (STYLE trap 1).
    Reference: §5 (not a paper rule): the core's contract, a pure step returning its effects
    """
    node = NODES["fresh follower"]
    after_vote, _ = CORE.step(node, RequestVote(0, 1, 1, 0, 0))
    snapshot = copy.deepcopy(after_vote)
    CORE.step(after_vote, AppendEntries(0, 1, 1, 0, 0, log_of(1, 1), 2))
    CORE.step(after_vote, ElectionTimeout())
    assert after_vote == snapshot


# ------------------------------------------------------------------------------ references

REFERENCE = re.compile(r"^Reference: §\d+(\.\d+)*\b")


def test_every_paper_test_names_the_rule_it_checks() -> None:
    """Every test in tests/paper ends its docstring with a `Reference: §x.y` line.
    Reference: §5 (etcd's raft_paper_test.go convention)
    """
    missing = []
    for path in sorted(Path(__file__).parent.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if isinstance(function, ast.FunctionDef) and function.name.startswith("test_"):
                doc = ast.get_docstring(function) or ""
                last = doc.strip().splitlines()[-1] if doc.strip() else ""
                if not REFERENCE.match(last):
                    missing.append(f"{path.name}::{function.name}")
    assert not missing, f"tests without a closing 'Reference: §x.y' line: {missing}"
