"""The seed text's three "breaking it" experiments as named, runnable scenarios.

The seed ("Raft from first principles") asks three questions and answers each in one line:

* split brain: what happens when two candidates win votes simultaneously?
* log inconsistency: what if a leader crashes after replicating entries to only a majority?
* network partition: what if the leader is isolated from the majority?

Each scenario here is a fixed list of world actions (`model.world`'s Timeout, Deliver, Drop,
Submit, Heartbeat, Crash, Restart, Partition, Heal) run through the same `Model` every other
engine uses, with checks that assert the answer and a property check on every transition. The
log-inconsistency question is split in two, because the seed's answer is right for an entry
held by a *minority* and wrong for one committed on a *majority* (see `ANSWER_MINORITY` and
`ANSWER_MAJORITY`).

Action lists are built by a `Script` that drives the model one action at a time and picks the
messages it needs out of the network (`elect`, `replicate`, `heartbeat`), so that they stay
correct when message contents change. The helpers are outcome-agnostic: they deliver whatever
the core under test actually sent, and the scenario's checks say what should have happened.
So a broken core gives a failed check or a property violation, never an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from attrs import field, frozen

from raftcheck.impl.raft import CORE
from raftcheck.impl.types import (
    AppendEntries,
    AppendEntriesResponse,
    Entry,
    Message,
    Node,
    Put,
    RequestVote,
    RequestVoteResponse,
    Role,
)
from raftcheck.model import presets
from raftcheck.model.trace import render_trace, show_action
from raftcheck.model.world import (
    Action,
    Config,
    Core,
    Crash,
    Deliver,
    Drop,
    Heal,
    Heartbeat,
    Model,
    Partition,
    Restart,
    Submit,
    Timeout,
    World,
)
from raftcheck.properties import check_state, check_transition
from raftcheck.properties.safety import election_safety
from raftcheck.properties.violation import Violation

SCENARIO_BOUNDS = presets.SCENARIO  # generous: a scenario is a single path

CLUSTER_SIZES: dict[str, int] = {
    "split-brain": 3,
    "log-inconsistency-minority": 5,
    "log-inconsistency-majority": 5,
    "network-partition": 5,
}


# ------------------------------------------------------------------------------ results


@frozen
class Check:
    """One assertion of a scenario, in words, and whether it held."""

    description: str
    passed: bool


@frozen
class ScenarioResult:
    """A scenario run on one core: the seed's question and the answer the run demonstrates,
    the exact action list (replayable with `scenario_model(name, core).run(list(actions))`),
    the checks, and the first property violated along the way (with the step after which it
    was seen), if any."""

    name: str
    title: str
    question: str
    answer: str
    actions: tuple[Action, ...]
    checks: tuple[Check, ...]
    violation: Violation | None
    violation_step: int | None = None
    model: Model | None = field(default=None, eq=False, repr=False)  # what it ran in

    @property
    def passed(self) -> bool:
        return self.violation is None and all(check.passed for check in self.checks)

    def failed_checks(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if not check.passed)


# ------------------------------------------------------------------------------ the script

MessageT = TypeVar("MessageT", RequestVote, RequestVoteResponse, AppendEntries,
                   AppendEntriesResponse)


class Script:
    """Builds an action list by driving `model` from its initial state, one action at a time.

    An action that is not enabled (a Submit to a node that is not leader, say, because the
    core under test behaved differently) is skipped and recorded as a failed check, so the
    scenario reports what went wrong instead of raising."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.state: World = model.initial_state()
        self.actions: list[Action] = []
        self.checks: list[Check] = []

    # -------------------------------------------------------------- primitives

    def do(self, action: Action) -> bool:
        """Apply `action` if it is enabled; otherwise record a failed check."""
        enabled = action in self.model.candidate_actions(self.state)
        after = self.model.next_state(self.state, action) if enabled else self.state
        if not enabled or len(after.network) > self.model.bounds.max_messages:
            self.check(f"step {len(self.actions) + 1} is possible: {show_action(action)}", False)
            return False
        self.state = after
        self.actions.append(action)
        return True

    def check(self, description: str, passed: bool) -> bool:
        self.checks.append(Check(description, passed))
        return passed

    def node(self, node_id: int) -> Node | None:
        return self.state.nodes[node_id]

    def log(self, node_id: int) -> tuple[Entry, ...]:
        """The node's log, from its disk while it is down."""
        return self.state.persistent_of(node_id).log

    def is_leader(self, node_id: int, term: int | None = None) -> bool:
        node = self.node(node_id)
        return (node is not None and node.role is Role.LEADER
                and (term is None or node.current_term == term))

    def leaders(self) -> list[int]:
        """The live nodes that currently believe they lead."""
        return [node.id for node in self.state.up_nodes() if node.role is Role.LEADER]

    def in_flight(self, kind: type[MessageT], source: int | None = None,
                  dest: int | None = None) -> list[MessageT]:
        return [message for message in self.state.network
                if isinstance(message, kind)
                and (source is None or message.source == source)
                and (dest is None or message.dest == dest)]

    def deliverable(self, message: Message) -> bool:
        return (self.state.nodes[message.dest] is not None
                and self.state.connected(message.source, message.dest))

    def deliver(self, kind: type[MessageT], source: int | None = None,
                dest: int | None = None) -> list[MessageT]:
        """Deliver every matching message now in flight that can be delivered (not to a down
        node, not across a partition); the messages they cause stay in flight."""
        delivered = []
        for message in self.in_flight(kind, source, dest):
            if self.deliverable(message) and message in self.state.network and \
                    self.do(Deliver(message)):
                delivered.append(message)
        return delivered

    def drop(self, kind: type[MessageT], source: int | None = None,
             dest: int | None = None) -> None:
        """The network loses every matching message now in flight."""
        for message in self.in_flight(kind, source, dest):
            self.do(Drop(message))

    # -------------------------------------------------------------- protocol moves

    def elect(self, candidate: int, voters: Iterable[int]) -> frozenset[int]:
        """`candidate`'s election timer fires; its RequestVote reaches `voters` only (the
        requests to anyone else are lost) and their answers come back. Returns the voters
        that granted their vote; whether the candidate won is for the caller to check."""
        voters = tuple(voters)
        self.do(Timeout(candidate))
        for voter in voters:
            self.deliver(RequestVote, candidate, voter)
        self.drop(RequestVote, source=candidate)
        granted = set()
        for voter in voters:
            for response in self.deliver(RequestVoteResponse, voter, candidate):
                if response.vote_granted:
                    granted.add(voter)
        return frozenset(granted)

    def replicate(self, leader: int, followers: Iterable[int]) -> None:
        """Exchange `leader`'s AppendEntries and the answers with `followers` until neither
        side has anything more to say (rejections make the leader back off and retry).
        AppendEntries from `leader` to anyone else are lost."""
        followers = tuple(followers)
        for message in self.in_flight(AppendEntries, source=leader):
            if message.dest not in followers:
                self.do(Drop(message))
        for _ in range(4 * (self.model.config.cluster_size + self.model.bounds.max_log)):
            progressed = False
            for follower in followers:
                progressed |= bool(self.deliver(AppendEntries, leader, follower))
                progressed |= bool(self.deliver(AppendEntriesResponse, follower, leader))
            if not progressed:
                return

    def heartbeat(self, leader: int, followers: Iterable[int]) -> None:
        """`leader`'s heartbeat interval elapses: it sends each follower what it lacks, and
        `replicate` carries it to `followers` (and loses it on the way to anyone else)."""
        self.do(Heartbeat(leader))
        self.replicate(leader, followers)

    def finish(self, name: str, title: str, question: str, answer: str) -> ScenarioResult:
        """Replay the action list through `Model.run` (which re-checks that every action is
        enabled) and look for the first property violation along the way."""
        states = self.model.run(list(self.actions))
        violation = check_state(states[0])
        at: int | None = 0 if violation is not None else None
        for number in range(1, len(states)):
            if violation is not None:
                break
            violation = check_transition(states[number - 1], states[number])
            if violation is not None:
                at = number
        return ScenarioResult(name, title, question, answer, tuple(self.actions),
                              tuple(self.checks), violation, at, self.model)


