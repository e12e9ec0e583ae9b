"""A Raft core written from scratch against the core protocol: the worked example of
"Checking your own core" in README.md.

It shares nothing with the bundled core (`impl.raft`) but the value types of `impl.types`,
which *are* the protocol: the world hands a core `Node`s and events of those types and reads
back a `Node` and `Effects`. It is structured differently on purpose (one `match` over the
event, free functions instead of overridable methods) and behaves exactly like the bundled
core, which `raftcheck diff raft examples/my_core.py:CORE --compare messages` checks.

Check it:

    raftcheck fuzz --core examples.my_core:CORE --seed 1
    raftcheck explore --core examples.my_core:CORE
    raftcheck diff raft examples.my_core:CORE --compare messages
"""

from __future__ import annotations

from attrs import evolve

from raftcheck.impl.types import (
    AppendEntries,
    AppendEntriesResponse,
    CandidateState,
    ClientReply,
    ClientRequest,
    Effects,
    ElectionTimeout,
    Entry,
    Event,
    HeartbeatTimeout,
    LeaderState,
    Node,
    Persistent,
    RequestVote,
    RequestVoteResponse,
    Role,
    Volatile,
)

Step = tuple[Node, Effects]
NOTHING = Effects()


class MyCore:
    """A from-scratch Raft core: `name`, `initial_node`, `restart`, `step`."""

    name = "my-core"

    def initial_node(self, node_id: int, cluster_size: int) -> Node:
        return Node(id=node_id, cluster_size=cluster_size)

    def restart(self, node_id: int, cluster_size: int, persistent: Persistent) -> Node:
        # Only what was persisted survives; everything volatile starts over.
        return Node(id=node_id, cluster_size=cluster_size, persistent=persistent)

    def step(self, node: Node, event: Event) -> Step:
        before = node.persistent
        if isinstance(event, (RequestVote, RequestVoteResponse, AppendEntries,
                              AppendEntriesResponse)) and event.term > node.current_term:
            node = follower(node, event.term, leader=None)  # §5.1: adopt the newer term
        match event:
            case ElectionTimeout():
                node, effects = (node, NOTHING) if node.role is Role.LEADER else campaign(node)
            case HeartbeatTimeout():
                effects = Effects(messages=replicate(node)) if node.role is Role.LEADER \
                    else NOTHING
            case ClientRequest(command=command):
                node, effects = accept(node, Entry(node.current_term, command))
            case RequestVote():
                node, effects = vote(node, event)
            case RequestVoteResponse():
                node, effects = tally(node, event)
            case AppendEntries():
                node, effects = append(node, event)
            case AppendEntriesResponse():
                node, effects = acknowledge(node, event)
            case _:
                raise TypeError(f"not a Raft event: {event!r}")
        if node.persistent != before:  # persist before the messages leave (Figure 2)
            effects = evolve(effects, persist=node.persistent)
        return node, effects


def majority(node: Node) -> int:
    return node.cluster_size // 2 + 1


def others(node: Node) -> list[int]:
    return [peer for peer in range(node.cluster_size) if peer != node.id]


def follower(node: Node, term: int, leader: int | None) -> Node:
    voted_for = node.voted_for if term == node.current_term else None
    return evolve(node, role=Role.FOLLOWER,
                  persistent=Persistent(term, voted_for, node.log),
                  volatile=evolve(node.volatile, leader_hint=leader), candidate=None,
                  leader=None)


def campaign(node: Node) -> Step:
    term = node.current_term + 1
    node = evolve(node, role=Role.CANDIDATE, persistent=Persistent(term, node.id, node.log),
                  volatile=evolve(node.volatile, leader_hint=None),
                  candidate=CandidateState(frozenset({node.id})), leader=None)
    if majority(node) == 1:
        return lead(node)
    asks = tuple(RequestVote(node.id, peer, term, node.last_log_index, node.last_log_term)
                 for peer in others(node))
    return node, Effects(messages=asks, reset_election_timer=True)


def lead(node: Node) -> Step:
    size, last = node.cluster_size, node.last_log_index
    node = evolve(node, role=Role.LEADER, volatile=evolve(node.volatile, leader_hint=node.id),
                  candidate=None,
                  leader=LeaderState((last + 1,) * size,
                                     tuple(last if i == node.id else 0 for i in range(size))))
    node = commit(node)
    return node, Effects(messages=replicate(node))


def vote(node: Node, request: RequestVote) -> Step:
    up_to_date = (request.last_log_term, request.last_log_index) >= (node.last_log_term,
                                                                      node.last_log_index)
    granted = (request.term == node.current_term and up_to_date
               and node.voted_for in (None, request.source))
    if granted:
        node = evolve(node, persistent=evolve(node.persistent, voted_for=request.source))
    reply = RequestVoteResponse(node.id, request.source, node.current_term, granted)
    return node, Effects(messages=(reply,), reset_election_timer=granted)


