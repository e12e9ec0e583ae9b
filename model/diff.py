"""`raftcheck diff OLD NEW`: does a refactored core still behave like the one it replaces?

Both cores are driven with the *same* action sequences, in lockstep, and compared after every
step at a chosen level:

* `state`: every node's state (the `Node` value: role, Figure 2's persistent and volatile
  fields, candidate and leader state) and what it persisted are equal;
* `messages`: the state, and every message each step sent, are equal;
* `properties`: only that both satisfy every property: a divergence is a step after which one
  core violates a property (or fails) and the other does not. For refactors that legitimately
  change messages, such as faster log backtracking.

The lockstep world. Each core lives in its own `World`; actions on nodes (timeouts, client
requests, crashes, partitions) are applied to both. Messages are matched up when sent: the
messages a step sends on each side are grouped by (kind, source, destination), sorted, and
paired in order; a message with no counterpart is paired with nothing. The network of the pair
is the bag of these pairs, and delivering (dropping, duplicating) a pair delivers each side's
message to its own core. So the cores see the same schedule even when their messages differ in
content, which is what lets `--compare properties` follow a refactor whose messages changed.
An action enabled on one side only (possible once the states differ) is applied to that side.

Two engines, as elsewhere in raftcheck:

* exhaustive: breadth-first over pairs within the bounds, so the first divergence found is a
  shortest one; "equivalent" is only said of a search that completed;
* random: Hypothesis draws action sequences (seeded; generous bounds), and a divergence is
  shrunk by deleting actions while the cores still diverge (model/shrink.py's method).

Exit codes: 0 no divergence (and the exhaustive search, if run, completed), 1 divergence, 2 bad
usage, 3 inconclusive (the exhaustive search stopped on a limit).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import deque
from collections.abc import Sequence
from itertools import zip_longest
from pathlib import Path
from typing import Any

from attrs import define, field, frozen

from raftcheck.impl.types import Message, Node, Persistent, message_key
from raftcheck.model.cores import CoreLoadError, load_core
from raftcheck.model.options import count, optional_count
from raftcheck.model.shrink import delete_chunks
from raftcheck.model.trace import node_changes, sent_messages, show_action, show_log, show_message
from raftcheck.model.world import (
    Action,
    Bounds,
    Config,
    Core,
    CoreFault,
    Crash,
    Deliver,
    Drop,
    Duplicate,
    Heal,
    Model,
    Partition,
    Restart,
    World,
)
from raftcheck.properties import Violation, check_state, check_transition

LEVELS = ("state", "messages", "properties")
ENGINES = ("both", "exhaustive", "random")

# Exhaustive bounds: small enough to finish in seconds per core pair on one core (a pair step
# costs two core steps and the matching): 3 servers, terms up to 2, one entry, three messages
# in flight, no faults. Widen them on the command line for a deeper check.
DIFF_BOUNDS = Bounds(max_term=2, max_log=1, values=1, max_messages=3, max_crashes=0,
                     max_partitions=0, drop=False, duplicate=False)
# Random schedules: deeper than the exhaustive bounds (four terms, two entries, a crash and a
# partition), tighter than the fuzz engine's. The conflict-term refactor's message divergence
# (it needs three successive leaders with diverging logs) was found by 4 of seeds 0-9 with 300
# schedules each here (swarm on); before swarm, by 2 of 4 seeds x 500 here and by none of
# 3 x 500 within the fuzz engine's term≤6 log≤4 msgs≤12 bounds, where runs spread thinner.
RANDOM_BOUNDS = Bounds(max_term=4, max_log=2, values=1, max_messages=6, max_crashes=1,
                       max_partitions=1, drop=True, duplicate=False)

EXIT_EQUIVALENT, EXIT_DIVERGENT, EXIT_USAGE, EXIT_INCONCLUSIVE = 0, 1, 2, 3

Link = tuple["Message | None", "Message | None"]


class UsageError(ValueError):
    """Bad options; one line, exit 2."""


# ------------------------------------------------------------------------------ the lockstep


@frozen
class Pair:
    """The two worlds after the same actions, and the bag of matched in-flight messages
    (sorted, so equal pairs are equal values)."""

    old: World
    new: World
    links: tuple[Link, ...]


@frozen
class PairAction:
    """One scheduling decision: the action each core sees (None: that core sits it out)."""

    old: Action | None
    new: Action | None

    def describe(self) -> str:
        if self.old is not None and self.new is not None and self.old != self.new:
            return f"{show_action(self.old)}   [NEW: {show_action(self.new)}]"
        if self.old is None and self.new is not None:
            return f"{show_action(self.new)}   [NEW only: OLD has no such action]"
        if self.new is None and self.old is not None:
            return f"{show_action(self.old)}   [OLD only: NEW has no such action]"
        assert self.old is not None
        return show_action(self.old)


@frozen
class Outcome:
    """What one pair step led to: the next pair (None outside the bounds or after a fault),
    the lines saying how the cores diverged (None: they did not), and whether both cores
    broke alike (both violate a property or both fail), which ends the path without a
    divergence."""

    after: Pair | None
    divergence: tuple[str, ...] | None = None
    both_broke: str | None = None


def _key(message: Message | None) -> tuple[object, ...]:
    return () if message is None else message_key(message)


def _link_key(link: Link) -> tuple[object, ...]:
    return (_key(link[0]), _key(link[1]))


def match_messages(old: Sequence[Message], new: Sequence[Message]) -> list[Link]:
    """Pair the messages one step sent on each side: by (kind, source, dest), in sorted order
    within each group; the unmatched are paired with None."""
    groups: dict[tuple[int, int, int], tuple[list[Message], list[Message]]] = {}
    for side, messages in ((0, old), (1, new)):
        for message in messages:
            group = groups.setdefault((message.KIND, message.source, message.dest), ([], []))
            group[side].append(message)
    links: list[Link] = []
    for name in sorted(groups):
        olds, news = groups[name]
        olds.sort(key=message_key)
        news.sort(key=message_key)
        links.extend(zip_longest(olds, news))
    return links


class Lockstep:
    """Two cores in one schedule, compared at `level`."""

    def __init__(self, old: Model, new: Model, level: str) -> None:
        if level not in LEVELS:
            raise UsageError(f"unknown comparison level {level!r}; choose from "
                             f"{', '.join(LEVELS)}")
        self.old, self.new, self.level = old, new, level

    # -------------------------------------------------------------- the initial pair

    def initial(self) -> Outcome:
        worlds: list[World | None] = []
        faults: list[CoreFault | None] = []
        for model in (self.old, self.new):
            try:
                worlds.append(model.initial_state())
                faults.append(None)
            except CoreFault as fault:
                worlds.append(None)
                faults.append(fault)
        old, new = worlds
        if old is None or new is None:
            return self._faulted(faults[0], faults[1])
        pair = Pair(old, new, ())
        if self.level == "properties":
            return self._judge(pair, check_state(old), check_state(new))
        lines = state_differences(old, new)
        return Outcome(pair, tuple(lines) if lines else None)

    # -------------------------------------------------------------- enumeration

    def actions(self, pair: Pair) -> list[PairAction]:
        """Every enabled pair action, in a fixed order: message actions over the matched
        bag, then the node actions of OLD, then those only NEW has."""
        out: list[PairAction] = []
        bounds = self.old.bounds
        previous: Link | None = None
        for link in pair.links:
            if link == previous:
                continue
            previous = link
            old_message, new_message = link
            deliverable = [
                message is not None and world.nodes[message.dest] is not None
                and world.connected(message.source, message.dest)
                for message, world in ((old_message, pair.old), (new_message, pair.new))]
            if any(deliverable):
                out.append(PairAction(
                    Deliver(old_message) if deliverable[0] and old_message else None,
                    Deliver(new_message) if deliverable[1] and new_message else None))
            for kind, allowed in ((Drop, bounds.drop), (Duplicate, bounds.duplicate)):
                if allowed:
                    out.append(PairAction(kind(old_message) if old_message else None,
                                          kind(new_message) if new_message else None))
        old_actions = [a for a in self.old.candidate_actions(pair.old)
                       if not isinstance(a, (Deliver, Drop, Duplicate))]
        new_actions = [a for a in self.new.candidate_actions(pair.new)
                       if not isinstance(a, (Deliver, Drop, Duplicate))]
        new_set = set(new_actions)
        old_set = set(old_actions)
        out.extend(PairAction(a, a if a in new_set else None) for a in old_actions)
        out.extend(PairAction(None, a) for a in new_actions if a not in old_set)
        return out

    # -------------------------------------------------------------- one step

    def step(self, pair: Pair, action: PairAction) -> Outcome:
        afters: list[World] = []
        faults: list[CoreFault | None] = []
        for model, world, taken in ((self.old, pair.old, action.old),
                                    (self.new, pair.new, action.new)):
            try:
                afters.append(world if taken is None else model.next_state(world, taken))
                faults.append(None)
            except CoreFault as fault:
                afters.append(world)
                faults.append(fault)
        if faults[0] is not None or faults[1] is not None:
            return self._faulted(faults[0], faults[1])
        old, new = afters
        limit = self.old.bounds.max_messages
        if len(old.network) > limit or len(new.network) > limit:
            return Outcome(None)
        links = list(pair.links)
        chosen = (action.old.message if isinstance(action.old, (Deliver, Drop, Duplicate))
                  else None,
                  action.new.message if isinstance(action.new, (Deliver, Drop, Duplicate))
                  else None)
        kind = type(action.old if action.old is not None else action.new)
        if kind in (Deliver, Drop, Duplicate):
            link = next(link for link in links if _matches(link, chosen))
            if kind is Duplicate:
                links.append(link)
            else:
                links.remove(link)
        sent_old = sent_messages(pair.old, old, action.old) if action.old is not None else []
        sent_new = sent_messages(pair.new, new, action.new) if action.new is not None else []
        sent = match_messages(sent_old, sent_new)
        links.extend(sent)
        after = Pair(old, new, tuple(sorted(links, key=_link_key)))
        if self.level == "properties":
            v_old = check_transition(pair.old, old) if action.old is not None else None
            v_new = check_transition(pair.new, new) if action.new is not None else None
            return self._judge(after, v_old, v_new)
        lines = state_differences(old, new)
        if self.level == "messages":
            lines.extend(message_differences(sent))
        return Outcome(after, tuple(lines) if lines else None)

    def _judge(self, pair: Pair, v_old: Violation | None, v_new: Violation | None) -> Outcome:
        if v_old is None and v_new is None:
            return Outcome(pair)
        if v_old is not None and v_new is not None:
            return Outcome(None, both_broke=f"both cores violate properties here: OLD "
                                            f"{v_old.property}, NEW {v_new.property}")
        if v_old is not None:
            return Outcome(pair, (f"OLD violates {v_old}", "NEW satisfies every property"))
        assert v_new is not None
        return Outcome(pair, (f"NEW violates {v_new}", "OLD satisfies every property"))

    def _faulted(self, old: CoreFault | None, new: CoreFault | None) -> Outcome:
        if old is not None and new is not None:
            return Outcome(None, both_broke=f"both cores fail here: OLD {old}; NEW {new}")
        if old is not None:
            return Outcome(None, (f"OLD fails: {old}", "NEW does not"))
        return Outcome(None, (f"NEW fails: {new}", "OLD does not"))


def _matches(link: Link, chosen: tuple[Message | None, Message | None]) -> bool:
    return all(want is None or have == want for have, want in zip(link, chosen, strict=True))


# ------------------------------------------------------------------------------ differences


def _node_fields(node: Node) -> list[tuple[str, object]]:
    leader = node.leader
    return [
        ("role", str(node.role)), ("term", node.current_term),
        ("voted_for", node.voted_for), ("log", show_log(node.log)),
        ("commit_index", node.commit_index), ("last_applied", node.last_applied),
        ("state_machine", dict(node.volatile.state_machine)),
        ("leader_hint", node.volatile.leader_hint),
        ("votes_granted", None if node.candidate is None
         else sorted(node.candidate.votes_granted)),
        ("next_index", None if leader is None else list(leader.next_index)),
        ("match_index", None if leader is None else list(leader.match_index)),
    ]


def node_differences(old: Node | None, new: Node | None) -> list[str]:
    """`commit_index 1 (OLD) vs 0 (NEW)` for each field in which two nodes differ."""
    if old is None or new is None:
        if old is new:
            return []
        return [f"{'down' if old is None else 'up'} (OLD) vs {'down' if new is None else 'up'} "
                "(NEW)"]
    if old == new:
        return []
    lines = [f"{name} {a} (OLD) vs {b} (NEW)"
             for (name, a), (_, b) in zip(_node_fields(old), _node_fields(new), strict=True)
             if a != b]
    return lines or ["the Node values differ in a field not shown here"]


def _disk(persistent: Persistent) -> str:
    return (f"term={persistent.current_term} voted_for={persistent.voted_for} "
            f"log={show_log(persistent.log)}")


def state_differences(old: World, new: World) -> list[str]:
    lines = []
    for i, (a, b) in enumerate(zip(old.nodes, new.nodes, strict=True)):
        for line in node_differences(a, b):
            lines.append(f"n{i}: {line}")
    for i, (disk_old, disk_new) in enumerate(zip(old.disk, new.disk, strict=True)):
        if disk_old != disk_new:
            lines.append(f"n{i} persisted: {_disk(disk_old)} (OLD) vs {_disk(disk_new)} (NEW)")
    return lines


def message_differences(sent: Sequence[Link]) -> list[str]:
    lines = []
    for old, new in sent:
        if old != new:
            lines.append(f"sent: {show_message(old) if old else 'nothing'} (OLD) vs "
                         f"{show_message(new) if new else 'nothing'} (NEW)")
    return lines


# ------------------------------------------------------------------------------ results


@frozen
class Divergence:
    """The first step after which the cores disagree: the actions up to and including it
    (empty: the initial states already differ), how they disagree, and which engine found
    it (`shrunk_from`: the length of the random run before shrinking)."""

    actions: tuple[PairAction, ...]
    detail: tuple[str, ...]
    engine: str
    shortest: bool
    shrunk_from: int | None = None


@define
class DiffResult:
    old: str
    new: str
    level: str
    config: Config
    bounds: Bounds
    divergence: Divergence | None = None
    pairs: int = 0  # distinct pair states the exhaustive search visited
    transitions: int = 0
    depth: int = 0
    complete: bool | None = None  # None: the exhaustive search did not run
    stop_reason: str = ""
    random_runs: int = 0
    random_steps: int = 0
    seed: int | None = None
    seconds: float = 0.0
    notes: list[str] = field(factory=list)

    @property
    def verdict(self) -> str:
        if self.divergence is not None:
            return "DIVERGENT"
        if self.complete is False:
            return "INCONCLUSIVE"
        return "EQUIVALENT"

    @property
    def exit_code(self) -> int:
        return {"DIVERGENT": EXIT_DIVERGENT, "INCONCLUSIVE": EXIT_INCONCLUSIVE,
                "EQUIVALENT": EXIT_EQUIVALENT}[self.verdict]


# ------------------------------------------------------------------------------ exhaustive


def exhaustive(lock: Lockstep, result: DiffResult, *, max_states: int | None = None,
               max_seconds: float | None = None) -> None:
    """Breadth-first over pair states: the first divergence found is a shortest one."""
    started = time.monotonic()
    first = lock.initial()
    if first.divergence is not None:
        result.divergence = Divergence((), first.divergence, "exhaustive", True)
        result.complete = True
        return
    if first.after is None:
        result.complete = True
        if first.both_broke:
            result.notes.append(f"initial state: {first.both_broke}")
        return
    links: list[tuple[int, PairAction | None]] = [(-1, None)]
    depths = [0]
    seen = {hash(first.after)}
    queue = deque([(first.after, 0)])
    both_broke: str | None = None
    stop = ""
    while queue:
        if max_seconds is not None and time.monotonic() - started > max_seconds:
            stop = "max_seconds"
            break
        pair, position = queue.popleft()
        for action in lock.actions(pair):
            result.transitions += 1
            outcome = lock.step(pair, action)
            if outcome.divergence is not None:
                result.divergence = Divergence((*_path(links, position), action),
                                               outcome.divergence, "exhaustive", True)
                result.pairs, result.depth = len(seen), depths[position] + 1
                result.complete = True  # every shorter schedule was checked
                return
            if outcome.both_broke is not None and both_broke is None:
                both_broke = outcome.both_broke
            after = outcome.after
            if after is None:
                continue
            fp = hash(after)
            if fp in seen:
                continue
            if max_states is not None and len(seen) >= max_states:
                stop = "max_states"
                queue.clear()
                break
            seen.add(fp)
            links.append((position, action))
            depths.append(depths[position] + 1)
            queue.append((after, len(links) - 1))
    result.pairs, result.depth = len(seen), max(depths)
    result.complete = not stop
    result.stop_reason = stop or "exhausted"
    if both_broke is not None:
        result.notes.append(f"not a divergence, but worth knowing: {both_broke} (check each "
                            "core with fuzz/explore)")


def _path(links: list[tuple[int, PairAction | None]], position: int) -> tuple[PairAction, ...]:
    actions: list[PairAction] = []
    while position > 0:
        position, action = links[position]
        assert action is not None
        actions.append(action)
    return tuple(reversed(actions))


# ------------------------------------------------------------------------------ random


class _Diverged(Exception):
    def __init__(self, actions: list[PairAction]) -> None:
        super().__init__(f"divergence after {len(actions)} steps")
        self.actions = actions


def run_schedule(lock: Lockstep, actions: Sequence[PairAction]) -> tuple[
        list[PairAction], Outcome | None]:
    """Replay `actions` leniently (as model/shrink.py does: a message action whose exact
    messages are gone is re-aimed at the newest pair of the same kind and route, an action
    still not enabled is skipped) up to the first divergence. Returns the actions really
    taken and the diverging outcome, or None if the cores never diverged."""
    first = lock.initial()
    if first.divergence is not None:
        return [], first
    pair = first.after
    taken: list[PairAction] = []
    for wanted in actions:
        if pair is None:
            break
        options = lock.actions(pair)
        action = wanted if wanted in options else _reaim(wanted, options)
        if action is None:
            continue
        outcome = lock.step(pair, action)
        if outcome.divergence is None and outcome.after is None and \
                outcome.both_broke is None:
            continue  # outside the bounds: skipped, as an action that is not enabled
        taken.append(action)
        if outcome.divergence is not None:
            return taken, outcome
        pair = outcome.after
        if pair is None:  # both cores broke alike: the run ends here
            break
    return taken, None


def _route(action: Action | None) -> tuple[object, ...] | None:
    if isinstance(action, (Deliver, Drop, Duplicate)):
        m = action.message
        return (type(action), m.KIND, m.source, m.dest)
    return None


def _reaim(wanted: PairAction, options: list[PairAction]) -> PairAction | None:
    route = _route(wanted.old) or _route(wanted.new)
    if route is None:
        return None
    similar = [o for o in options if (_route(o.old) or _route(o.new)) == route]
    return similar[-1] if similar else None


def random_search(lock: Lockstep, result: DiffResult, *, seed: int, examples: int,
                  steps: int) -> None:
    """Hypothesis draws schedules (a list of choices, each picking one enabled pair action);
    the first diverging one is shrunk by deleting actions."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis import strategies as st

    from raftcheck.model.fuzz import without_local_constants

    @settings(max_examples=examples, database=None, deadline=None,
              phases=(Phase.generate,), suppress_health_check=list(HealthCheck))
    @given(st.integers(min_value=0, max_value=2**len(_KINDS) - 1),
           st.lists(st.integers(min_value=0, max_value=2**16), min_size=steps, max_size=steps))
    def schedule(swarm: int, choices: list[int]) -> None:
        result.random_runs += 1
        first = lock.initial()
        if first.divergence is not None:
            raise _Diverged([])
        pair = first.after
        taken: list[PairAction] = []
        for choice in choices:
            if pair is None:
                return
            options = lock.actions(pair)
            if not options:
                return
            action = _pick(options, choice, swarm)
            outcome = lock.step(pair, action)
            if outcome.divergence is None and outcome.after is None and \
                    outcome.both_broke is None:
                continue  # outside the bounds (too many messages): not part of the model
            taken.append(action)
            result.random_steps += 1
            if outcome.divergence is not None:
                raise _Diverged(taken)
            pair = outcome.after

    try:
        with without_local_constants():
            hypothesis_seed(seed)(schedule)()
    except _Diverged as found:
        shrunk = shrink_schedule(lock, found.actions)
        _, outcome = run_schedule(lock, shrunk)
        assert outcome is not None and outcome.divergence is not None
        result.divergence = Divergence(tuple(shrunk), outcome.divergence, "random", False,
                                       len(found.actions))