def _x(term: int, value: int) -> Entry:
    """The entry a client's `put x=value` becomes when a leader of `term` accepts it."""
    return Entry(term, Put("x", value))


def _holders(script: Script, entry: Entry, index: int) -> list[int]:
    """The nodes whose log (on disk if down) holds `entry` at `index`."""
    size = script.model.config.cluster_size
    return [i for i in range(size)
            if len(script.log(i)) >= index and script.log(i)[index - 1] == entry]


def _all_logs_are(script: Script, log: tuple[Entry, ...]) -> bool:
    return all(script.log(i) == log for i in range(script.model.config.cluster_size))


def _all_applied(script: Script, state_machine: tuple[tuple[str, int], ...]) -> bool:
    return all(node is not None and node.volatile.state_machine == state_machine
               for node in script.state.nodes)


def _never_committed(script: Script, entry: Entry) -> bool:
    return all(known.entry != entry for known in script.state.history.committed)


def scenario_model(name: str, core: Core = CORE) -> Model:
    """The model a scenario runs in: its cluster size and `SCENARIO_BOUNDS`."""
    return Model(core, Config(cluster_size=CLUSTER_SIZES[name]), SCENARIO_BOUNDS)


# ------------------------------------------------------------------------------ (a) split brain

QUESTION_SPLIT_BRAIN = "What happens when two candidates win votes simultaneously?"
ANSWER_SPLIT_BRAIN = (
    "Two servers can believe they are leader at the same moment, but never for the same "
    "term: each vote is cast once per term and a win needs a majority, and any two majorities "
    "share a voter (Election Safety). The older leader's AppendEntries are rejected with the "
    "higher term, and the rejection (like any message carrying the higher term) makes it "
    "adopt that term and step down, so only the leader of the later term survives (§5.1, "
    "§5.2). The seed's answer holds."
)


