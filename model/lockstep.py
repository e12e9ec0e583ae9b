"""Two cores in lockstep: a model (`model.seam.Model`) whose one property is "no divergence".

Both cores are driven by the *same* schedule and compared after every step at a chosen level:

* `state`: every node's state (the `Node` value: role, Figure 2's persistent and volatile
  fields, candidate and leader state) and what it persisted are equal;
* `messages`: the state, and every message each step sent, are equal;
* `properties`: only that both satisfy every property: a divergence is a step after which one
  core violates a property (or fails) and the other does not. For refactors that legitimately
  change messages, such as faster log backtracking.

Each core lives in its own `World`; actions on nodes (timeouts, client requests, crashes,
partitions) are applied to both. Messages are matched up when sent: the messages a step sends
on each side are grouped by (kind, source, destination), sorted, and paired in order; a message
with no counterpart is paired with nothing. The network of the pair is the bag of these pairs
(links), and delivering (dropping, duplicating) a link delivers each side's message to its own
core. So the cores see the same schedule even when their messages differ in content, which is
what lets `--compare properties` follow a refactor whose messages changed. An action enabled on
one side only (possible once the states differ) is applied to that side.

Because the pair is a `Model`, every engine runs on it as on a single core: the Hypothesis
machine with its swarm, cascades and workers, the action-level shrinker, and breadth-first
search (`raftcheck diff`). A divergence is reported as a `Violation` of `NO_DIVERGENCE`.
"""

from __future__ import annotations

import marshal
from collections.abc import Callable, Iterator, Sequence
from itertools import zip_longest
from typing import Any

from attrs import frozen

from raftcheck.impl.types import Message, Node, Persistent, message_key
from raftcheck.model.fingerprint import (
    MARSHAL_VERSION,
    decode,
    decode_message,
    digest_bytes,
    encode,
    encode_message,
)
from raftcheck.model.seam import added, run_of, successor_of, successors_of
from raftcheck.model.symmetry import state_bytes
from raftcheck.model.trace import node_changes, sent_messages, show_action, show_log, show_message
from raftcheck.model.verdict import UsageError
from raftcheck.model.world import (
    Action,
    Bounds,
    Config,
    CoreFault,
    Deliver,
    Drop,
    Duplicate,
    Model,
    World,
)
from raftcheck.properties import Violation

LEVELS = ("state", "messages", "properties")
NO_DIVERGENCE = "No Divergence"  # the lockstep model's one property
WHY = ("the refactored core behaves differently from the one it replaces on this schedule, "
       "at the level compared")

Link = tuple["Message | None", "Message | None"]


