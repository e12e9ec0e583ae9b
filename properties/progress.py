"""Progress (liveness) properties: after the faults stop, the cluster must get somewhere.

Safety says nothing bad ever happens; a core that never elects a leader satisfies all of it.
These say something good happens *in time*. They are checked in the timed world only, where
time exists, over a stabilisation phase (`model.liveness.settle`): from the end of a run the
partition heals, crashed servers restart, every message in flight is delivered before the
clock moves (no delay: the network is perfect), timers keep firing, and a client submits one
request (key `PROBE_KEY`) to each new leader until it is applied everywhere. From the clock
time `start` at which the phase begins:

* Leader Elected: some server leads the highest term in the cluster, with nothing in flight,
  by `start + election_deadline(config)`;
* Request Applied: the client's request is applied on every server by
  `start + apply_deadline(config)`;
* Leader Stable: the leader of the moment the request was applied everywhere keeps leading
  its term for `stability_window(config)` after it (nothing disturbs a perfect network).

A property here is a check of the phase so far (`Progress`), called each time the clock
moves or the phase runs too long at one instant. Plain functions, like the safety ones.

The untimed world has no clock, so no deadline; its progress properties are about fair
cycles instead (`Property.fair`, checked by the exhaustive lasso search,
model/search/lasso.py). Each is a *stuck* predicate on one state: the witness that the
cluster has not got somewhere yet, relative to a stable leader (a leader of the highest
term). A cycle of the stable world (every server up, no partition; only deliveries and
heartbeats) on which the predicate holds in every state, with the same witness, and which
delivers every message and fires every heartbeat it keeps enabled, is a violation:

* Entry Committed: the stable leader holds an entry of its own term above its commit index
  (entries of earlier terms may legitimately wait for one of the current term, §5.4.2);
* Follower Caught Up: some follower lacks the stable leader's log as a prefix of its own, or
  has a lower commit index.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from attrs import frozen

from raftcheck.properties.violation import Violation

if TYPE_CHECKING:
    from raftcheck.impl.types import Node
    from raftcheck.model.state import Config, World

LEADER_ELECTED = "Leader Elected"
REQUEST_APPLIED = "Request Applied"
LEADER_STABLE = "Leader Stable"
PROGRESS = (LEADER_ELECTED, REQUEST_APPLIED, LEADER_STABLE)
ENTRY_COMMITTED = "Entry Committed"
FOLLOWER_CAUGHT_UP = "Follower Caught Up"

PROBE_KEY = "probe"  # the key of the request the stabilisation phase submits

# Steps (deliveries and timers) the phase may take without the clock moving: a core that
# answers every answer (a leader resending a rejected AppendEntries forever) makes no
# progress while no time passes, and no deadline would ever fall due.
INSTANT_STEPS = 300


def election_deadline(config: Config) -> int:
    """Three maximum election timeouts. Every message arrives at once, so the first server
    whose timer fires with an up-to-date log wins its election outright; before it, a timer
    set before the phase (up to one maximum timeout) and a candidate whose log is behind
    (rejected, its term adopted by the others) may each spend one."""
    return 3 * config.election_timeout_ms[1]


def apply_deadline(config: Config) -> int:
    """The election deadline, plus three more maximum election timeouts for a leader
    deposed before its first heartbeat (by a timer set before the phase) and the next one's
    election, plus two heartbeats: one carries the entry, the next the commit index."""
    return election_deadline(config) + 3 * config.election_timeout_ms[1] + \
        2 * config.heartbeat_ms


def stability_window(config: Config) -> int:
    """Two maximum election timeouts: a follower that stopped hearing from its leader times
    out within one."""
    return 2 * config.election_timeout_ms[1]


def phase_length(config: Config) -> int:
    """The longest a stabilisation phase runs: past the last deadline any property here
    has (a model may carry only some of them, which then all hold or have failed)."""
    return apply_deadline(config) + stability_window(config)


@frozen
class Progress:
    """The stabilisation phase so far, as the progress properties read it (times in ms of
    the world's clock)."""

    start: int  # when the phase began (the clock at the end of the run)
    now: int
    instant_steps: int  # steps taken since the clock last moved
    leader_at: int | None  # when a leader of the highest term was first seen, settled
    leader: tuple[int, int] | None  # that leader, as (node, term)
    submitted_at: int | None  # when the client's request was first accepted by a leader
    applied_at: int | None  # when every server had applied it
    applied_leader: tuple[int, int] | None = None  # the leader then, as (node, term)
    deposed_at: int | None = None  # when that leader stopped leading the highest term

    def overdue(self, deadline: int) -> bool:
        return self.now > self.start + deadline or self.instant_steps > INSTANT_STEPS

    def when(self) -> str:
        if self.instant_steps > INSTANT_STEPS:
            return (f"after {self.instant_steps} steps at t={self.now} ms without the clock "
                    f"moving (the phase began at t={self.start} ms)")
        return f"at t={self.now} ms (the phase began at t={self.start} ms)"


def leader_elected(config: Config, progress: Progress) -> Violation | None:
    """Some server leads the highest term, settled, within `election_deadline`."""
    deadline = election_deadline(config)
    if progress.leader_at is not None or not progress.overdue(deadline):
        return None
    return Violation(
        LEADER_ELECTED,
        f"no leader {progress.when()}; the deadline was {deadline} ms after it began",
        "with every server up and every message delivered, a cluster that elects no leader "
        "serves no client: Raft is live only if an election succeeds (§5.2, §9.3)")


def request_applied(config: Config, progress: Progress) -> Violation | None:
    """The client's request is applied on every server within `apply_deadline`."""
    deadline = apply_deadline(config)
    if progress.applied_at is not None or not progress.overdue(deadline):
        return None
    if progress.leader_at is None:
        return None  # Leader Elected has failed, or is still in time
    submitted = ("never accepted by a leader" if progress.submitted_at is None else
                 f"accepted at t={progress.submitted_at} ms")
    return Violation(
        REQUEST_APPLIED,
        f"the client's request ({submitted}) is not applied on every server "
        f"{progress.when()}; the deadline was {deadline} ms after it began",
        "a request a leader accepted while the network is perfect must be committed and "
        "reach every state machine; otherwise the cluster has stopped making progress",
        () if progress.leader is None else (progress.leader[0],))


def leader_stable(config: Config, progress: Progress) -> Violation | None:
    """Once the request is applied everywhere, its leader keeps leading for
    `stability_window`: no follower times out while the leader is up and the network
    perfect."""
    if progress.applied_at is None:
        return None
    if progress.deposed_at is None and progress.instant_steps <= INSTANT_STEPS:
        return None
    leader = "no leader" if progress.applied_leader is None else \
        f"n{progress.applied_leader[0]} leading term {progress.applied_leader[1]}"
    what = (f"deposed at t={progress.deposed_at} ms" if progress.deposed_at is not None
            else f"still churning {progress.when()}")
    return Violation(
        LEADER_STABLE,
        f"the request was applied everywhere at t={progress.applied_at} ms with {leader}, "
        f"{what}, within {stability_window(config)} ms",
        "with every server up and every message delivered, a leader's heartbeats keep every "
        "follower from timing out (§5.2); a cluster that changes leaders anyway stalls its "
        "clients at every change",
        () if progress.applied_leader is None else (progress.applied_leader[0],))


# ------------------------------------------------------------------------------ fair cycles


def stable_leader(world: World) -> Node | None:
    """The leader of the highest term any running server has reached, if there is one."""
    up = [node for node in world.nodes if node is not None]
    if not up:
        return None
    highest = max(node.current_term for node in up)
    for node in up:
        if node.current_term == highest and node.leader is not None:
            return node
    return None


def entry_uncommitted(world: World) -> Violation | None:
    """Stuck for Entry Committed: the stable leader holds an entry of its own term that it
    has not committed (the witness: the leader, its term, the entry's index)."""
    leader = stable_leader(world)
    if leader is None:
        return None
    term, log = leader.current_term, leader.log
    for index in range(len(log), leader.commit_index, -1):
        if log[index - 1].term == term:
            return Violation(
                ENTRY_COMMITTED,
                f"n{leader.id} leads term {term} and holds entry {index} of its term, "
                f"uncommitted (commit index {leader.commit_index})",
                "with every server up and every message delivered, a leader's entry reaches "
                "a majority and is committed (§5.3); a client that was told its request was "
                "accepted waits for ever",
                (leader.id,), index, term)
    return None


def follower_behind(world: World) -> Violation | None:
    """Stuck for Follower Caught Up: some follower's log does not start with the stable
    leader's, or its commit index is lower (the witness: the leader and the first such
    follower)."""
    leader = stable_leader(world)
    if leader is None:
        return None
    log = leader.log
    for node in world.nodes:
        if node is None or node.id == leader.id:
            continue
        if node.log[:len(log)] != log:
            behind = f"its log does not start with the leader's {len(log)} entries"
        elif node.commit_index < leader.commit_index:
            behind = (f"its commit index is {node.commit_index}, the leader's "
                      f"{leader.commit_index}")
        else:
            continue
        return Violation(
            FOLLOWER_CAUGHT_UP,
            f"n{node.id} lags n{leader.id}, the leader of term {leader.current_term}: {behind}",
            "a follower that never catches up with a stable leader never applies what the "
            "cluster committed, and cannot take over with an up-to-date log (§5.3)",
            (leader.id, node.id), None, leader.current_term)
    return None