def split_brain(core: Core = CORE) -> ScenarioResult:
    """Split brain, 3 nodes. n0 is elected leader of term 1. A partition cuts n0 off; n1 times
    out and wins term 2 with n2's vote, while n0, hearing nothing, still believes it leads term
    1: two leaders at once, of different terms. After the partition heals, n0 sends its term-1
    heartbeat; n1 and n2 reject it with term 2, and n0 steps down on the rejection. n1's next
    heartbeat finds n0 a follower of term 2. At most one leader per term throughout."""
    name = "split-brain"
    s = Script(scenario_model(name, core))
    s.elect(0, voters=[1, 2])
    s.replicate(0, [1, 2])
    s.check("n0 is elected leader of term 1", s.is_leader(0, term=1))

    s.do(Partition({0}))
    granted = s.elect(1, voters=[2])
    s.replicate(1, [2])
    s.check("cut off from n0, n1 wins term 2 with n2's vote",
            2 in granted and s.is_leader(1, term=2))
    s.check("two leaders at once: n0 still believes it leads term 1 while n1 leads term 2",
            s.is_leader(0, term=1) and s.is_leader(1, term=2))
    s.check("but one per term: the leaders ever elected are n0 in term 1 and n1 in term 2",
            sorted(s.state.history.leaders) == [(1, 0), (2, 1)]
            and election_safety(s.state) is None)

    s.do(Heal())
    s.do(Heartbeat(0))
    s.deliver(AppendEntries, 0, 1)
    s.deliver(AppendEntries, 0, 2)
    rejections = [r for r in s.in_flight(AppendEntriesResponse, dest=0)
                  if not r.success and r.term == 2]
    s.check("n1 and n2 reject n0's term-1 AppendEntries, answering with term 2",
            sorted(r.source for r in rejections) == [1, 2])
    s.check("n1 is still leader of term 2 after n0's stale heartbeat", s.is_leader(1, term=2))
    s.deliver(AppendEntriesResponse, source=None, dest=0)
    n0 = s.node(0)
    s.check("on the rejection n0 adopts term 2 and steps down to follower",
            n0 is not None and n0.role is Role.FOLLOWER and n0.current_term == 2)

    s.heartbeat(1, [0, 2])
    n0 = s.node(0)
    s.check("n0 accepts n1's term-2 AppendEntries and now names n1 as leader",
            n0 is not None and n0.volatile.leader_hint == 1)
    s.check("only the later leader survives: n1 is the one leader left", s.leaders() == [1])
    return s.finish(name, "Split brain: two leaders, two terms, one survivor",
                    QUESTION_SPLIT_BRAIN, ANSWER_SPLIT_BRAIN)


