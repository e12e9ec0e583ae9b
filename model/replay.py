"""`raftcheck replay FILE`: re-run a saved trace against a core and re-check every property.

The actions of a trace file are applied *strictly*, in order, through the one action space
(`Model.successor`), and every property is checked after every step by `model.shrink`'s
`first_violation` (the same check the shrinker and the fuzzer use). Five outcomes:

==============  ============================================================  =====
outcome         meaning                                                       exit
==============  ============================================================  =====
reproduced      the recorded property is violated again                       1
different       another property is violated (or the trace was recorded       1
                clean and now violates one)
fixed           the trace was recorded with a violation; the core now runs     0
                every step and no property breaks: how a fixed bug looks
clean           recorded clean, still clean                                   0
stops applying  step k is not enabled on this core (a message it expects is   3
                not in flight, a node is down, a bound stops it): the trace
                no longer says anything past step k-1, which is neither a
                pass nor a violation, so it is *inconclusive* like a search
                that hit its bound
==============  ============================================================  =====

A violation reached *before* the step that stops applying wins: the run did break a
property. Bad files, unknown cores and bad options are exit 2 with one line.

A lasso (a trace with a `loop`: the exhaustive liveness search's counterexample) is
re-checked whole by `model.search.lasso.check_lasso` once its steps apply and no safety
property breaks on them: the cycle returns to the state it started from, stays in the stable
world, is fair, and a progress property is stuck in every state of it (reproduced); if any of
these no longer holds, the lasso is fixed, and the reason says which.

`--shrink` minimises the replayed violation with `model.shrink.shrink` (delete steps while
the same property breaks) and saves the shorter trace as a new file (never over the input);
`--format mermaid|html` renders the trace (`model.render`) to `--out` or stdout. Each outcome
is a `Verdict` (`ReplayResult.verdict`); the command line is model/cli/replay.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from attrs import frozen

from raftcheck.impl.types import Role
from raftcheck.model.shrink import first_violation
from raftcheck.model.trace import show_message
from raftcheck.model.verdict import Exit, Verdict
from raftcheck.model.world import (
    Action,
    CoreFault,
    Crash,
    Deliver,
    Drop,
    Duplicate,
    Heal,
    Heartbeat,
    Model,
    ModelError,
    Partition,
    Restart,
    Submit,
    Tick,
    Timeout,
    World,
)
from raftcheck.properties import Violation

REPRODUCED, DIFFERENT, FIXED, CLEAN, STOPS_APPLYING = (
    "reproduced", "different", "fixed", "clean", "stops applying")
VERDICTS = {REPRODUCED: Verdict.REPRODUCED, DIFFERENT: Verdict.DIFFERENT, FIXED: Verdict.FIXED,
            CLEAN: Verdict.CLEAN, STOPS_APPLYING: Verdict.STOPS_APPLYING}


@frozen
class ReplayResult:
    """What replaying a trace showed. `actions` are the steps actually run: up to and
    including the violating one, or up to the step before the one that stops applying, or all
    of them. `step` is the violating step or the step that stops applying (1-based)."""

    outcome: str
    recorded: Violation | None
    violation: Violation | None
    actions: tuple[Action, ...]
    step: int | None = None
    stopped_action: Action | None = None
    reason: str | None = None
    loop: int | None = None  # a lasso's: the steps before its cycle

    @property
    def verdict(self) -> Verdict:
        return VERDICTS[self.outcome]

    @property
    def exit_code(self) -> Exit:
        return self.verdict.exit_code

    @property
    def stopped(self) -> tuple[int, Action, str] | None:
        if self.outcome != STOPS_APPLYING or self.step is None or self.stopped_action is None:
            return None
        return (self.step, self.stopped_action, self.reason or "not enabled")


def replay(model: Model, actions: Sequence[Action], recorded: Violation | None = None,
           loop: int | None = None) -> ReplayResult:
    """Run `actions` strictly on `model`, checking every property after every step, and
    classify the result against the `recorded` violation (see the module docstring);
    with `loop`, the actions are a lasso whose cycle starts after that many steps."""
    applicable, stop = _applicable_prefix(model, actions)
    outcome = first_violation(model, applicable)  # exact: every action in it is enabled
    if outcome is not None:
        same = recorded is not None and outcome.violation.property == recorded.property
        return ReplayResult(REPRODUCED if same else DIFFERENT, recorded, outcome.violation,
                            outcome.actions, len(outcome.actions))
    if stop is not None:
        number, why = stop
        return ReplayResult(STOPS_APPLYING, recorded, None, tuple(applicable), number,
                            actions[number - 1], why)
    reason = None
    if loop is not None:
        found, reason = _lasso(model, applicable, loop, recorded)
        if found is not None:
            same = recorded is not None and found.property == recorded.property
            return ReplayResult(REPRODUCED if same else DIFFERENT, recorded, found,
                                tuple(applicable), len(applicable), loop=loop)
    return ReplayResult(FIXED if recorded is not None else CLEAN, recorded, None,
                        tuple(applicable), reason=reason, loop=loop)


def _lasso(model: Model, actions: Sequence[Action], loop: int,
           recorded: Violation | None) -> tuple[Violation | None, str]:
    """The lasso's violation, the recorded property's first, or (None, why not)."""
    from raftcheck.model.search.lasso import check_lasso

    wanted = recorded.property if recorded is not None and \
        recorded.property in model.properties.fair_names else None
    found, why = check_lasso(model, actions, loop, wanted)
    if found is None and wanted is not None:
        found, _ = check_lasso(model, actions, loop)
    return found, why


def _applicable_prefix(model: Model, actions: Sequence[Action]) -> tuple[
        list[Action], tuple[int, str] | None]:
    """The longest prefix of `actions` whose every step is enabled, and (step, why) for the
    first that is not. A step on which the core fails is enabled (the failure is a finding,
    and `first_violation` reports it); nothing after it can run."""
    try:
        state = model.initial_state()
    except CoreFault:
        return [], None
    taken: list[Action] = []
    for number, action in enumerate(actions, 1):
        try:
            after = model.successor(state, action)
        except CoreFault:
            return [*taken, action], None
        if after is None:
            return taken, (number, why_not_enabled(model, state, action))
        taken.append(action)
        state = after
    return taken, None


def why_not_enabled(model: Model, state: World, action: Action) -> str:
    """One line on why `action` cannot be taken in `state`: the guard it fails."""
    bounds = model.bounds
    node_id = getattr(action, "node", None)
    node = state.nodes[node_id] if node_id is not None and 0 <= node_id < len(
        state.nodes) else None
    if isinstance(action, (Deliver, Drop, Duplicate)):
        message = action.message
        if message not in state.network:
            similar = [m for m in state.network if type(m) is type(message)
                       and m.source == message.source and m.dest == message.dest]
            instead = f"; in flight instead: {show_message(similar[-1])}" if similar else ""
            return ("that message is not in flight (it was never sent, or already delivered "
                    f"or dropped){instead}")
        if isinstance(action, Drop) and not bounds.drop:
            return "the bounds do not allow dropping messages (drop=off)"
        if isinstance(action, Duplicate) and not bounds.duplicate:
            return "the bounds do not allow duplicating messages (duplicate=off)"
        if isinstance(action, Deliver):
            if state.nodes[message.dest] is None:
                return f"n{message.dest} is down"
            if not state.connected(message.source, message.dest):
                return f"n{message.source} and n{message.dest} are on different sides of " \
                       "the partition"
    elif isinstance(action, (Timeout, Heartbeat, Submit, Crash)):
        if node is None:
            return f"n{node_id} is down"
        if isinstance(action, Timeout):
            if state.clock is not None:
                return "the timed world has no Timeout action (its timers fire by Tick)"
            if node.role is Role.LEADER:
                return f"n{node_id} is the leader (leaders send heartbeats, not elections)"
            if node.current_term >= bounds.max_term:
                return f"n{node_id} is at term {node.current_term}, the bound max_term"
        if isinstance(action, Heartbeat):
            if state.clock is not None:
                return "the timed world has no Heartbeat action (its timers fire by Tick)"
            if node.role is not Role.LEADER:
                return f"n{node_id} is a {node.role}, not the leader"
        if isinstance(action, Submit):
            if node.role is not Role.LEADER:
                return (f"n{node_id} is a {node.role}, not the leader (clients talk to "
                        "leaders)")
            if node.last_log_index >= bounds.max_log:
                return f"n{node_id}'s log is at the bound max_log={bounds.max_log}"
            if not 1 <= action.value <= bounds.values or action.key != "x":
                return f"the command is outside the bounds (values 1..{bounds.values}, key x)"
        if isinstance(action, Crash) and bounds.max_crashes is not None and \
                state.crashes >= bounds.max_crashes:
            return f"already {state.crashes} crashes, the bound max_crashes"
    elif isinstance(action, Restart):
        if node is not None:
            return f"n{node_id} is not down"
    elif isinstance(action, Partition):
        if state.isolated:
            return "already partitioned (heal first)"
        if bounds.max_partitions is not None and state.partitions >= bounds.max_partitions:
            return f"already {state.partitions} partitions, the bound max_partitions"
        return "not a partition this model enumerates (the smaller side names it)"
    elif isinstance(action, Heal):
        return "there is no partition to heal"
    elif isinstance(action, Tick):
        if state.clock is None:
            return "Tick needs the timed world (config timing=timed)"
        return "no timer is running"
    try:
        after = model.next_state(state, action)
    except ModelError as error:
        return str(error)
    except CoreFault as fault:  # pragma: no cover - the action was not enabled anyway
        return f"not enabled (and the core fails on it: {fault})"
    if len(after.network) > bounds.max_messages:
        return (f"it would put {len(after.network)} messages in flight, over the bound "
                f"max_messages={bounds.max_messages}")
    return "not enabled in this state"
