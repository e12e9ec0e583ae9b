"""The z3 twin is the Python world: on states the enumerator reaches and on states z3
generates under the invariant, (1) every Python transition satisfies the z3 formula of its
action and (2) the two successor sets are equal (projected on the encoded variables). A slip
injected on either side must be caught. Reference: docs/prove.md, "Faithfulness"."""

from __future__ import annotations

import pytest
import z3
from attrs import evolve

from raftcheck.impl.broken import BROKEN_CORES
from raftcheck.impl.raft import CORE
from raftcheck.model.prove.encoding import (
    AE,
    RULES,
    Core,
    Encoding,
    Msg,
    NodeV,
    Sends,
    Sizes,
    State,
    fresh_state,
)
from raftcheck.model.prove.faithful import (
    action_kind,
    as_written,
    compare_successors,
    python_model,
    reachable,
    transition_in_relation,
    walks,
    where_rules_differ,
)
from raftcheck.model.prove.invariant import invariant
from raftcheck.model.prove.worlds import project, read, read_history, to_world
from raftcheck.model.world import World

SIZES = Sizes(nodes=3, max_term=2, max_log=2, slots=3)


@pytest.fixture(scope="module")
def encoding() -> Encoding:
    return Encoding(SIZES)


def _reached(core: object, bfs: int, walk_count: int) -> list[World]:
    """A spread of reachable states: a BFS prefix (elections, first messages) and states
    along seeded random walks (commits, truncations, crashes and restarts)."""
    model = python_model(core, SIZES)  # type: ignore[arg-type]
    states = list(reachable(model, bfs))[::bfs // 40]
    states += list(walks(model, seed=7, count=walk_count, depth=40))[::8]
    return states


@pytest.fixture(scope="module")
def reached() -> list[World]:
    return _reached(CORE, 2000, 20)


def test_reached_states_cover_the_interesting_parts(reached: list[World]) -> None:
    """The sample must contain leaders, non-empty logs, commits and down nodes, or the
    comparison below would check little."""
    nodes = [n for w in reached for n in w.nodes if n is not None]
    assert any(n.role == 2 for n in nodes)
    assert any(n.log for n in nodes)
    assert any(n.commit_index > 0 for n in nodes)
    assert any(None in w.nodes for w in reached)
    assert len(reached) == 140


def test_successor_sets_equal_on_reached_states(encoding: Encoding,
                                                reached: list[World]) -> None:
    model = python_model(CORE, SIZES)
    for world in reached:
        assert compare_successors(encoding, model, world) == [], project(world)


def test_every_python_transition_satisfies_the_z3_formula(encoding: Encoding,
                                                          reached: list[World]) -> None:
    model = python_model(CORE, SIZES)
    checked = 0
    for world in reached[::14]:
        for action, after in model.successors(world):
            assert transition_in_relation(encoding, world, action_kind(action), after), action
            checked += 1
    assert checked > 40


def _generated(count: int) -> list[World]:
    """States satisfying the invariant, from z3, steered to differ: each new one must
    differ from the previous ones and have some log, leader or message activity."""
    pre = fresh_state(SIZES, "gen_")
    ctx = (SIZES, 2)
    solver = z3.Solver()
    solver.add(invariant(ctx, pre))
    solver.add(z3.Or([v.length > 0 for v in pre.nodes]))
    solver.add(z3.Or([s.present for s in pre.slots]))
    out: list[World] = []
    for index in range(count):
        solver.push()
        # alternate what is asked for, so the samples spread over the state space
        wants = [z3.Or([v.role == 2 for v in pre.nodes]),
                 z3.Or([s.kind == AE for s in pre.slots]),
                 z3.Or([z3.Not(v.up) for v in pre.nodes]),
                 z3.Or([v.commit > 0 for v in pre.nodes])]
        solver.add(wants[index % len(wants)])
        if solver.check() != z3.sat:
            solver.pop()
            continue
        model = solver.model()
        projection = read(model, pre)
        out.append(to_world(projection, read_history(model, pre)))
        solver.pop()
        solver.add(z3.Not(_equals(pre, projection)))
    return out


def _equals(pre: State, projection: object) -> z3.BoolRef:
    nodes, _ = projection  # type: ignore[misc]
    parts = []
    for v, (up, role, term, vf, log, commit, *_rest) in zip(pre.nodes, nodes, strict=True):
        parts += [v.up == up, v.role == role, v.term == term, v.voted_for == vf,
                  v.length == len(log), v.commit == commit]
    return z3.And(parts)


def test_successor_sets_equal_on_z3_generated_states(encoding: Encoding) -> None:
    model = python_model(CORE, SIZES)
    worlds = _generated(24)
    assert len(worlds) >= 20
    for world in worlds:
        assert compare_successors(encoding, model, world) == [], project(world)


# ------------------------------------------------------------------------------ injected slips


class SlipCore(Core):
    """The z3 side with a slip: a successful AppendEntriesResponse reports one index less
    than the request verified (prev_log_index + len(entries) - 1), an off-by-one."""

    def handle_append_entries(self, node: NodeV, me: int, m: Msg, src: int
                              ) -> tuple[NodeV, Sends]:
        out, sends = super().handle_append_entries(node, me, m, src)
        (sent, reply), = sends
        return out, [(sent, evolve(reply, a=z3.If(reply.flag, reply.a - 1, reply.a)))]


def test_a_slip_in_the_encoding_is_caught(reached: list[World]) -> None:
    slipped = Encoding(SIZES)
    slipped.core = SlipCore(SIZES, RULES["raft"])
    model = python_model(CORE, SIZES)
    assert any(compare_successors(slipped, model, world) for world in reached)


def test_a_slip_in_the_python_core_is_caught(encoding: Encoding) -> None:
    """The Python side with a slip (a core granting two votes per term) against the
    correct encoding: some reached state's successors differ."""
    slipped = python_model(BROKEN_CORES["two-votes-per-term"], SIZES)
    states = _reached(BROKEN_CORES["two-votes-per-term"], 2000, 10)
    assert any(compare_successors(encoding, slipped, world) for world in states)


BROKEN = sorted(set(RULES) - {"raft"})
DIFFER = Sizes(nodes=3, max_term=2, max_log=2, slots=2)  # two slots: a third less to build


@pytest.fixture(scope="module")
def correct_at_differ() -> Encoding:
    return Encoding(DIFFER)


@pytest.mark.parametrize("name", BROKEN)
def test_each_broken_rule_set_twins_its_broken_core_where_the_rule_matters(
        name: str, correct_at_differ: Encoding) -> None:
    """On states (under the invariant) from which the bug's rule set and the correct one
    step differently, the broken core's successors are its rule set's — and not the
    correct rules', so the comparison is about the bug's rule and cannot pass vacuously."""
    core = BROKEN_CORES[name]
    encoding = correct_at_differ
    broken = Encoding(DIFFER, RULES[name])
    worlds = [as_written(core, w) for w in where_rules_differ(broken, encoding, 2)]
    assert len(worlds) == 2
    model = python_model(core, DIFFER)
    for world in worlds:
        assert compare_successors(broken, model, world) == [], project(world)
        assert compare_successors(encoding, model, world) != [], project(world)


@pytest.mark.slow
@pytest.mark.parametrize("name", BROKEN)
def test_each_broken_rule_set_twins_its_broken_core_on_reached_states(name: str) -> None:
    """Selecting a broken rule in the encoding gives the broken core's world, on states
    the broken core reaches (the slow complement of the test above)."""
    encoding = Encoding(SIZES, RULES[name])
    model = python_model(BROKEN_CORES[name], SIZES)
    for world in _reached(BROKEN_CORES[name], 1000, 4)[::4]:
        assert compare_successors(encoding, model, world) == [], project(world)


def test_a_wrong_broken_rule_is_caught(correct_at_differ: Encoding) -> None:
    """A slip in a broken rule set (a length-only up-to-date check written as `>` instead
    of `>=`) is caught against its core on the states where the rule matters."""
    core = BROKEN_CORES["up-to-date-by-length-only"]
    slipped = Encoding(DIFFER, evolve(RULES["up-to-date-by-length-only"],
                                      log_is_up_to_date=lambda lt, li, vt, vi: li > vi))
    model = python_model(core, DIFFER)
    worlds = [as_written(core, w) for w in where_rules_differ(slipped, correct_at_differ, 3)]
    assert any(compare_successors(slipped, model, world) for world in worlds)