# ------------------------------------------------------------------------------ (b), (c) logs

QUESTION_LOG = ("What if a leader crashes after replicating entries to only a majority? "
                "(The seed answers: the new leader may not have those entries, and the "
                "follower's log is truncated to match.)")
ANSWER_MINORITY = (
    "That answer holds when the entry reached only a MINORITY: it was never committed, a "
    "server without it can collect a majority of votes (from the servers that lack it too), "
    "and the new leader's AppendEntries consistency check (Figure 2, receiver rules 2-4) "
    "deletes the conflicting entry from the follower that held it and replaces it with the "
    "leader's. Losing it is safe because no client was ever told it was committed; Log "
    "Matching is the invariant this truncation preserves, not the mechanism."
)
ANSWER_MAJORITY = (
    "The seed's answer is wrong for a MAJORITY: an entry of the leader's own term stored on a "
    "majority is committed, and every later leader has it (Leader Completeness). A server "
    "without it cannot win: the servers holding it refuse their vote, because its log is not "
    "at least as up-to-date (§5.4.1), and it cannot reach a majority without one of them. "
    "Nothing committed is ever truncated. (An entry of an EARLIER term on a majority is not "
    "yet committed and can still be overwritten: the paper's Figure 8.)"
)


def log_inconsistency_minority(core: Core = CORE) -> ScenarioResult:
    """Log inconsistency, minority case, 5 nodes. n0 leads term 1 and accepts put x=1, but its
    AppendEntries reaches only n1: two of five servers hold 1:x=1, not committed. n0 crashes.
    n2 (empty log) times out; n1 refuses its vote (n1's log is more up-to-date) but n3 and n4,
    empty too, grant theirs: n2 leads term 2 without x=1. It accepts put x=2; its
    AppendEntries conflicts with n1's index 1, so n1 deletes 1:x=1 and takes 2:x=2. When n0
    comes back it is truncated the same way. x=1 is gone everywhere, and was never committed."""
    name = "log-inconsistency-minority"
    s = Script(scenario_model(name, core))
    s.elect(0, voters=[1, 2, 3, 4])
    s.replicate(0, [1, 2, 3, 4])
    s.check("n0 is elected leader of term 1", s.is_leader(0, term=1))

    s.do(Submit(0, 1))
    s.heartbeat(0, [1])
    s.check("1:x=1 reaches only n0 and n1: a minority of five",
            _holders(s, _x(1, 1), 1) == [0, 1])
    n0 = s.node(0)
    s.check("so n0 cannot commit it", n0 is not None and n0.commit_index == 0)

    s.do(Crash(0))
    granted = s.elect(2, voters=[1, 3, 4])
    s.check("n1 refuses to vote for n2: n1's log (last term 1) is more up-to-date than n2's "
            "empty log", 1 not in granted)
    s.check("n2 still wins term 2 with n3's and n4's votes, without 1:x=1",
            s.is_leader(2, term=2) and s.log(2) == ())
    s.replicate(2, [1, 3, 4])
    s.check("n2's first, empty AppendEntries does not touch n1's log: no conflict yet",
            s.log(1) == (_x(1, 1),))

    s.do(Submit(2, 2))
    s.heartbeat(2, [1, 3, 4])
    s.check("the new leader's AppendEntries truncates n1: 1:x=1 is replaced by 2:x=2",
            s.log(1) == (_x(2, 2),))
    n2 = s.node(2)
    s.check("n2 commits 2:x=2 at index 1 once a majority holds it",
            n2 is not None and n2.commit_index == 1)

    s.do(Restart(0))
    s.heartbeat(2, [0, 1, 3, 4])
    s.check("the restarted old leader n0 is truncated too: every log is now [2:x=2]",
            _all_logs_are(s, (_x(2, 2),)))
    s.check("every server applied x=2 at index 1", _all_applied(s, (("x", 2),)))
    s.check("1:x=1 was never committed, so no committed entry was lost",
            _never_committed(s, _x(1, 1)))
    return s.finish(name, "Log inconsistency, minority: an uncommitted entry is truncated",
                    QUESTION_LOG, ANSWER_MINORITY)