def tally(node: Node, response: RequestVoteResponse) -> Step:
    if response.term < node.current_term or node.candidate is None \
            or not response.vote_granted:
        return node, NOTHING
    votes = node.candidate.votes_granted | {response.source}
    node = evolve(node, candidate=CandidateState(votes))
    return lead(node) if len(votes) >= majority(node) else (node, NOTHING)


def accept(node: Node, entry: Entry) -> Step:
    if node.leader is None:
        refusal = ClientReply(accepted=False, leader_hint=node.volatile.leader_hint)
        return node, Effects(client_reply=refusal)
    log = (*node.log, entry)
    match = tuple(len(log) if i == node.id else m
                  for i, m in enumerate(node.leader.match_index))
    node = evolve(node, persistent=evolve(node.persistent, log=log),
                  leader=evolve(node.leader, match_index=match))
    return commit(node), Effects(client_reply=ClientReply(accepted=True, index=len(log)))


def append(node: Node, request: AppendEntries) -> Step:
    def answer(success: bool, match: int, hint: int) -> AppendEntriesResponse:
        return AppendEntriesResponse(node.id, request.source, node.current_term, success,
                                     match, hint)

    if request.term < node.current_term:
        return node, Effects(messages=(answer(False, 0, node.last_log_index),))
    node = follower(node, node.current_term, leader=request.source)
    prev, log = request.prev_log_index, node.log
    if prev > len(log) or (prev > 0 and log[prev - 1].term != request.prev_log_term):
        hint = min(len(log), prev - 1)
        return node, Effects(messages=(answer(False, 0, hint),), reset_election_timer=True)
    for offset, entry in enumerate(request.entries):  # keep what matches, cut on a conflict
        index = prev + offset  # 0-based position of this entry
        if index >= len(log) or log[index].term != entry.term:
            log = log[:index] + request.entries[offset:]
            break
    node = evolve(node, persistent=evolve(node.persistent, log=log))
    verified = prev + len(request.entries)
    if request.leader_commit > node.commit_index:
        known = max(node.commit_index, min(request.leader_commit, verified))
        node = apply(evolve(node, volatile=evolve(node.volatile, commit_index=known)))
    return node, Effects(messages=(answer(True, verified, len(node.log)),),
                         reset_election_timer=True)


def acknowledge(node: Node, response: AppendEntriesResponse) -> Step:
    if response.term < node.current_term or node.leader is None:
        return node, NOTHING
    peer, state = response.source, node.leader
    nexts, matches = list(state.next_index), list(state.match_index)
    if response.success:
        matches[peer] = max(matches[peer], response.match_index)
        nexts[peer] = max(nexts[peer], matches[peer] + 1)
        node = evolve(node, leader=LeaderState(tuple(nexts), tuple(matches)))
        return commit(node), NOTHING
    nexts[peer] = max(matches[peer] + 1,
                      min(nexts[peer] - 1, response.last_log_index + 1))
    node = evolve(node, leader=evolve(state, next_index=tuple(nexts)))
    return node, Effects(messages=(entries_for(node, peer),))


def entries_for(node: Node, peer: int) -> AppendEntries:
    assert node.leader is not None
    prev = node.leader.next_index[peer] - 1
    return AppendEntries(node.id, peer, node.current_term, prev,
                         node.log[prev - 1].term if prev else 0, node.log[prev:],
                         node.commit_index)


def replicate(node: Node) -> tuple[AppendEntries, ...]:
    return tuple(entries_for(node, peer) for peer in others(node))


def commit(node: Node) -> Node:
    """The highest index of the leader's own term stored on a majority becomes committed."""
    assert node.leader is not None
    for index in range(node.last_log_index, node.commit_index, -1):
        stored = sum(1 for m in node.leader.match_index if m >= index)
        if node.log[index - 1].term == node.current_term and stored >= majority(node):
            return apply(evolve(node, volatile=evolve(node.volatile, commit_index=index)))
    return node


def apply(node: Node) -> Node:
    volatile: Volatile = node.volatile
    upto = min(volatile.commit_index, len(node.log))
    if upto <= volatile.last_applied:
        return node
    machine = dict(volatile.state_machine)
    machine.update((e.command.key, e.command.value) for e in node.log[volatile.last_applied:upto])
    return evolve(node, volatile=evolve(volatile, last_applied=upto,
                                        state_machine=tuple(sorted(machine.items()))))


CORE = MyCore()