def _kind(action: PairAction) -> str:
    either = action.old if action.old is not None else action.new
    if isinstance(either, Deliver):
        return type(either.message).__name__
    if isinstance(either, (Drop, Duplicate)):
        return "network fault"
    if isinstance(either, (Crash, Restart)):
        return "crash or restart"
    if isinstance(either, (Partition, Heal)):
        return "partition or heal"
    return type(either).__name__


_KINDS = ("AppendEntries", "AppendEntriesResponse", "ElectionTimeout", "Heartbeat",
          "RequestVote", "RequestVoteResponse", "Submit", "Timeout", "crash or restart",
          "network fault", "partition or heal")


def _pick(options: list[PairAction], choice: int, swarm: int = 0) -> PairAction:
    """A kind of action first (each delivered message kind, timeouts, heartbeats, client
    requests, faults), then one of that kind, so that the many drops and duplicates do not
    drown the progress that makes logs diverge (explore's `--bias kind`, the stateful
    machine's grouped rules). Swarm testing (Groce et al., ISSTA 2012): each schedule mutes
    the kinds set in `swarm` while others are enabled, so some schedules, say, never drop a
    message or never let a heartbeat through, which reaches unusual states more often than
    one fixed mix of every kind."""
    enabled = sorted({_kind(option) for option in options})
    kinds = [k for k in enabled if k not in _KINDS or not swarm >> _KINDS.index(k) & 1]
    kinds = kinds or enabled
    kind = kinds[choice % len(kinds)]
    chosen = [option for option in options if _kind(option) == kind]
    return chosen[(choice // len(kinds)) % len(chosen)]


def shrink_schedule(lock: Lockstep, actions: Sequence[PairAction],
                    budget: int = 5000) -> list[PairAction]:
    """The shortest schedule found by deleting chunks of `actions` (halving the chunk size)
    while the cores still diverge."""
    current, outcome = run_schedule(lock, actions)
    if outcome is None:
        return list(actions)

    def attempt(candidate: list[PairAction]) -> list[PairAction] | None:
        taken, found = run_schedule(lock, candidate)
        return None if found is None else list(taken)

    return delete_chunks(list(current), attempt, budget)


# ------------------------------------------------------------------------------ the API


def diff(old: Core, new: Core, *, level: str = "state", config: Config | None = None,
         bounds: Bounds = DIFF_BOUNDS, engine: str = "both", seed: int = 0,
         examples: int = 1000, steps: int = 50, random_bounds: Bounds = RANDOM_BOUNDS,
         max_states: int | None = None, max_seconds: float | None = None) -> DiffResult:
    """Compare two cores at `level`: exhaustively within `bounds`, then (if no divergence
    yet) with `examples` seeded random schedules within `random_bounds`."""
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    config = config or Config()
    if config.timing != "untimed":
        raise UsageError("diff compares cores in the untimed world only")
    started = time.monotonic()
    result = DiffResult(old.name, new.name, level, config, bounds)
    if engine in ("both", "exhaustive"):
        lock = Lockstep(Model(old, config, bounds), Model(new, config, bounds), level)
        exhaustive(lock, result, max_states=max_states, max_seconds=max_seconds)
    if result.divergence is None and engine in ("both", "random"):
        result.seed = seed
        lock = Lockstep(Model(old, config, random_bounds), Model(new, config, random_bounds),
                        level)
        random_search(lock, result, seed=seed, examples=examples, steps=steps)
    result.seconds = time.monotonic() - started
    return result


# ------------------------------------------------------------------------------ reporting


def render(result: DiffResult, old: Core, new: Core) -> str:
    """The report: verdict and figures, then the divergence as a numbered trace of both
    cores side by side (OLD's changes, and NEW's wherever they differ)."""
    lines = [f"raftcheck diff: OLD={result.old} NEW={result.new} --compare {result.level} "
             f"nodes={result.config.cluster_size}"]
    if result.complete is not None:
        state = "complete" if result.complete else f"stopped: {result.stop_reason}"
        lines.append(f"exhaustive: {result.pairs:,} pair states, {result.transitions:,} "
                     f"transitions, depth {result.depth} ({state}); bounds "
                     f"{result.bounds.describe()}")
    if result.seed is not None:
        lines.append(f"random: {result.random_runs:,} schedules, {result.random_steps:,} "
                     f"steps, seed {result.seed}; bounds {RANDOM_BOUNDS.describe()}")
    lines.extend(f"note: {note}" for note in result.notes)
    found = result.divergence
    if found is not None:
        bounds = result.bounds if found.engine == "exhaustive" else RANDOM_BOUNDS
        lock = Lockstep(Model(old, result.config, bounds), Model(new, result.config, bounds),
                        result.level)
        how = ("shortest, by breadth-first search" if found.shortest else
               f"random schedule shrunk from {found.shrunk_from} to {len(found.actions)} "
               "steps")
        lines.append("")
        lines.append(f"First divergence after {len(found.actions)} steps ({how}):")
        lines.extend(render_schedule(lock, found.actions))
        lines.append(f"  ✗ OLD and NEW diverge at step {len(found.actions)} "
                     f"(--compare {result.level}):")
        lines.extend(f"      {line}" for line in found.detail)
    lines.append("")
    verdict = result.verdict
    if verdict == "EQUIVALENT":
        scopes = (["any schedule within the bounds"] if result.complete else []) + (
            [f"{result.random_runs:,} random schedules"] if result.seed is not None else [])
        lines.append(f"EQUIVALENT at --compare {result.level}: no divergence in "
                     f"{', nor in '.join(scopes)}")
    elif verdict == "INCONCLUSIVE":
        lines.append("INCONCLUSIVE: no divergence found, but the exhaustive search stopped "
                     f"({result.stop_reason}); not a proof of equivalence")
    else:
        lines.append(f"DIVERGENT at --compare {result.level}, step {len(found.actions)}"
                     if found else "DIVERGENT")
    return "\n".join(lines)


def render_schedule(lock: Lockstep, actions: Sequence[PairAction]) -> list[str]:
    """One numbered line per pair action; under it the node changes and sends, shared when
    the cores agree, as `OLD ...` and `NEW ...` lines where they do not."""
    lines = ["  0. initial: both cores, followers at term 0, empty logs"]
    pair = lock.initial().after
    for number, action in enumerate(actions, 1):
        lines.append(f"{number:3d}. {action.describe()}")
        if pair is None:
            break
        outcome = lock.step(pair, action)
        after = outcome.after
        if after is None:
            lines.append("       (no state after this step: see below)")
            break
        sides = [_step_lines(pair.old, after.old, action.old),
                 _step_lines(pair.new, after.new, action.new)]
        if sides[0] == sides[1]:
            lines.extend(f"       {line}" for line in sides[0])
        else:
            for label, side in zip(("OLD", "NEW"), sides, strict=True):
                lines.extend(f"       {label} {line}" for line in side or ["(no change)"])
        pair = after
    return lines


def _step_lines(before: World, after: World, action: Action | None) -> list[str]:
    changes = [f"n{i}: " + ", ".join(c) for i in range(len(after.nodes))
               if (c := node_changes(before.nodes[i], after.nodes[i], after.disk[i]))]
    sent = [f"sent {show_message(m)}"
            for m in (sent_messages(before, after, action) if action is not None else [])]
    return changes + sent


def to_json(result: DiffResult) -> dict[str, Any]:
    found = result.divergence
    return {
        "engine": "diff", "old": result.old, "new": result.new, "compare": result.level,
        "verdict": result.verdict.lower(), "exit_code": result.exit_code,
        "nodes": result.config.cluster_size, "bounds": result.bounds.describe(),
        "exhaustive": None if result.complete is None else {
            "complete": result.complete, "stop_reason": result.stop_reason,
            "pair_states": result.pairs, "transitions": result.transitions,
            "depth": result.depth},
        "random": None if result.seed is None else {
            "seed": result.seed, "schedules": result.random_runs,
            "steps": result.random_steps, "bounds": RANDOM_BOUNDS.describe()},
        "seconds": round(result.seconds, 3), "notes": result.notes,
        "divergence": None if found is None else {
            "step": len(found.actions), "engine": found.engine, "shortest": found.shortest,
            "shrunk_from": found.shrunk_from, "detail": list(found.detail),
            "actions": [{"old": repr(a.old), "new": repr(a.new)} for a in found.actions]},
    }


# ------------------------------------------------------------------------------ the CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("old", metavar="OLD",
                        help="the reference core: raft, a bundled core's name, module:object "
                             "or path/to/file.py:object")
    parser.add_argument("new", metavar="NEW", help="the refactored core, likewise")
    parser.add_argument("--compare", choices=LEVELS, default="state",
                        help="state: node state after every step; messages: also every "
                             "message sent; properties: only that both satisfy every "
                             "property (default: %(default)s)")
    parser.add_argument("--engine", choices=ENGINES, default="both",
                        help="exhaustive (BFS within the bounds), random (Hypothesis), or "
                             "both, exhaustive first (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the random schedules (default: %(default)s)")
    parser.add_argument("--examples", type=count, default=1000,
                        help="random schedules to try (default: %(default)s)")
    parser.add_argument("--steps", type=count, default=50,
                        help="longest random schedule (default: %(default)s)")
    parser.add_argument("--max-states", type=count, default=None,
                        help="stop the exhaustive search after this many pair states "
                             "(inconclusive)")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="stop the exhaustive search after this long (inconclusive)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary only")
    from raftcheck.model.tracefile import add_save_arguments

    add_save_arguments(parser)
    d = DIFF_BOUNDS
    world = parser.add_argument_group("exhaustive bounds (random schedules use the fuzz "
                                      "engine's)")
    world.add_argument("--nodes", type=int, default=3,
                       help="cluster size, for both engines (default: %(default)s)")
    world.add_argument("--max-term", type=count, default=d.max_term,
                       help="no election timeout past this term (default: %(default)s)")
    world.add_argument("--max-log", type=count, default=d.max_log,
                       help="longest log a leader grows (default: %(default)s)")
    world.add_argument("--values", type=count, default=d.values,
                       help="distinct command values (default: %(default)s)")
    world.add_argument("--max-messages", type=count, default=d.max_messages,
                       help="messages in flight on either side (default: %(default)s)")
    world.add_argument("--max-crashes", type=optional_count, default=d.max_crashes,
                       help="crashes, or 'none' (default: %(default)s)")
    world.add_argument("--max-partitions", type=optional_count, default=d.max_partitions,
                       help="partitions, or 'none' (default: %(default)s)")
    world.add_argument("--drop", action=argparse.BooleanOptionalAction, default=d.drop,
                       help="messages may be lost (default: %(default)s)")
    world.add_argument("--duplicate", action=argparse.BooleanOptionalAction,
                       default=d.duplicate,
                       help="messages may be duplicated (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    from raftcheck.model.cli import UsageError as CliUsageError

    try:
        old, new = load_core(args.old), load_core(args.new)
        config = Config(cluster_size=args.nodes)
        bounds = Bounds(max_term=args.max_term, max_log=args.max_log, values=args.values,
                        max_messages=args.max_messages, max_crashes=args.max_crashes,
                        max_partitions=args.max_partitions, drop=args.drop,
                        duplicate=args.duplicate)
        if args.steps < 1 or (args.engine != "exhaustive" and args.examples < 1):
            raise UsageError("--steps and --examples must be at least 1")
        if args.max_seconds is not None and args.max_seconds <= 0:
            raise UsageError("--max-seconds must be positive")
        result = diff(old, new, level=args.compare, config=config, bounds=bounds,
                      engine=args.engine, seed=args.seed, examples=args.examples,
                      steps=args.steps, max_states=args.max_states,
                      max_seconds=args.max_seconds)
    except (CoreLoadError, ValueError) as error:  # UsageError is a ValueError
        raise CliUsageError(str(error)) from None
    saved = save_divergence(args, result, old, new)
    if args.json:
        summary = to_json(result)
        summary["saved"] = None if saved is None else str(saved)
        print(json.dumps(summary, indent=2))
    else:
        print(render(result, old, new))
        if saved is not None:
            print(f"saved: {saved} (NEW's side of the schedule; `raftcheck replay` runs it)")
    return result.exit_code


def save_divergence(args: argparse.Namespace, result: DiffResult, old: Core,
                    new: Core) -> Path | None:
    """Save the divergence as a trace file (model/tracefile.py) of the NEW core's side of the
    schedule: its violation when it is NEW that breaks a property, else none (the cores
    differ, but NEW alone may be correct), with the comparison in `metadata["diff"]`."""
    from raftcheck.model.tracefile import record, save_from_args

    found = result.divergence
    if found is None:
        return None
    bounds = result.bounds if found.engine == "exhaustive" else RANDOM_BOUNDS
    model = Model(new, result.config, bounds)
    actions = [a.new for a in found.actions if a.new is not None]
    violation = None
    if result.level == "properties" and found.detail[0].startswith("NEW violates"):
        from raftcheck.model.shrink import first_violation

        outcome = first_violation(model, actions)
        violation = None if outcome is None else outcome.violation
    if any(line.startswith("NEW fails") for line in found.detail):
        violation = None  # the failing step is NEW's last action; replay reports it
    saved, error = save_from_args(args, record(
        model, engine="diff", core_spec=args.new, seed=result.seed, actions=actions,
        violation=violation, metadata={"diff": {
            "old": args.old, "new": args.new, "compare": result.level,
            "found_by": found.engine, "detail": list(found.detail),
            "old_actions": [repr(a.old) for a in found.actions]}}))
    if error is not None:
        print(f"raftcheck diff: warning: divergence not saved: {error}", file=sys.stderr)
    return saved