def log_inconsistency_majority(core: Core = CORE) -> ScenarioResult:
    """Log inconsistency, majority case, 5 nodes. n0 leads term 1, accepts put x=1 and
    replicates it to n1 and n2: three of five hold it, so n0 commits it (and tells n1 and n2).
    n0 crashes. n3, which lacks the entry, times out: n1 and n2 refuse their votes because
    n3's log is behind theirs, and with n4's vote alone n3 cannot reach three. n1, which holds
    the entry, then wins term 3 and every log ends up starting with 1:x=1."""
    name = "log-inconsistency-majority"
    s = Script(scenario_model(name, core))
    s.elect(0, voters=[1, 2, 3, 4])
    s.replicate(0, [1, 2, 3, 4])
    s.check("n0 is elected leader of term 1", s.is_leader(0, term=1))

    s.do(Submit(0, 1))
    s.heartbeat(0, [1, 2])
    n0 = s.node(0)
    s.check("1:x=1 reaches n0, n1 and n2 (a majority), so n0 commits it",
            _holders(s, _x(1, 1), 1) == [0, 1, 2] and n0 is not None and n0.commit_index == 1)
    s.heartbeat(0, [1, 2])

    s.do(Crash(0))
    granted = s.elect(3, voters=[1, 2, 4])
    s.check("n1 and n2 refuse to vote for n3, whose log lacks the committed entry",
            not granted & {1, 2})
    s.check("so n3 cannot become leader: n4's vote and its own make two of five",
            not s.is_leader(3))

    granted = s.elect(1, voters=[2, 3, 4])
    s.check("n1, which holds 1:x=1, wins term 3", s.is_leader(1, term=3))
    s.replicate(1, [2, 3, 4])
    s.check("the new leader has the committed entry at index 1", s.log(1)[:1] == (_x(1, 1),))

    s.do(Submit(1, 2))
    s.heartbeat(1, [2, 3, 4])
    s.heartbeat(1, [2, 3, 4])
    s.check("every live server's log is [1:x=1 3:x=2], nothing committed was lost",
            all(s.log(i) == (_x(1, 1), _x(3, 2)) for i in (1, 2, 3, 4)))
    s.check("every live server applied x=1 then x=2",
            all(node.last_applied == 2 and node.volatile.state_machine == (("x", 2),)
                for node in s.state.up_nodes()))
    return s.finish(name, "Log inconsistency, majority: a committed entry survives",
                    QUESTION_LOG, ANSWER_MAJORITY)


# ------------------------------------------------------------------------------ (d) partition

QUESTION_PARTITION = "What if the leader is isolated from the majority?"
ANSWER_PARTITION = (
    "The minority side cannot make progress: its leader still accepts client requests and can "
    "replicate them inside the minority, but can never commit them, because commitment needs "
    "a majority. The majority side elects a leader of a higher term and goes on committing. "
    "After healing, the old leader sees the higher term, steps down, and its uncommitted "
    "entries are replaced by the new leader's log. Safety over availability, for the minority "
    "only: the majority stays available. The seed's answer holds."
)