@frozen
class Pair:
    """The two worlds after the same actions, and the bag of matched in-flight messages
    (sorted, so equal pairs are equal values)."""

    old: World
    new: World
    links: tuple[Link, ...]
    # How the cores diverged on the step into this pair (None: they agree). A diverged pair
    # ends the schedule: it is the counterexample's last state.
    divergence: tuple[str, ...] | None = None


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
            return self._judge(pair, self.old.check_initial(old), self.new.check_initial(new))
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
            v_old = (self.old.check_step(pair.old, action.old, old)
                     if action.old is not None else None)
            v_new = (self.new.check_step(pair.new, action.new, new)
                     if action.new is not None else None)
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


    # -------------------------------------------------------------- the seam (model.seam)

    @property
    def bounds(self) -> Bounds:
        return self.old.bounds

    @property
    def cluster_size(self) -> int:
        return self.old.cluster_size

    @property
    def goal_names(self) -> tuple[str, ...]:
        return self.old.goal_names

    @property
    def ruled_out_goals(self) -> tuple[str, ...]:
        return self.old.ruled_out_goals

    @property
    def name(self) -> str:
        return f"{self.old.core.name} vs {self.new.core.name}"

    def with_bounds(self, bounds: Bounds) -> Lockstep:
        return Lockstep(self.old.with_bounds(bounds), self.new.with_bounds(bounds), self.level)

    def initial_state(self) -> Pair:
        """The initial pair; when the cores already differ there, a pair that carries the
        divergence. Both cores failing alike is not a divergence, and leaves nothing to
        explore: `CoreFault` (NEW's)."""
        outcome = self.initial()
        if outcome.after is not None:
            return outcome.after if outcome.divergence is None else \
                _diverged(outcome.after, outcome.divergence)
        if outcome.divergence is not None:  # one core failed to start
            worlds = [model.initial_state() for model in (self.old, self.new)
                      if _starts(model)]
            return Pair(worlds[0], worlds[0], (), outcome.divergence)
        self.new.initial_state()  # both failed: raise NEW's fault
        raise AssertionError("unreachable: both cores failed to start")

    def candidate_actions(self, state: Pair) -> Iterator[PairAction]:
        return iter(() if state.divergence is not None else self.actions(state))

    def bounded_next(self, state: Pair, action: PairAction) -> Pair | None:
        """The next pair; None outside the bounds, or when both cores broke alike (that ends
        the schedule without a divergence)."""
        outcome = self.step(state, action)
        if outcome.divergence is not None:
            return _diverged(outcome.after or state, outcome.divergence)
        return outcome.after

    def successor(self, state: Pair, action: PairAction) -> Pair | None:
        return successor_of(self, state, action)

    def kind_of(self, action: PairAction) -> object:
        return self.old.kind_of(_side(action))

    def election_of(self, action: PairAction) -> int | None:
        return self.old.election_of(_side(action))

    def sent(self, before: Pair, after: Pair) -> tuple[Link, ...]:
        return added(before.links, after.links)

    def delivery(self, state: Pair, message: Link) -> PairAction | None:
        """Deliver each side's message of the link, where that side can take it."""
        if message not in state.links:
            return None
        sides = [None if m is None else model.delivery(world, m) for m, model, world in
                 ((message[0], self.old, state.old), (message[1], self.new, state.new))]
        return None if sides == [None, None] else PairAction(sides[0], sides[1])

    def duplication(self, state: Pair, message: Link) -> PairAction | None:
        if not self.bounds.duplicate or message not in state.links:
            return None
        old, new = message
        return PairAction(None if old is None else Duplicate(old),
                          None if new is None else Duplicate(new))

    def reaim(self, state: Pair, action: PairAction) -> PairAction | None:
        return _reaim(action, self.actions(state))

    def check_initial(self, state: Pair) -> Violation | None:
        return _violation(state)

    def check_step(self, before: Pair, action: PairAction, after: Pair) -> Violation | None:
        return _violation(after)

    def goals_reached(self, state: Pair) -> frozenset[str]:
        return self.old.goals_reached(state.old)

    @property
    def config(self) -> Config:
        return self.old.config

    @property
    def transition_names(self) -> frozenset[str]:
        return frozenset({NO_DIVERGENCE})

    def successors(self, state: Pair) -> Iterator[tuple[PairAction, Pair]]:
        return successors_of(self, state)

    def run(self, actions: list[PairAction]) -> list[Pair]:
        return run_of(self, actions)

    def check_known(self, before: Pair, action: PairAction, after: Pair) -> Violation | None:
        return _violation(after)

    def symmetric(self, symmetry: bool) -> bool:
        return False  # two cores' worlds side by side: no reduction under relabelling

    def fingerprinter(self, symmetry: bool) -> Callable[[Pair], int]:
        return lambda pair: digest_bytes(self.state_bytes(pair, False))

    def state_bytes(self, state: Pair, reduce: bool) -> bytes:
        return (state_bytes(state.old, reduce=False) + state_bytes(state.new, reduce=False)
                + marshal.dumps((self._links(state.links), state.divergence), MARSHAL_VERSION))

    def encode(self, state: Pair) -> Any:
        return (encode(state.old), encode(state.new), self._links(state.links),
                state.divergence)

    def decode(self, data: Any) -> Pair:
        old, new, links, divergence = data
        return Pair(decode(old), decode(new),
                    tuple((None if a is None else decode_message(a),
                           None if b is None else decode_message(b)) for a, b in links),
                    divergence)

    def identity(self) -> list[object]:
        return ["lockstep", self.level, *self.old.identity(), self.new.core.name]

    @staticmethod
    def _links(links: tuple[Link, ...]) -> tuple[Any, ...]:
        return tuple((None if a is None else encode_message(a),
                      None if b is None else encode_message(b)) for a, b in links)

    def render(self, actions: Sequence[PairAction], violation: Violation | None,
               title: str) -> str:
        lines = [f"{title}: OLD={self.old.core.name} NEW={self.new.core.name} "
                 f"--compare {self.level} nodes={self.cluster_size} "
                 f"bounds: {self.bounds.describe()}", *render_schedule(self, actions)]
        if violation is not None:
            lines.append(f"  ✗ OLD and NEW diverge at step {len(actions)} "
                         f"(--compare {self.level}):")
            lines.extend(f"      {line}" for line in violation.detail.split("\n"))
        return "\n".join(lines)

    def snippet(self, actions: Sequence[PairAction]) -> str:
        body = "".join(f"    {action!r},\n" for action in actions)
        return f"The schedule (OLD's and NEW's action at each step):\nschedule = [\n{body}]"


def _side(action: PairAction) -> Action:
    """The action that names a pair action's kind: OLD's, or NEW's when OLD sits it out."""
    side = action.old if action.old is not None else action.new
    assert side is not None, "a pair action acts on at least one side"
    return side


def _starts(model: Model) -> bool:
    try:
        model.initial_state()
    except CoreFault:
        return False
    return True


def _diverged(pair: Pair, lines: tuple[str, ...]) -> Pair:
    return Pair(pair.old, pair.new, pair.links, lines)


def _violation(pair: Pair) -> Violation | None:
    if pair.divergence is None:
        return None
    return Violation(NO_DIVERGENCE, "\n".join(pair.divergence), WHY)


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


