"""The raftos adapter: the suite drives raftos 0.2.6 deterministically on a simulated network,
clock and disk, its view feeds the properties, and each finding replays from its record.

Skipped as a whole when raftos is not installed (`pip install 'raftcheck[raftos]' && pip
install --no-deps raftos==0.2.6`, or `tox -e raftos`)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("raftos", reason="raftos is not installed (pip install 'raftcheck[raftos]'"
                                     " && pip install --no-deps raftos==0.2.6)")

from raftcheck.impl.types import Entry, Put, Role
from raftcheck.model.adapters.library_fuzz import CHECK_ORDER, load_record, replay
from raftcheck.model.adapters.raftos_adapter import Cluster, ClusterConfig, decode
from raftcheck.model.adapters.raftos_fuzz import fuzz
from raftcheck.model.adapters.sim import (
    Action,
    ActionNotEnabled,
    AdapterFault,
    Crash,
    Deliver,
    FireTimer,
    NextTimer,
    NoRealTime,
    Restart,
    Submit,
    Wait,
)
from raftcheck.model.cli import main
from raftcheck.properties import check_state

ROOT = Path(__file__).resolve().parents[2]
RECORDS = ROOT / "tests" / "adapters" / "records" / "raftos"


def deliver_all(cluster: Cluster, actions: list[Action]) -> None:
    """Deliver in-flight packets, oldest link first, until none is left (a calm network)."""
    while cluster.deliverable():
        packet = cluster.deliverable()[0]
        action = Deliver(packet.source, packet.dest, packet.seq)
        cluster.apply(action)
        actions.append(action)


def leader_of(cluster: Cluster) -> int | None:
    leaders = [node.id for node in cluster.world().up_nodes() if node.role is Role.LEADER]
    assert len(leaders) <= 1, leaders
    return leaders[0] if leaders else None


def elect_and_commit(config: ClusterConfig) -> tuple[Cluster, list[Action]]:
    """A calm run: time passes until a leader is elected, a client writes x=1 on it, and the
    write is applied on every node."""
    cluster = Cluster(config)
    actions: list[Action] = []
    for _ in range(20):
        if leader_of(cluster) is not None:
            break
        cluster.apply(NextTimer())
        actions.append(NextTimer())
        deliver_all(cluster, actions)
    leader = leader_of(cluster)
    assert leader is not None
    cluster.apply(Submit(leader))
    actions.append(Submit(leader))
    for _ in range(4):  # followers learn the commit index with the next heartbeats
        deliver_all(cluster, actions)
        cluster.apply(NextTimer())
        actions.append(NextTimer())
    deliver_all(cluster, actions)
    return cluster, actions


def test_a_calm_cluster_elects_a_leader_and_applies_a_write_everywhere() -> None:
    cluster, _ = elect_and_commit(ClusterConfig(seed=4))
    world = cluster.world()
    leader = leader_of(cluster)
    assert leader is not None
    leading = world.nodes[leader]
    assert leading is not None
    term = leading.current_term
    for node in world.up_nodes():
        assert node.log == (Entry(term, Put("x", 1)),)
        assert (node.commit_index, node.last_applied) == (1, 1)
        assert node.volatile.state_machine == (("x", 1),)
    assert [(r.node, r.value, r.ok) for r in cluster.replies] == [(leader, 1, True)]
    assert check_state(world) is None
    # A follower's apply would log AttributeError without the compatibility patch.
    assert not [log for log in cluster.library_log if log.level == "ERROR"]


def test_runs_are_deterministic() -> None:
    config = ClusterConfig(seed=11)
    first, actions = elect_and_commit(config)
    second = Cluster(config)
    for action in actions:
        second.apply(action)
    assert second.world() == first.world()
    assert [(p.source, p.dest, p.seq, p.payload) for p in second.network] == \
        [(p.source, p.dest, p.seq, p.payload) for p in first.network]
    assert second.now_us == first.now_us


def test_a_run_does_not_depend_on_the_hash_seed() -> None:
    """raftos keeps its peers in a set of (host, port) tuples, whose order depends on
    PYTHONHASHSEED; packets are numbered per link, so a run does not."""
    code = ("from raftcheck.model.adapters.raftos_fuzz import fuzz\n"
            "r = fuzz(seed=5, examples=4, ignored=frozenset({'Single Vote Per Term'}))\n"
            "print(r.steps, r.distinct_states, r.outcome.label, r.actions)\n")
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=300, check=True, cwd=ROOT,
                              env={**os.environ, "PYTHONHASHSEED": hash_seed}).stdout
               for hash_seed in ("0", "1", "2")}
    assert len(outputs) == 1, outputs


def test_nothing_happens_until_the_clock_moves() -> None:
    cluster = Cluster(ClusterConfig(seed=3))
    assert not cluster.network
    first = cluster.next_deadline_us()
    assert first > cluster.now_us
    cluster.apply(Wait(1))
    assert not cluster.network
    assert all(node.current_term == 0 for node in cluster.world().up_nodes())
    cluster.apply(NextTimer())
    assert cluster.now_us == first
    candidates = [n.id for n in cluster.world().up_nodes() if n.role is Role.CANDIDATE]
    assert len(candidates) == 1
    assert {decode(p.payload)["type"] for p in cluster.network} == {"request_vote"}


def test_one_nodes_clock_runs_while_the_others_are_paused() -> None:
    """`FireTimer(i)`: node i's clock runs to its election timeout; the cluster's clock and
    every other node's stay, and a later `NextTimer` moves them all from there."""
    cluster = Cluster(ClusterConfig(seed=3))
    start = cluster.now_us
    cluster.apply(FireTimer(2))
    roles = [node.role for node in cluster.world().nodes if node is not None]
    assert roles == [Role.FOLLOWER, Role.FOLLOWER, Role.CANDIDATE]
    assert cluster.now_us == start and cluster.clock_us(0) == cluster.clock_us(1) == start
    assert cluster.clock_us(2) > start
    cluster.apply(NextTimer())
    assert cluster.now_us > start
    assert cluster.clock_us(2) - cluster.now_us == cluster.ahead_us[2] > 0