def network_partition(core: Core = CORE) -> ScenarioResult:
    """Network partition, 5 nodes. n0 leads term 1. A partition isolates n0 and n1 from n2, n3
    and n4. n0 accepts put x=1 and replicates it to n1, but two of five is no majority: it
    stays uncommitted, heartbeat after heartbeat. On the majority side n2 times out, wins term
    2 with n3's and n4's votes, accepts put x=2 and commits it. The partition heals; n2's
    term-2 AppendEntries make n0 step down, and the consistency check replaces 1:x=1 with
    2:x=2 on n0 and n1. Every server ends with the majority's log."""
    name = "network-partition"
    s = Script(scenario_model(name, core))
    s.elect(0, voters=[1, 2, 3, 4])
    s.replicate(0, [1, 2, 3, 4])
    s.check("n0 is elected leader of term 1", s.is_leader(0, term=1))

    s.do(Partition({0, 1}))
    s.do(Submit(0, 1))
    s.heartbeat(0, [1])
    s.check("the isolated leader n0 accepts put x=1 and replicates it to n1",
            _holders(s, _x(1, 1), 1) == [0, 1])
    n0 = s.node(0)
    s.check("but cannot commit it: two of five is not a majority",
            n0 is not None and n0.commit_index == 0)

    granted = s.elect(2, voters=[3, 4])
    s.check("the majority side elects n2 leader of term 2", granted == {3, 4}
            and s.is_leader(2, term=2))
    s.replicate(2, [3, 4])
    s.do(Submit(2, 2))
    s.heartbeat(2, [3, 4])
    n2 = s.node(2)
    s.check("n2 commits 2:x=2 at index 1 with n3 and n4",
            n2 is not None and n2.commit_index == 1 and s.log(2) == (_x(2, 2),))
    s.heartbeat(0, [1])
    n0 = s.node(0)
    s.check("meanwhile n0 still believes it leads term 1 and still cannot commit",
            s.is_leader(0, term=1) and n0 is not None and n0.commit_index == 0)

    s.do(Heal())
    s.heartbeat(2, [0, 1, 3, 4])
    n0 = s.node(0)
    s.check("after healing, n0 steps down on n2's term-2 AppendEntries",
            n0 is not None and n0.role is Role.FOLLOWER and n0.current_term == 2)
    s.check("n0's uncommitted 1:x=1 is replaced: every log is now [2:x=2]",
            _all_logs_are(s, (_x(2, 2),)))
    s.check("every server applied x=2; x=1 was never committed",
            _all_applied(s, (("x", 2),)) and _never_committed(s, _x(1, 1)))
    s.check("one leader left: n2", s.leaders() == [2])
    return s.finish(name, "Network partition: the minority cannot commit",
                    QUESTION_PARTITION, ANSWER_PARTITION)


# ------------------------------------------------------------------------------ registry

SCENARIOS: dict[str, Callable[[Core], ScenarioResult]] = {
    "split-brain": split_brain,
    "log-inconsistency-minority": log_inconsistency_minority,
    "log-inconsistency-majority": log_inconsistency_majority,
    "network-partition": network_partition,
}


def run_scenario(name: str, core: Core = CORE) -> ScenarioResult:
    """Run the named scenario on `core` (the bundled correct core by default)."""
    if name not in SCENARIOS:
        raise KeyError(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")
    return SCENARIOS[name](core)


def render_scenario(result: ScenarioResult, model: Model | None = None) -> str:
    """The scenario as a person reads it: question and answer, the numbered trace (through
    `model.trace.render_trace`, so it looks like every other trace), the first violation with
    the step after which it appeared, and each check with ✓ or ✗. `model` defaults to the one
    the scenario ran in."""
    if model is None:
        model = result.model if result.model is not None else scenario_model(result.name)
    lines = [f"{result.title} [{result.name}]",
             f"  Q: {result.question}",
             f"  A: {result.answer}",
             render_trace(model, result.actions, title=result.title)]
    if result.violation is not None:
        lines.append(f"  ✗ {result.violation.property} violated after step "
                     f"{result.violation_step}: {result.violation.detail}")
        lines.append(f"    why it matters: {result.violation.why}")
    lines.append("  checks:")
    lines.extend(f"    {'✓' if check.passed else '✗'} {check.description}"
                 for check in result.checks)
    verdict = "passed" if result.passed else "FAILED"
    lines.append(f"  {result.name}: {verdict} on core {model.core.name}")
    return "\n".join(lines)


__all__ = [
    "CLUSTER_SIZES",
    "SCENARIOS",
    "SCENARIO_BOUNDS",
    "Check",
    "ScenarioResult",
    "Script",
    "render_scenario",
    "run_scenario",
    "scenario_model",
]
