"""Raft's safety properties (the paper's Figure 3), as plain predicates over one world state.

Each returns None when it holds and a `Violation` witness when it does not. They read node
state (the persistent state of a down node is what is on its disk) and the proof-only ghost
`History`; they never call the core.
"""

from __future__ import annotations

from itertools import combinations
from typing import TYPE_CHECKING

from raftcheck.impl.types import Entry, Role
from raftcheck.properties.violation import Violation

if TYPE_CHECKING:  # the state type, for annotations only
    from raftcheck.model.state import World

ELECTION_SAFETY = "Election Safety"
LEADER_APPEND_ONLY = "Leader Append-Only"
LOG_MATCHING = "Log Matching"
LEADER_COMPLETENESS = "Leader Completeness"
STATE_MACHINE_SAFETY = "State Machine Safety"
COMMIT_WITHIN_LOG = "Commit Within Log"


def election_safety(world: World) -> Violation | None:
    """Figure 3: "at most one leader can be elected in a given term" (§5.2). Checked over
    every leader there has ever been, not only the current ones."""
    by_term: dict[int, int] = {}
    for term, node in sorted(world.history.leaders):
        if term in by_term:
            return Violation(
                ELECTION_SAFETY,
                f"n{by_term[term]} and n{node} were both elected leader in term {term}",
                "two leaders in one term can each commit different entries at the same index",
                nodes=(by_term[term], node),
                term=term,
            )
        by_term[term] = node
    return None


def log_matching(world: World) -> Violation | None:
    """Figure 3: "if two logs contain an entry with the same index and term, then the logs are
    identical in all entries up through the given index" (§5.3). For each pair of logs: past
    their longest common prefix, no index may hold entries of equal term."""
    logs = [world.persistent_of(i).log for i in range(len(world.nodes))]
    for a, b in combinations(range(len(logs)), 2):
        log_a, log_b = logs[a], logs[b]
        if log_a is log_b:
            continue
        shorter = min(len(log_a), len(log_b))
        common = 0
        while common < shorter and log_a[common] == log_b[common]:
            common += 1
        for i in range(common, shorter):
            if log_a[i].term == log_b[i].term:
                first = common + 1
                return Violation(
                    LOG_MATCHING,
                    f"n{a} and n{b} both hold a term-{log_a[i].term} entry at index {i + 1} but "
                    f"differ at index {first} ({_at(log_a, first)} vs {_at(log_b, first)})",
                    "the AppendEntries consistency check relies on (index, term) naming a "
                    "whole log prefix",
                    nodes=(a, b),
                    index=i + 1,
                    term=log_a[i].term,
                )
    return None


def leader_completeness(world: World) -> Violation | None:
    """Figure 3: "if a log entry is committed in a given term, then that entry will be present
    in the logs of the leaders for all higher-numbered terms" (§5.4)."""
    committed = world.history.committed
    for leader in world.up_nodes():
        if leader.role is not Role.LEADER:
            continue
        for index, known in enumerate(committed, 1):
            if known.term >= leader.current_term:
                continue
            held = leader.log[index - 1] if index <= len(leader.log) else None
            if held != known.entry:
                return Violation(
                    LEADER_COMPLETENESS,
                    f"entry {known.entry} committed at index {index} in term {known.term} is "
                    f"missing from the log of n{leader.id}, leader of term "
                    f"{leader.current_term} (it holds {held or 'nothing'} there)",
                    "a leader without a committed entry will overwrite it on its followers",
                    nodes=(leader.id,),
                    index=index,
                    term=leader.current_term,
                )
    return None


def state_machine_safety(world: World) -> Violation | None:
    """Figure 3: "if a server has applied a log entry at a given index to its state machine,
    no other server will ever apply a different log entry for the same index" (§5.4.3). The
    ghost history keeps the first entry ever applied at each index; every live node's applied
    prefix must agree with it."""
    applied = world.history.applied
    for node in world.up_nodes():
        for index in range(1, min(node.last_applied, len(applied)) + 1):
            held = node.log[index - 1] if index <= len(node.log) else None
            if held != applied[index - 1]:
                return Violation(
                    STATE_MACHINE_SAFETY,
                    f"n{node.id} applied {held or 'an entry it no longer has'} at index "
                    f"{index}, but {applied[index - 1]} was applied there before",
                    "replicas that apply different commands diverge: the service is no longer "
                    "one state machine",
                    nodes=(node.id,),
                    index=index,
                )
    return None


def commit_within_log(world: World) -> Violation | None:
    """Auxiliary: a node's commit_index never points past the end of its own log. Breaking it
    means the node believes an entry it does not have is committed (e.g. a follower setting
    commit_index = leader_commit without the min with its last new entry)."""
    for node in world.up_nodes():
        if node.commit_index > len(node.log):
            return Violation(
                COMMIT_WITHIN_LOG,
                f"n{node.id} has commit_index {node.commit_index} but only "
                f"{len(node.log)} log entries",
                "a node that marks entries it lacks as committed will apply whatever later "
                "lands at those indices",
                nodes=(node.id,),
                index=node.commit_index,
            )
    return None


def _at(log: tuple[Entry, ...], index: int) -> str:
    return str(log[index - 1]) if index <= len(log) else "nothing"