def test_election_timeouts_are_the_seeds_and_the_librarys_range() -> None:
    """The first timeout of a node is drawn by the library from [1.5, 4.5] s (its defaults)
    with the node's seeded generator: the same seed gives the same time, another seed
    another."""
    times = {seed: Cluster(ClusterConfig(seed=seed)).next_deadline_us() for seed in range(6)}
    assert times[0] == Cluster(ClusterConfig(seed=0)).next_deadline_us()
    assert len(set(times.values())) > 1
    start = Cluster(ClusterConfig()).now_us
    assert all(1_500_000 <= t - start <= 4_500_000 for t in times.values())


def test_the_disk_survives_a_crash_and_the_restart_reads_it() -> None:
    cluster, _ = elect_and_commit(ClusterConfig(seed=4))
    leader = leader_of(cluster)
    follower = next(i for i in cluster.up() if i != leader)
    before = cluster.world().nodes[follower]
    assert before is not None
    cluster.apply(Crash(follower))
    assert cluster.world().nodes[follower] is None
    disk = cluster.world().disk[follower]
    assert (disk.current_term, disk.log) == (before.current_term, before.log)
    assert disk.voted_for == before.voted_for is not None
    with pytest.raises(ActionNotEnabled):
        cluster.apply(Submit(follower))
    cluster.apply(Restart(follower))
    after = cluster.world().nodes[follower]
    assert after is not None
    assert (after.current_term, after.log) == (before.current_term, before.log)
    assert (after.commit_index, after.last_applied) == (0, 0)  # volatile in raftos
    assert after.volatile.state_machine == (("x", 1),)  # raftos keeps it in a file
    # raftos's Follower.start clears the vote: the first finding below.
    assert after.voted_for is None
    assert cluster.world().disk[follower].voted_for is None


def test_a_crashed_node_runs_nothing() -> None:
    cluster = Cluster(ClusterConfig(seed=3))
    cluster.apply(NextTimer())
    candidate = next(n.id for n in cluster.world().up_nodes() if n.role is Role.CANDIDATE)
    other = next(i for i in cluster.up() if i != candidate)
    cluster.apply(Crash(other))
    assert all(p.dest != other for p in cluster.deliverable())
    for _ in range(5):
        cluster.apply(NextTimer())
    assert cluster.world().nodes[other] is None
    assert not any(p.source == other for p in cluster.network)


def test_real_time_is_an_adapter_fault() -> None:
    with pytest.raises(AdapterFault, match="real time"):
        NoRealTime().monotonic()


