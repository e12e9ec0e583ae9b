"""Counterexamples a person can read: one numbered line per action, the node fields that
changed under it, the messages it sent, and the violated property with its witness last
(etcd's `term/index` style). Every engine prints its traces through `render_trace`, so a
trace from the fuzzer, the enumerator or replay looks the same.

Notation: `n0..n{N-1}` are nodes; an entry is `term:key=value`; `prev=3/2` and `last=3/2`
are term/index pairs; `log[1:x=1 2:x=2]` lists entries from index 1.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from raftcheck.impl.types import (
    AppendEntries,
    AppendEntriesResponse,
    Entry,
    Message,
    Node,
    Persistent,
    RequestVote,
    RequestVoteResponse,
    message_key,
)
from raftcheck.model.state import (
    CORE_FAULT,
    Action,
    Crash,
    Deliver,
    Drop,
    Duplicate,
    Heal,
    Heartbeat,
    Partition,
    Restart,
    Submit,
    Tick,
    Timeout,
    World,
)
from raftcheck.properties.violation import Violation

if TYPE_CHECKING:
    from raftcheck.model.seam import AnyModel


def show_log(log: Sequence[Entry]) -> str:
    return "[" + " ".join(str(entry) for entry in log) + "]"


def show_message(message: Message) -> str:
    route = f"n{message.source}→n{message.dest} term={message.term}"
    if isinstance(message, RequestVote):
        return f"RequestVote {route} last={message.last_log_term}/{message.last_log_index}"
    if isinstance(message, RequestVoteResponse):
        return f"RequestVoteResponse {route} {'granted' if message.vote_granted else 'refused'}"
    if isinstance(message, AppendEntries):
        return (f"AppendEntries {route} prev={message.prev_log_term}/{message.prev_log_index} "
                f"entries={show_log(message.entries)} commit={message.leader_commit}")
    assert isinstance(message, AppendEntriesResponse)
    outcome = (f"ok match={message.match_index}" if message.success
               else f"rejected hint={message.last_log_index}")
    if message.conflict_term:
        outcome += f" conflict_term={message.conflict_term}"
    return f"AppendEntriesResponse {route} {outcome}"


def show_action(action: Action) -> str:
    if isinstance(action, Deliver):
        return f"deliver {show_message(action.message)}"
    if isinstance(action, Drop):
        return f"drop {show_message(action.message)}"
    if isinstance(action, Duplicate):
        return f"duplicate {show_message(action.message)}"
    if isinstance(action, Timeout):
        return f"n{action.node}: election timeout"
    if isinstance(action, Heartbeat):
        return f"n{action.node}: heartbeat timeout"
    if isinstance(action, Submit):
        return f"client → n{action.node}: put {action.key}={action.value}"
    if isinstance(action, Crash):
        return f"n{action.node} crashes"
    if isinstance(action, Restart):
        return f"n{action.node} restarts from disk"
    if isinstance(action, Partition):
        inside = ",".join(f"n{i}" for i in sorted(action.isolated))
        return f"partition: {{{inside}}} isolated from the rest"
    if isinstance(action, Heal):
        return "partition healed"
    if isinstance(action, Tick):
        return "tick"
    return repr(action)


def show_node(node: Node | None, disk: Persistent) -> str:
    if node is None:
        return f"down (disk: term={disk.current_term} log={show_log(disk.log)})"
    return (f"{node.role} term={node.current_term} voted_for={_who(node.voted_for)} "
            f"log={show_log(node.log)} commit={node.commit_index}")


def node_changes(before: Node | None, after: Node | None, disk: Persistent) -> list[str]:
    """The fields of one node that differ between two states, as `field old→new`."""
    if before is None and after is None:
        return []
    if after is None:
        return ["crashed: volatile state lost"]
    if before is None:
        return [f"restarted as {after.role} term={after.current_term} "
                f"voted_for={_who(after.voted_for)} log={show_log(after.log)}"]
    changes = []
    for label, old, new in (
        ("role", str(before.role), str(after.role)),
        ("term", before.current_term, after.current_term),
        ("voted_for", _who(before.voted_for), _who(after.voted_for)),
        ("log", show_log(before.log), show_log(after.log)),
        ("commit", before.commit_index, after.commit_index),
        ("applied", before.last_applied, after.last_applied),
    ):
        if old != new:
            changes.append(f"{label} {old}→{new}")
    if after.persistent != disk:
        changes.append(f"NOT PERSISTED (disk: term={disk.current_term} "
                       f"voted_for={_who(disk.voted_for)} log={show_log(disk.log)})")
    return changes


def sent_messages(before: World, after: World, action: Action) -> list[Message]:
    """Messages in flight after the step that were not before (the delivered one aside)."""
    new = Counter(after.network)
    new.subtract(Counter(before.network))
    if isinstance(action, Deliver):
        new[action.message] += 1
    if isinstance(action, Duplicate):
        return []
    return sorted((m for m, count in new.items() for _ in range(max(count, 0))), key=message_key)


def render_trace(
    model: AnyModel,
    actions: Sequence[Action],
    violation: Violation | None = None,
    title: str | None = None,
    loop: int | None = None,
) -> str:
    """The numbered, readable trace of `actions` from the initial state.

    A `CORE_FAULT` violation (the core raised or broke the protocol) is a finding on the last
    action itself: that action is printed, but there is no state after it to show. A lasso
    (`loop`: the number of steps before its cycle) prints the prefix, then the cycle under
    "cycle (repeats forever):", ending in the state the cycle started from."""
    faulted = violation is not None and violation.property == CORE_FAULT
    lines = []
    header = title or "Trace"
    lines.append(f"{header}: core={model.name} nodes={model.config.cluster_size} "
                 f"timing={model.config.timing} bounds: {model.bounds.describe()}")
    if faulted and not actions:
        assert violation is not None
        lines.append(f"  ✗ {violation.property} building the initial state: {violation.detail}")
        lines.append(f"    why it matters: {violation.why}")
        return "\n".join(lines)
    failing = actions[-1] if faulted else None
    actions = actions[:-1] if faulted else actions
    states = model.run(list(actions))
    lines.append(f"  0. initial: {model.config.cluster_size} followers at term 0, empty logs")
    for number, action in enumerate(actions, 1):
        before, after = states[number - 1], states[number]
        if loop is not None and number == loop + 1:
            lines.append(f"  cycle (repeats forever): from the state after step {loop}, "
                         f"{count_steps(len(actions) - loop)} back to it")
        lines.append(f"{number:3d}. {show_action(action)}")
        for i in range(len(after.nodes)):
            changes = node_changes(before.nodes[i], after.nodes[i], after.disk[i])
            if changes:
                lines.append(f"       n{i}: " + ", ".join(changes))
        for message in sent_messages(before, after, action):
            lines.append(f"       sent {show_message(message)}")
        if after.clock is not None and before.clock is not None and \
                after.clock.now != before.clock.now:
            lines.append(f"       clock {before.clock.now}→{after.clock.now} ms")
    if failing is not None:
        lines.append(f"{len(actions) + 1:3d}. {show_action(failing)}")
        lines.append("       ✗ the core failed on this step: no state after it")
    final = states[-1]
    lines.append("  final state:" if failing is None else "  state before the failing step:")
    if loop is not None:
        lines[-1] = "  the cycle's state (after every pass):"
    for i, node in enumerate(final.nodes):
        lines.append(f"       n{i}: {show_node(node, final.disk[i])}")
    if failing is not None and violation is not None:
        lines.append(f"  ✗ {violation.property} at step {len(actions) + 1}: {violation.detail}")
        lines.append(f"    why it matters: {violation.why}")
    elif violation is not None and loop is not None:
        lines.append(f"  ✗ {violation.property} never holds: {violation.detail}")
        lines.append(f"    why it matters: {violation.why}")
    elif violation is not None:
        lines.append(f"  ✗ {violation.property} violated after step {len(actions)}: "
                     f"{violation.detail}")
        lines.append(f"    why it matters: {violation.why}")
    return "\n".join(lines)


def count_steps(count: int | None) -> str:
    """"1 step", "2 steps": how every report counts a trace's length."""
    return f"{count} step" if count == 1 else f"{count} steps"


def replayable(actions: Sequence[Action]) -> str:
    """The action list as Python that replays it:
    `Model(core, config, bounds).run(actions)`."""
    body = "".join(f"    {action!r},\n" for action in actions)
    return ("from raftcheck import *\n"
            f"actions = [\n{body}]")


def _who(node_id: int | None) -> str:
    return "-" if node_id is None else f"n{node_id}"
