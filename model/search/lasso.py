"""The exhaustive liveness check of the untimed world: fair cycles (lassos) on which a
progress property never holds.

The untimed world has no clock, so "eventually" cannot be a deadline. It is a cycle instead:
a behaviour that reaches a state and then goes round a cycle for ever, never making
progress, although the world does everything a good period promises. A `fair` property
(properties/progress.py) gives a *stuck* predicate with a witness (the stable leader, and
the follower that lags); the search looks for a lasso, a prefix from the initial state and a
cycle, such that

* the cycle stays in the *stable world*: every server up, no partition, and its steps are
  only the *fair actions*, deliveries of a message in flight and a leader's heartbeat (no
  election timeout, client request, crash, partition, drop or duplication);
* the property is stuck in every state of the cycle, with the same witness;
* the cycle is *weakly fair*: every fair action (a delivery of one message, by value; one
  node's heartbeat) that is enabled in every state of the cycle is taken on it.

Search. A breadth-first search of the whole bounded state graph (reduced under node
relabelling with `symmetry`, like `raftcheck explore`) keeps a parent link per state and the
stable states where some fair property is stuck. A real cycle goes through classes that form
a cycle of the graph of classes, so only the classes on one are kept, and expanded to every
relabelling (the reachable set of a symmetric model is closed under relabelling): the stable
subgraph is searched on real states, where a node keeps its identity round the cycle and an
action its value. For each property, the strongly connected components (iterative
Tarjan) of the stuck stable subgraph whose edges keep the witness are the candidates; under
weak fairness a component holds a fair cycle exactly when every fair action is taken on one
of its edges or disabled in one of its states (a cycle through all its states and those
edges is then fair). A fair action that the core's guard allows but whose result falls
outside the bounds (`bounded_next` returns None) leaves the bounded space, hence the
component: it counts as enabled and never taken.

Soundness: a reported lasso is a lasso of the unbounded system. Its states are real,
reachable states; its steps are enabled there (inside the bounds, hence also without them);
and every fair action enabled throughout its cycle is taken on it, with actions cut by a
bound counted as enabled. So it is a weakly fair behaviour that never makes progress,
whatever the bounds. The bounds make the check incomplete only: a lasso that needs more
messages, terms or entries than they allow is not found. A clean result promises exactly
that the whole bounded graph was searched.

The counterexample: the shortest prefix (BFS) to a state of a fair component, then a cycle
from that state back to it inside the component that takes every fair action the fairness
argument needs. `check_lasso` re-checks a lasso from its actions alone (replay uses it).
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Iterable, Sequence
from itertools import permutations
from typing import Any

from attrs import define, evolve, frozen

from raftcheck.model.fingerprint import decode
from raftcheck.model.search.common import Interrupt, Limits, Progress, replay_indices, steps
from raftcheck.model.symmetry import exact_fingerprint, relabel
from raftcheck.model.verdict import Exit, UsageError, Verdict
from raftcheck.model.world import Action, Bounds, Config, Deliver, Heartbeat, Model, World
from raftcheck.properties import StateProperty, Violation

FAIR_ACTIONS = (Deliver, Heartbeat)  # what the stable world does, and must keep doing

Witness = tuple[tuple[int, ...], int | None]


def stable(world: World) -> bool:
    """Every server up and no partition: the world in which progress is owed."""
    return not world.isolated and all(node is not None for node in world.nodes)


def fair_actions(model: Model, state: World) -> list[tuple[Action, World | None]]:
    """Each fair action whose guard holds in `state`, with the state it leads to, or None
    when that is outside the bounds (enabled, but never taken inside the bounded space)."""
    return [(action, model.bounded_next(state, action))
            for action in model.candidate_actions(state) if isinstance(action, FAIR_ACTIONS)]


def witness(stuck: Violation) -> Witness:
    """What must stay the same round a cycle: the nodes a stuck predicate names (the
    leader, the follower) and the term."""
    return stuck.nodes, stuck.term


def unfair(enabled: Iterable[frozenset[Any]], taken: set[Any]) -> frozenset[Any]:
    """The fair actions enabled in every one of the `enabled` sets and never `taken`: what
    makes a cycle (or a component) unfair; empty when it is fair."""
    always: frozenset[Any] | None = None
    for actions in enabled:
        always = actions if always is None else always & actions
    return frozenset() if always is None else always - taken


def lasso_violation(stuck: Violation, cycle: int) -> Violation:
    """The violation a lasso reports: the stuck witness, said to hold round the cycle."""
    return evolve(stuck, detail=(
        f"{stuck.detail}, in every state of a fair cycle of {cycle} step"
        f"{'' if cycle == 1 else 's'} that repeats for ever (every message delivered, "
        "heartbeats firing, no timeout or fault)"))


def check_lasso(model: Model, actions: Sequence[Action], loop: int,
                wanted: str | None = None) -> tuple[Violation | None, str]:
    """Whether `actions`, whose cycle starts after `loop` steps, is a non-progress lasso of
    `model` (every step must apply; raises ModelError otherwise): (its violation, "") for
    the first fair property the model carries (or `wanted`) that is stuck round it, or
    (None, why not)."""
    if not 0 <= loop < len(actions):
        return None, f"the cycle must start before the last step (loop={loop})"
    states = model.run(list(actions))
    cycle_states, cycle = states[loop:-1], actions[loop:]
    if states[-1] != states[loop]:
        return None, f"the cycle does not return to the state after step {loop}"
    for number, action in enumerate(cycle, loop + 1):
        if not isinstance(action, FAIR_ACTIONS):
            return None, f"step {number} is not a delivery or a heartbeat"
    if not all(stable(state) for state in cycle_states):
        return None, "a server is down or partitioned on the cycle"
    missing = unfair((frozenset(action for action, _ in fair_actions(model, state))
                      for state in cycle_states), set(cycle))
    if missing:
        return None, (f"the cycle is unfair: {len(missing)} action(s) enabled throughout "
                      "and never taken")
    for name, stuck in model.properties.fair:
        if wanted is not None and name != wanted:
            continue
        seen = [stuck(state) for state in cycle_states]
        first = seen[0]
        if first is not None and all(v is not None and witness(v) == witness(first)
                                     for v in seen):
            return lasso_violation(first, len(cycle)), ""
    return None, "no progress property is stuck in every state of the cycle"


# ------------------------------------------------------------------------------ results


@frozen
class Lasso:
    """A counterexample: `prefix` from the initial state, then `cycle`, which returns to
    the state after the prefix and repeats for ever."""

    violation: Violation
    prefix: tuple[Action, ...]
    cycle: tuple[Action, ...]

    @property
    def actions(self) -> tuple[Action, ...]:
        return self.prefix + self.cycle

    @property
    def loop(self) -> int:
        return len(self.prefix)

    @property
    def property(self) -> str:
        return self.violation.property


@define
class LassoResult:
    """What the lasso search found and how far it got. `complete`: every state within the
    bounds was reached and every stuck stable component examined."""

    complete: bool
    stop_reason: str  # exhausted | max_seconds | max_states | interrupted
    lassos: tuple[Lasso, ...]
    properties: tuple[str, ...]  # the fair properties checked
    distinct: int  # states reached by the BFS (classes under relabelling with symmetry)
    stuck: int  # stuck stable states on a cycle of classes, every relabelling: those searched
    edges: int  # fair steps among them
    components: int  # strongly connected components with a cycle, over every property
    excused: int  # of which unfair (some action enabled throughout, never taken)
    seconds: float
    bounds: Bounds
    config: Config
    core: str
    symmetry: bool

    @property
    def verdict(self) -> Verdict:
        if self.lassos:
            return Verdict.VIOLATION
        return Verdict.PASS if self.complete else Verdict.INCOMPLETE

    @property
    def exit_code(self) -> Exit:
        return self.verdict.exit_code

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value, "exit_code": int(self.exit_code),
            "complete": self.complete, "stop_reason": self.stop_reason,
            "properties": list(self.properties), "distinct": self.distinct,
            "stuck_stable_states": self.stuck, "fair_steps": self.edges,
            "components": self.components, "unfair_components": self.excused,
            "seconds": round(self.seconds, 3), "symmetry": self.symmetry,
            "bounds": self.bounds.describe(),
            "lassos": [{"property": found.property, "detail": found.violation.detail,
                        "prefix": len(found.prefix), "cycle": len(found.cycle),
                        "actions": [repr(action) for action in found.actions],
                        "loop": found.loop} for found in self.lassos],
        }


def format_lasso_result(result: LassoResult, model: Model | None = None) -> str:
    """The human report of a lasso search: what was covered, the verdict, each lasso."""
    from raftcheck.model.trace import render_trace, replayable

    names = ", ".join(result.properties)
    lines = [f"raftcheck explore --liveness: fair cycles for {names} (stable world: every "
             "server up, no partition; deliveries and heartbeats only; weak fairness)"]
    verdict = result.verdict.value
    if result.verdict is Verdict.PASS:
        verdict += (" (complete: no fair non-progress cycle among every state reachable "
                    f"within the bounds: {result.bounds.describe()})")
    elif result.verdict is Verdict.INCOMPLETE:
        verdict += f" (stopped: {result.stop_reason}; not a pass)"
    lines.append(f"liveness: {verdict}")
    lines.append(
        f"lasso search: {result.distinct:,} states reached"
        f"{' (up to relabelling)' if result.symmetry else ''}, {result.stuck:,} stuck "
        f"stable states that may lie on a cycle, {result.edges:,} fair steps among them, "
        f"{result.components:,} components with a cycle ({result.excused:,} unfair, "
        f"excused), {result.seconds:.1f} s")
    for found in result.lassos:
        lines.append("")
        if model is not None:
            lines.append(render_trace(model, list(found.actions), found.violation,
                                      title="Counterexample (lasso)", loop=found.loop))
            lines.append("")
            lines.append(f"Replay with check_lasso(model, actions, loop={found.loop}):")
            lines.append(replayable(list(found.actions)))
        else:
            lines.append(f"Lasso: {len(found.prefix)} + {len(found.cycle)} steps, "
                         f"{found.violation}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ the search


class _Stopped(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def lasso_search(model: Model, *, symmetry: bool = True, max_seconds: float | None = None,
                 max_states: int | None = None, progress: bool = False) -> LassoResult:
    """Search `model` (untimed, carrying fair properties) for non-progress lassos; one per
    property, each with a shortest prefix. See the module docstring."""
    if model.config.timing != "untimed":
        raise UsageError("the lasso search is for the untimed world")
    limits = Limits(max_states, max_seconds)
    names = tuple(name for name, _ in model.properties.fair)
    with Interrupt() as interrupt, Progress(progress, f"lasso {model.name}") as bar:
        search = _Search(model, model.symmetric(symmetry), limits, interrupt, bar)
        try:
            lassos = search.run()
            complete, reason = True, "exhausted"
        except _Stopped as stopped:
            lassos, complete, reason = [], False, stopped.reason
    return LassoResult(complete, reason, tuple(lassos), names, search.distinct,
                       len(search.encodings), search.edge_count, search.components,
                       search.excused, limits.elapsed, model.bounds, model.config,
                       model.name, model.symmetric(symmetry))


class _Search:
    def __init__(self, model: Model, symmetric: bool, limits: Limits, interrupt: Interrupt,
                 bar: Progress) -> None:
        self.model = model
        self.symmetric = symmetric
        self.limits = limits
        self.interrupt = interrupt
        self.bar = bar
        self.stuck: tuple[tuple[str, StateProperty], ...] = model.properties.fair
        self.distinct = 0
        # the BFS: parent position and candidate-action number per state, in BFS order
        self.parents = array("q")
        self.moves = array("l")
        self.index: dict[int, int] = {}
        self.found_at: list[int] = []  # BFS position of each stuck stable state found
        # the stuck stable states, every relabelling: encoding, BFS position of its class,
        # witness per property (None: not stuck)
        self.encodings: list[Any] = []
        self.origin = array("q")
        self.witnesses: list[list[Witness | None]] = [[] for _ in self.stuck]
        self.concrete: dict[int, int] = {}
        self.enabled: list[frozenset[int]] = []
        self.edges: list[list[tuple[int, int]]] = []
        self.edge_count = 0
        self.actions: dict[Action, int] = {}
        self.components = 0
        self.excused = 0

    def poll(self, depth: int, queue: int) -> None:
        if self.interrupt.requested:
            raise _Stopped("interrupted")
        if self.limits.out_of_time():
            raise _Stopped("max_seconds")
        self.bar.update(distinct=self.distinct, generated=len(self.encodings), depth=depth,
                        queue=queue, seconds=self.limits.elapsed)

    # -- 1. every reachable state (up to relabelling), parents kept for the prefix
    def reach(self) -> list[tuple[int, Any]]:
        model = self.model
        fingerprint = model.fingerprinter(self.symmetric)
        initial = model.initial_state()
        self.index[fingerprint(initial)] = 0
        self.parents.append(-1)
        self.moves.append(-1)
        queue: deque[tuple[int, int, World]] = deque([(0, 0, initial)])
        found: list[tuple[int, Any]] = []
        while queue:
            position, depth, state = queue.popleft()
            if position % 1000 == 0:
                self.poll(depth, len(queue))
            if stable(state) and any(stuck(state) is not None for _, stuck in self.stuck):
                found.append((position, model.encode(state)))
            for number, _, after, fault in steps(model, state):
                if fault is not None:  # a core fault is explore's finding, not a cycle
                    continue
                fp = fingerprint(after)
                if fp in self.index:
                    continue
                if self.limits.max_states is not None and \
                        len(self.parents) >= self.limits.max_states:
                    raise _Stopped("max_states")
                self.index[fp] = len(self.parents)
                self.parents.append(position)
                self.moves.append(number)
                queue.append((len(self.parents) - 1, depth + 1, after))
        self.distinct = len(self.parents)
        return found

    # -- 2. the stuck stable states on a cycle of classes, every relabelling, and the fair
    # steps among them
    def on_cycles(self, found: list[tuple[int, Any]]) -> list[tuple[int, Any]]:
        """The states of `found` whose class lies on a cycle of the graph of classes (a
        real cycle goes through classes that form one), for some property; only those can
        be on a real cycle, so only those are expanded to every relabelling."""
        if not self.symmetric:
            return found
        fingerprint = self.model.fingerprinter(True)
        where = {fingerprint(decode(encoded)): k for k, (_, encoded) in enumerate(found)}
        graphs: list[list[list[int]]] = [[[] for _ in found] for _ in self.stuck]
        for k, (_, encoded) in enumerate(found):
            if k % 1000 == 0:
                self.poll(0, len(found) - k)
            state = decode(encoded)
            keys = [stuck(state) for _, stuck in self.stuck]
            for _, after in fair_actions(self.model, state):
                j = None if after is None else where.get(fingerprint(after))
                if j is None or after is None:
                    continue
                for slot, (_, stuck) in enumerate(self.stuck):
                    key = keys[slot]
                    seen = None if key is None else stuck(after)
                    if key is not None and seen is not None and witness(seen) == witness(key):
                        graphs[slot][k].append(j)
        keep: set[int] = set()
        for graph in graphs:
            component = _tarjan(range(len(found)), graph.__getitem__)
            sizes: dict[int, int] = {}
            for k in range(len(found)):
                sizes[component[k]] = sizes.get(component[k], 0) + 1
            keep.update(k for k in range(len(found))
                        if sizes[component[k]] > 1 or k in graph[k])
        return [found[k] for k in sorted(keep)]

    def expand(self, found: list[tuple[int, Any]]) -> None:
        n = self.model.config.cluster_size
        orders = list(permutations(range(n))) if self.symmetric else [tuple(range(n))]
        for count, (position, encoded) in enumerate(found):
            if count % 1000 == 0:
                self.poll(0, len(found) - count)
            world = decode(encoded)
            for order in orders:
                state = world if order == orders[0] else relabel(world, order)
                fp = exact_fingerprint(state)
                if fp in self.concrete:
                    continue
                self.concrete[fp] = len(self.encodings)
                self.encodings.append(self.model.encode(state))
                self.origin.append(position)
                for slot, (_, stuck) in enumerate(self.stuck):
                    violation = stuck(state)
                    self.witnesses[slot].append(None if violation is None
                                                else witness(violation))
        for number, encoded in enumerate(self.encodings):
            if number % 1000 == 0:
                self.poll(0, len(self.encodings) - number)
            enabled, edges = [], []
            for action, after in fair_actions(self.model, decode(encoded)):
                aid = self.actions.setdefault(action, len(self.actions))
                enabled.append(aid)
                if after is not None:
                    target = self.concrete.get(exact_fingerprint(after))
                    if target is not None:
                        edges.append((aid, target))
            self.enabled.append(frozenset(enabled))
            self.edges.append(edges)
            self.edge_count += len(edges)

    def run(self) -> list[Lasso]:
        self.expand(self.on_cycles(self.reach()))
        names = [action for action, _ in sorted(self.actions.items(), key=lambda kv: kv[1])]
        lassos = []
        for slot in range(len(self.stuck)):
            self.poll(0, 0)
            found = self.lasso(slot, names)
            if found is not None:
                lassos.append(found)
        return lassos

    # -- 3. per property: components, fairness, the shortest lasso
    def successors(self, slot: int, u: int) -> list[tuple[int, int]]:
        keys = self.witnesses[slot]
        return [(aid, v) for aid, v in self.edges[u] if keys[v] == keys[u]]

    def lasso(self, slot: int, names: list[Action]) -> Lasso | None:
        keys = self.witnesses[slot]
        nodes = [u for u in range(len(self.encodings)) if keys[u] is not None]
        component = _tarjan(nodes, lambda u: [v for _, v in self.successors(slot, u)])
        members: dict[int, list[int]] = {}
        for u in nodes:
            members.setdefault(component[u], []).append(u)
        fair: set[int] = set()
        for cid, states in members.items():
            inside = [(aid, v) for u in states for aid, v in self.successors(slot, u)
                      if component[v] == cid]
            if not inside:
                continue  # a single state without a self-loop: no cycle
            self.components += 1
            if unfair((self.enabled[u] for u in states), {aid for aid, _ in inside}):
                self.excused += 1
            else:
                fair.add(cid)
        if not fair:
            return None
        # the candidates, shallowest class first; the prefix ends in a relabelling of the
        # candidate, whose own component is fair too by symmetry (checked, not assumed)
        candidates = sorted({self.origin[u] for u in nodes if component[u] in fair})
        for position in candidates:
            path = []
            while position > 0:
                path.append(self.moves[position])
                position = self.parents[position]
            prefix = replay_indices(self.model, path[::-1])
            end = self.model.run(prefix)[-1]
            start = self.concrete.get(exact_fingerprint(end))
            if start is None or component[start] not in fair:
                continue
            cycle = self.cycle(slot, start, component, names)
            found, why = check_lasso(self.model, [*prefix, *cycle], len(prefix),
                                     self.stuck[slot][0])
            assert found is not None, f"a lasso the search built does not check: {why}"
            return Lasso(found, tuple(prefix), tuple(cycle))
        return None

    def cycle(self, slot: int, start: int, component: dict[int, int],
              names: list[Action]) -> list[Action]:
        """A cycle from `start` back to it inside its component that leaves no fair action
        enabled throughout and never taken: walk to the nearest edge taking, or state
        disabling, a pending action, until none is pending; then walk home."""
        cid = component[start]
        taken: list[int] = []
        here = start
        always = set(self.enabled[start])
        while True:
            pending = always - set(taken)
            if not pending and taken and here == start:
                return [names[aid] for aid in taken]

            def goal(u: int, aid: int | None, pending: set[int] = pending) -> bool:
                if aid is None:  # reaching a state that disables a pending action
                    return bool(pending - self.enabled[u]) or (not pending and u == start)
                return aid in pending

            walk = self.walk(slot, here, cid, component, goal)
            for aid, v in walk:
                taken.append(aid)
                always &= self.enabled[v]
                here = v

    def walk(self, slot: int, source: int, cid: int, component: dict[int, int],
             goal: Any) -> list[tuple[int, int]]:
        """The shortest walk inside component `cid` from `source` whose last edge takes a
        goal action or whose last state is a goal state (at least one step)."""
        back: dict[int, tuple[int, tuple[int, int]]] = {}
        queue = deque([source])
        seen = {source}
        while queue:
            u = queue.popleft()
            for aid, v in self.successors(slot, u):
                if component.get(v) != cid:
                    continue
                if goal(v, aid) or goal(v, None):
                    walked = [(aid, v)]
                    while u != source:
                        u, edge = back[u]
                        walked.append(edge)
                    return walked[::-1]
                if v not in seen:
                    seen.add(v)
                    back[v] = (u, (aid, v))
                    queue.append(v)
        raise AssertionError("a strongly connected component has no walk to its goal")


def _tarjan(nodes: Sequence[int], successors: Any) -> dict[int, int]:
    """Strongly connected components (Tarjan's algorithm, iterative): node -> component."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    component: dict[int, int] = {}
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(successors(root)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            u, children = work[-1]
            advanced = False
            for v in children:
                if v not in index:
                    index[v] = low[v] = counter
                    counter += 1
                    stack.append(v)
                    on_stack.add(v)
                    work.append((v, iter(successors(v))))
                    advanced = True
                    break
                if v in on_stack:
                    low[u] = min(low[u], index[v])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[u])
            if low[u] == index[u]:
                cid = u
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component[w] = cid
                    if w == u:
                        break
    return component