def test_the_python_311_patches_answer_real_incompatibilities() -> None:
    """Why the adapter patches `asyncio` for raftos (docs/raftos.md): on this Python,
    `asyncio.Queue(loop=...)` raises and `asyncio.futures` has no `InvalidStateError`."""
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(TypeError):
            asyncio.Queue(loop=loop)  # type: ignore[call-arg]
    finally:
        loop.close()
    assert not hasattr(asyncio.futures, "InvalidStateError")


# ------------------------------------------------------------------------------ findings


def replayed(name: str, violated: str) -> tuple[list[Action], Cluster]:
    """A saved record replayed strictly to the `violated` property it was saved with; its
    actions and the cluster at the end."""
    record = load_record(RECORDS / name)
    assert record.outcome.violation is not None
    assert record.outcome.violation.property == violated
    outcome, actions, _ = replay(record.config, record.actions,
                                 ignored=frozenset(record.ignored))
    assert outcome == record.outcome, (outcome, record.outcome)
    cluster = Cluster(record.config)
    for action in actions:
        cluster.apply(action)
    return actions, cluster


def last_delivery(name: str) -> tuple[dict[str, object], Cluster]:
    """The message a record's last action delivers, and the cluster just before it."""
    record = load_record(RECORDS / name)
    *before, last = record.actions
    assert isinstance(last, Deliver)
    probe = Cluster(record.config)
    for action in before:
        probe.apply(action)
    return decode(probe.packet(last.source, last.dest, last.seq).payload), probe


def test_a_restart_forgets_the_vote_and_two_leaders_share_a_term() -> None:
    """Finding 1: `Follower.start` sets `voted_for` to None on every start, a restart included;
    n2 votes for n0, restarts, and votes for n1 in the same term: n0 and n1 both lead term 1.
    Without the crash and restart n2 refuses n1 and the run is clean."""
    record = load_record(RECORDS / "raftos-restart-forgets-vote-es.json")
    _, cluster = replayed("raftos-restart-forgets-vote-es.json", "Election Safety")
    leaders = {(term, node) for term, node in cluster.world().history.leaders}
    assert {node for term, node in leaders if term == 1} == {0, 1}
    without = [a for a in record.actions if not isinstance(a, (Crash, Restart))]
    clean, _, _ = replay(record.config, without, strict=False,
                         ignored=frozenset(record.ignored))
    assert clean.violation is None


def test_a_stale_vote_response_is_counted_in_a_later_term() -> None:
    """Finding 2: `validate_term` lets a response of an older term through and the candidate
    counts any `vote_granted`: the last step delivers a term-1 vote to a candidate of a later
    term, which becomes leader with one server's vote of three."""
    actions, _ = replayed("raftos-stale-vote-ebm.json", "Elected By Majority")
    message, before = last_delivery("raftos-stale-vote-ebm.json")
    last = actions[-1]
    assert isinstance(last, Deliver)
    receiver = before.world().nodes[last.dest]
    assert receiver is not None
    assert message["type"] == "request_vote_response" and message["vote_granted"]
    assert isinstance(message["term"], int) and message["term"] < receiver.current_term


def test_stale_vote_responses_elect_two_leaders_in_one_term() -> None:
    """Finding 2, as Election Safety (Elected By Majority and Single Vote Per Term ignored)."""
    _, cluster = replayed("raftos-stale-vote-es.json", "Election Safety")
    terms = [term for term, _ in cluster.world().history.leaders]
    assert len(terms) > len(set(terms))


def test_half_of_an_even_cluster_elects_a_leader() -> None:
    """Finding 5: `is_majority` counts the peers, not the cluster: with four nodes a candidate
    is elected on its own vote and one other, two of four, by a vote of its own term delivered
    once, with nothing lost, copied or crashed."""
    actions, cluster = replayed("raftos-even-quorum-ebm.json", "Elected By Majority")
    assert cluster.config.nodes == 4
    assert all(isinstance(action, (Deliver, NextTimer)) for action in actions)
    message, before = last_delivery("raftos-even-quorum-ebm.json")
    last = actions[-1]
    assert isinstance(last, Deliver)
    receiver = before.world().nodes[last.dest]
    assert receiver is not None and receiver.role is Role.CANDIDATE
    assert message["type"] == "request_vote_response" and message["vote_granted"]
    assert message["term"] == receiver.current_term


