"""Properties of one transition: predicates over a (before, after) pair of world states."""

from __future__ import annotations

from typing import TYPE_CHECKING

from raftcheck.impl.types import Entry, Role
from raftcheck.properties.safety import LEADER_APPEND_ONLY
from raftcheck.properties.violation import Violation

if TYPE_CHECKING:  # the state type, for annotations only
    from raftcheck.model.state import World

TERM_MONOTONICITY = "Term Monotonicity"
SINGLE_VOTE_PER_TERM = "Single Vote Per Term"
COMMIT_MONOTONICITY = "Commit Index Monotonicity"
COMMITTED_ENTRIES_KEPT = "Committed Entries Kept"
ELECTED_BY_MAJORITY = "Elected By Majority"


def leader_append_only(before: World, after: World) -> Violation | None:
    """Figure 3: "a leader never overwrites or deletes entries in its log; it only appends new
    entries" (§5.3). Compared for each node that leads the same term before and after."""
    for old, new in zip(before.nodes, after.nodes, strict=True):
        if old is new or old is None or new is None or old.role is not Role.LEADER:
            continue
        if new.role is not Role.LEADER or new.current_term != old.current_term:
            continue
        if new.log[: len(old.log)] != old.log:
            changed = _first_change(old.log, new.log)
            return Violation(
                LEADER_APPEND_ONLY,
                f"leader n{new.id} (term {new.current_term}) rewrote its log at index "
                f"{changed}: {len(old.log)} entries before, {len(new.log)} after",
                "followers replicate the leader's log; a leader that rewrites it can undo "
                "entries that are already committed",
                nodes=(new.id,),
                index=changed,
                term=new.current_term,
            )
    return None


def term_monotonicity(before: World, after: World) -> Violation | None:
    """Auxiliary (§5.1: terms act as a logical clock): a server's current_term never
    decreases, across crashes included (it is persistent state)."""
    for i in range(len(before.nodes)):
        old, new = before.persistent_of(i).current_term, after.persistent_of(i).current_term
        if new < old:
            return Violation(
                TERM_MONOTONICITY,
                f"n{i}'s current_term went from {old} back to {new}",
                "a server that forgets its term can vote again in a term it already voted in "
                "and accept a deposed leader",
                nodes=(i,),
                term=old,
            )
    return None


def single_vote_per_term(before: World, after: World) -> Violation | None:
    """Auxiliary (§5.2: "each server will vote for at most one candidate in a given term"):
    within one term, voted_for only goes from nobody to someone, across crashes included."""
    for i in range(len(before.nodes)):
        old, new = before.persistent_of(i), after.persistent_of(i)
        if (new.current_term == old.current_term and old.voted_for is not None
                and new.voted_for != old.voted_for):
            return Violation(
                SINGLE_VOTE_PER_TERM,
                f"n{i} changed its vote in term {new.current_term} from n{old.voted_for} to "
                f"{'nobody' if new.voted_for is None else f'n{new.voted_for}'}",
                "a server that votes twice in a term lets two candidates win it",
                nodes=(i,),
                term=new.current_term,
            )
    return None


def elected_by_majority(before: World, after: World) -> Violation | None:
    """Auxiliary, the step Election Safety rests on (§5.2: a candidate "wins an election if it
    receives votes from a majority of the servers in the full cluster for the same term"):
    whoever becomes leader of a term holds votes for it in that term from a majority. The
    votes are the ghost ballots of its campaign (a voter may have forgotten its vote by now)
    and the votes still on record. Catches a miscounted election at the moment it is won,
    not when a second leader of the term finally shows it."""
    if after.history.leaders is before.history.leaders:
        return None  # the common case, cheap to test: nobody was elected
    elected = after.history.leaders - before.history.leaders
    if not elected:
        return None
    n = len(after.nodes)
    for term, leader in sorted(elected):
        voters = {voter for t, voter, candidate in before.history.ballots
                  if t == term and candidate == leader}
        for i in range(n):
            persistent = after.persistent_of(i)
            if persistent.current_term == term and persistent.voted_for == leader:
                voters.add(i)
        if 2 * len(voters) <= n:
            named = ", ".join(f"n{voter}" for voter in sorted(voters)) or "nobody"
            return Violation(
                ELECTED_BY_MAJORITY,
                f"n{leader} became leader of term {term} with votes from {named}: "
                f"{len(voters)} of {n}, not a majority",
                "two majorities always share a voter, and a voter votes once per term; a "
                "leader elected without a majority can share its term with another leader",
                nodes=(leader,),
                term=term,
            )
    return None


def commit_monotonicity(before: World, after: World) -> Violation | None:
    """Auxiliary: while a server stays up, commit_index never decreases (committed means
    forever; only a restart forgets the volatile commit_index)."""
    for old, new in zip(before.nodes, after.nodes, strict=True):
        if old is not new and old is not None and new is not None \
                and new.commit_index < old.commit_index:
            return Violation(
                COMMIT_MONOTONICITY,
                f"n{new.id}'s commit_index went from {old.commit_index} down to "
                f"{new.commit_index}",
                "an entry reported committed must stay committed",
                nodes=(new.id,),
                index=old.commit_index,
            )
    return None


def committed_entries_kept(before: World, after: World) -> Violation | None:
    """Auxiliary: while a server stays up, the entries up to its commit_index never change.
    Committed entries are in every later leader's log (Leader Completeness, §5.4.3), so a
    legitimate AppendEntries never conflicts with them (§5.3): a server that overwrites one
    is obeying a deposed leader or a stale request. etcd's raft log refuses such an append
    outright ("entry conflict with committed entry"). Catches the overwrite when it happens,
    not when another server later applies something else at that index."""
    for old, new in zip(before.nodes, after.nodes, strict=True):
        if old is None or new is None or new.log is old.log:
            continue
        upto = min(old.commit_index, len(old.log))
        if new.log[:upto] == old.log[:upto]:
            continue
        index = _first_change(old.log, new.log)
        lost = old.log[index - 1]
        now = (f"term {new.log[index - 1].term}" if index <= len(new.log) else "nothing")
        return Violation(
            COMMITTED_ENTRIES_KEPT,
            f"n{new.id} replaced its entry {index} (term {lost.term}), which it knew was "
            f"committed (commit_index {old.commit_index}), with {now}",
            "a committed entry is in every later leader's log; a server that overwrites one "
            "can apply a different command at that index than its peers did",
            nodes=(new.id,),
            index=index,
            term=lost.term,
        )
    return None


def _first_change(old: tuple[Entry, ...], new: tuple[Entry, ...]) -> int:
    """The first index (1-based) at which `new` no longer holds `old`'s entry: where they
    differ, or just past `new`'s end if `new` is a truncated prefix of `old`."""
    pairs = enumerate(zip(old, new, strict=False), 1)
    return next((i for i, (a, b) in pairs if a != b), len(new) + 1)