def test_a_duplicated_vote_response_is_counted_twice() -> None:
    """Finding 4: a candidate counts vote responses, not voters. With five nodes, n0 becomes
    leader of term 3 on a copy of n4's vote (its own, n4's twice: "three"), and n3 on a copy of
    n2's: two leaders in one term, each with two distinct votes of five."""
    actions, cluster = replayed("raftos-duplicated-vote-es.json", "Election Safety")
    record = load_record(RECORDS / "raftos-duplicated-vote-es.json")
    probe = Cluster(record.config)
    delivered: set[tuple[int, int, bytes]] = set()
    elected_on_copy = []
    for action in actions:
        payload = None
        if isinstance(action, Deliver):
            payload = probe.packet(action.source, action.dest, action.seq).payload
        before = probe.world().nodes
        probe.apply(action)
        if payload is None or not isinstance(action, Deliver):
            continue
        key = (action.source, action.dest, payload)
        was, now = before[action.dest], probe.world().nodes[action.dest]
        if was is not None and now is not None and now.role is Role.LEADER and \
                was.role is not Role.LEADER:
            assert decode(payload)["type"] == "request_vote_response"
            elected_on_copy.append(key in delivered)
        delivered.add(key)
    assert elected_on_copy == [True, True]
    assert record.config.nodes == 5
    assert sorted(node for term, node in cluster.world().history.leaders if term == 3) == [0, 3]


def test_a_reordered_append_entries_truncates_an_applied_entry() -> None:
    """Finding 3: a follower erases its log after `prev_log_index` whenever its last index is
    not `prev_log_index` (and compares its entry with the leader's current term, not the
    entry's): an older AppendEntries of the same leader, delivered late, truncates entries the
    follower acknowledged and applied."""
    actions, cluster = replayed("raftos-stale-append-entries-sms.json", "State Machine Safety")
    message, probe = last_delivery("raftos-stale-append-entries-sms.json")
    last = actions[-1]
    assert isinstance(last, Deliver)
    before = probe.world().nodes[last.dest]
    after = cluster.world().nodes[last.dest]
    assert before is not None and after is not None
    assert message["type"] == "append_entries"
    assert isinstance(message["prev_log_index"], int)
    assert message["prev_log_index"] < len(before.log)
    assert len(after.log) < len(before.log) and after.last_applied > len(after.log)


def test_a_truncated_acknowledgement_loses_a_committed_entry() -> None:
    """Finding 3, as Leader Completeness: n1 takes x=1, then the leader's older heartbeat of
    the same request empties its log; the leader commits x=1 on n1's acknowledgement, and n1,
    now without it, elects n2, whose log is empty."""
    actions, cluster = replayed("raftos-stale-append-entries-lc.json", "Leader Completeness")
    truncating = actions[6]
    assert isinstance(truncating, Deliver)
    record = load_record(RECORDS / "raftos-stale-append-entries-lc.json")
    probe = Cluster(record.config)
    for action in actions[:6]:
        probe.apply(action)
    message = decode(probe.packet(truncating.source, truncating.dest, truncating.seq).payload)
    before = probe.world().nodes[truncating.dest]
    probe.apply(truncating)
    after = probe.world().nodes[truncating.dest]
    assert before is not None and after is not None
    assert message["type"] == "append_entries" and message["entries"] == []
    assert len(before.log) == 1 and after.log == ()
    committed = cluster.world().history.committed
    assert [(known.entry.command, known.entry.term) for known in committed] == [(Put("x", 1), 1)]


def test_fuzz_finds_the_forgotten_vote_first() -> None:
    """Without --ignore the first property to break is Single Vote Per Term: a candidate
    whose election times out becomes a follower and clears its vote in the same term."""
    result = fuzz(seed=1, examples=5)
    assert result.outcome.violation is not None
    assert result.outcome.violation.property == "Single Vote Per Term"
    assert len(result.actions) <= 3


# ------------------------------------------------------------------------------ the CLI


def test_cli_fuzz_saves_a_record_that_replays(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "found.json"
    assert main(["fuzz", "--core", "raftos", "--seed", "1", "--examples", "5", "--json",
                 "--save", str(out)]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["core"] == "raftos" and summary["verdict"] == "violation"
    assert summary["violation"]["property"] == "Single Vote Per Term"
    assert main(["fuzz", "--core", "raftos", "--replay", str(out), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["reproduced"] is True


def test_cli_replays_a_saved_finding_with_its_ignored_properties(
        capsys: pytest.CaptureFixture[str]) -> None:
    path = RECORDS / "raftos-stale-vote-es.json"
    assert main(["fuzz", "--core", "raftos", "--replay", str(path)]) == 1
    assert "→ reproduced" in capsys.readouterr().out


def test_cli_continue_reports_each_property_with_a_record_that_replays(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--continue` on raftos, as on PySyncObj (one engine, `library_fuzz.run_each`): seed 1
    breaks Single Vote Per Term, then without it Elected By Majority, then State Machine
    Safety, within 30 runs. Each round's record ignores the properties broken before it and
    replays to its own violation."""
    code = main(["fuzz", "--core", "raftos", "--seed", "1", "--examples", "30", "--continue",
                 "--json", "--save", str(tmp_path) + "/"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["continue"] and report["runs"] == 30
    assert len(set(report["violated"])) == len(report["violated"]) >= 2
    assert report["violated"][:2] == ["Single Vote Per Term", "Elected By Majority"]
    before: list[str] = []
    for entry in report["rounds"]:
        if entry["violation"] is None:
            continue
        record = load_record(entry["record"])
        assert record.ignored == tuple(sorted(before)) == tuple(entry["ignored"])
        assert main(["fuzz", "--core", "raftos", "--replay", entry["record"], "--json"]) == 1
        replayed = json.loads(capsys.readouterr().out)
        assert replayed["reproduced"] and replayed["outcome"] == entry["violation"]["property"]
        before.append(entry["violation"]["property"])
    assert before == report["violated"]


def test_cli_property_selects_and_replay_overrides_the_recorded_selection(
        capsys: pytest.CaptureFixture[str]) -> None:
    """`--property` on raftos: only Term Monotonicity, which raftos keeps (its term is on
    disk), so no violation in a few runs; and `--replay` with `--ignore` checks that
    selection instead of the record's: without Election Safety as well the stale-vote record
    replays clean."""
    assert main(["fuzz", "--core", "raftos", "--seed", "1", "--examples", "3", "--property",
                 "term monotonicity", "--json", "--no-save"]) != 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["violation"] is None and "Term Monotonicity" not in summary["ignored"]
    path = str(RECORDS / "raftos-stale-vote-es.json")
    recorded = load_record(path).ignored
    assert main(["fuzz", "--core", "raftos", "--replay", path, "--json", "--ignore",
                 "Election Safety", *(arg for name in recorded for arg in ("--ignore", name))]
                ) == 0
    replayed = json.loads(capsys.readouterr().out)
    assert replayed["ignored"] == sorted({*recorded, "Election Safety"})
    assert replayed["outcome"] == "clean" and not replayed["reproduced"]


def test_a_record_of_the_properties_checked_is_read_as_those_ignored(tmp_path: Path) -> None:
    """Records written before `--property` and `--ignore` were one selection name the
    properties checked (`"properties"`, null: every one); they load as the rest ignored."""
    data = json.loads((RECORDS / "raftos-stale-vote-es.json").read_text(encoding="utf-8"))
    ignored = data.pop("ignored")
    data["properties"] = [name for name in CHECK_ORDER if name not in ignored]
    old = tmp_path / "old.json"
    old.write_text(json.dumps(data), encoding="utf-8")
    assert sorted(load_record(old).ignored) == sorted(ignored)
    data["properties"] = None
    old.write_text(json.dumps(data), encoding="utf-8")
    assert load_record(old).ignored == ()


@pytest.mark.parametrize("argv", [
    ["--ignore", "No Such Property"],
    ["--property", "leader replaced"],  # a goal: no safety property left to check
    ["--liveness"],  # progress properties: not checked on a library
    ["--replay", str(RECORDS / "raftos-stale-vote-es.json"), "--continue"],
    ["--release", "0.2.6"],  # applies to --conformance only
    ["--workers", "2"],
    ["--replay", "tests/adapters/records/stale-append-entries-sms.json"],  # PySyncObj's
])
def test_cli_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fuzz", "--core", "raftos", "--examples", "1", *argv]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_raftcheck_replay_points_a_raftos_record_at_the_adapter(
        capsys: pytest.CaptureFixture[str]) -> None:
    """A raftos record is not a trace of a core: `raftcheck replay` says how to replay it."""
    assert main(["replay", str(RECORDS / "raftos-stale-vote-ebm.json")]) == 2
    err = capsys.readouterr().err
    assert "--core raftos --replay FILE" in err and len(err.strip().splitlines()) == 1
