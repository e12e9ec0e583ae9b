"""The PySyncObj adapter: the suite drives a released Raft library deterministically, its
view feeds the properties, its own failures are kept apart from Raft findings, and a known
finding replays from its record.

Skipped as a whole when the optional `pysyncobj` extra is not installed
(`pip install 'raftcheck[pysyncobj]'`, or `tox -e pysyncobj`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest

pytest.importorskip("pysyncobj", reason="the pysyncobj extra is not installed "
                                        "(pip install 'raftcheck[pysyncobj]')")

from raftcheck.model.adapters.pysyncobj_adapter import (
    ActionNotEnabled,
    AdapterFault,
    Cluster,
    ClusterConfig,
    Crash,
    Deliver,
    Drop,
    Duplicate,
    FireTimer,
    NextTimer,
    Restart,
    Submit,
    Wait,
)
from raftcheck.model.adapters.pysyncobj_fuzz import (
    ADAPTER_GOALS,
    CHECK_ORDER,
    Faults,
    Outcome,
    Record,
    Step,
    aim,
    dump_record,
    fuzz,
    load_record,
    replay,
    shrink,
)
from raftcheck.model.cli import main
from raftcheck.model.verdict import Verdict
from raftcheck.properties import check_state
from raftcheck.properties.safety import election_safety

ROOT = Path(__file__).resolve().parents[2]


def deliver_all(cluster: Cluster, actions: list) -> None:
    """Deliver in-flight packets, oldest link first, until none is left (a calm network)."""
    while cluster.deliverable():
        packet = cluster.deliverable()[0]
        action = Deliver(packet.source, packet.dest, packet.seq)
        actions.append(action)
        cluster.apply(action)


def calm_run(seed: int = 1) -> tuple[Cluster, list]:
    """Elect, submit two commands at the leader and one at a follower, replicate, commit."""
    cluster = Cluster(ClusterConfig(seed=seed))
    actions: list = []
    for _ in range(2):
        actions.append(NextTimer())
        cluster.apply(actions[-1])
        deliver_all(cluster, actions)
    world = cluster.world()
    leader = next(node.id for node in world.up_nodes() if node.role == 2)
    follower = (leader + 1) % 3
    for node in (leader, leader, follower):
        actions.append(Submit(node))
        cluster.apply(actions[-1])
        deliver_all(cluster, actions)
    for _ in range(3):
        actions.append(NextTimer())
        cluster.apply(actions[-1])
        deliver_all(cluster, actions)
    return cluster, actions


# ------------------------------------------------------------------------------ the adapter


def test_a_calm_cluster_elects_commits_and_applies_everywhere() -> None:
    cluster, _ = calm_run()
    world = cluster.world()
    assert check_state(world) is None
    assert len(world.history.leaders) == 1
    for goal in ("leader elected", "entry committed", "client command committed",
                 "client command applied on every node", "entry applied on every node"):
        assert ADAPTER_GOALS[goal](world), goal
    # Two commands at the leader and one forwarded by a follower: all applied, in order.
    for node in world.up_nodes():
        assert [str(entry.command) for entry in node.log] == ["noop=0", "x=1", "x=2", "x=3"]
        assert node.commit_index == node.last_applied == 4
        assert node.volatile.state_machine == (("x", 3),)
    assert [(reply.value, reply.error) for reply in cluster.replies] == [(1, 0), (2, 0), (3, 0)]


def test_same_seed_same_packets_and_states() -> None:
    first, actions = calm_run(seed=7)
    second = Cluster(ClusterConfig(seed=7))
    for action in actions:
        second.apply(action)
    assert [p.payload for p in first.network] == [p.payload for p in second.network]
    assert first.world() == second.world()
    assert first.now_us == second.now_us


def test_the_seed_drives_the_librarys_random_timeouts() -> None:
    elected = set()
    for seed in range(6):
        cluster = Cluster(ClusterConfig(seed=seed))
        cluster.apply(NextTimer())
        cluster.apply(NextTimer())
        elected |= {node.id for node in cluster.world().up_nodes() if node.role == 1}
        assert cluster.now_us < 1_000_000 + 1_500_000  # within raftMaxTimeout of the start
    assert len(elected) > 1  # different seeds, different first candidates


def test_time_passes_only_when_the_suite_advances_it() -> None:
    cluster = Cluster(ClusterConfig(seed=1))
    for _ in range(50):  # deliveries and submits alone never start an election
        cluster.apply(Submit(0))
    assert all(node.current_term == 0 for node in cluster.world().up_nodes())
    cluster.apply(Wait(1500))  # past raftMaxTimeout (1.4 s): every node times out
    assert all(node.current_term == 1 for node in cluster.world().up_nodes())


def test_one_nodes_clock_runs_while_the_others_are_paused() -> None:
    """`FireTimer(i)`: node i's clock runs to its first timer (an election timeout or the
    journal's flush); only node i acts on it, and the cluster's clock stays."""
    cluster = Cluster(ClusterConfig(seed=1))
    start = cluster.now_us
    while cluster.world().nodes[1].current_term == 0:  # type: ignore[union-attr]
        cluster.apply(FireTimer(1))
    assert [node.current_term for node in cluster.world().nodes  # type: ignore[union-attr]
            ] == [0, 1, 0]
    assert cluster.now_us == start == cluster.clock_us(0) < cluster.clock_us(1)


def test_restart_rebuilds_the_node_from_its_journal() -> None:
    cluster, _ = calm_run()
    before = cluster.world().nodes[1]
    assert before is not None
    cluster.apply(Crash(1))
    assert cluster.world().nodes[1] is None
    assert cluster.world().persistent_of(1) == before.persistent  # what is on disk
    cluster.apply(Restart(1))
    after = cluster.world().nodes[1]
    assert after is not None
    assert after.persistent == before.persistent
    assert after.role == 0
    # The commit index is stored lazily (FileJournal's one-second timer): crashed before the
    # timer fired, the node comes back knowing less than it had committed...
    assert after.commit_index < before.commit_index


def test_restart_recovers_the_commit_index_stored_by_the_one_second_timer() -> None:
    cluster, _ = calm_run()
    cluster.apply(Wait(1100))  # the journals' one-second timer stores the commit index
    before = cluster.world().nodes[1]
    assert before is not None and before.commit_index == 4
    cluster.apply(Crash(1))
    cluster.apply(Restart(1))
    after = cluster.world().nodes[1]
    assert after is not None
    # ...and after the timer it comes back with it, and re-applies its log from scratch.
    assert after.commit_index == after.last_applied == 4
    assert after.volatile.state_machine == before.volatile.state_machine


def test_actions_that_do_not_apply_are_refused() -> None:
    cluster = Cluster(ClusterConfig(seed=1))
    with pytest.raises(ActionNotEnabled):
        cluster.apply(Deliver(0, 1, 0))
    with pytest.raises(ActionNotEnabled):
        cluster.apply(Restart(0))
    cluster.apply(Crash(0))
    with pytest.raises(ActionNotEnabled):
        cluster.apply(Submit(0))


def test_fifo_ordering_delivers_only_the_oldest_packet_of_a_link() -> None:
    cluster = Cluster(ClusterConfig(seed=1, ordering="fifo"))
    cluster.apply(Wait(1500))  # everyone campaigns: two request_votes on each link
    cluster.apply(Wait(1500))
    links: dict[tuple[int, int], list[int]] = {}
    for packet in cluster.network:
        links.setdefault((packet.source, packet.dest), []).append(packet.seq)
    assert any(len(seqs) > 1 for seqs in links.values())
    assert sorted((p.source, p.dest, p.seq) for p in cluster.deliverable()) == \
        sorted((link[0], link[1], min(seqs)) for link, seqs in links.items())


# ------------------------------------------------------------------------------ adapter faults


def test_an_unroutable_message_is_an_adapter_fault() -> None:
    from pysyncobj.node import Node as LibraryNode

    cluster = Cluster(ClusterConfig(seed=1))
    with pytest.raises(AdapterFault, match="unroutable"):
        cluster._capture(0, LibraryNode("n9"), {"type": "request_vote", "term": 1})


def test_real_time_inside_the_library_is_an_adapter_fault() -> None:
    import pysyncobj.syncobj as library

    cluster = Cluster(ClusterConfig(seed=1))
    with pytest.raises(AdapterFault, match="real time"), cluster._inside(0, "test"):
        library.time.sleep(0.1)


def test_a_library_exception_is_an_adapter_fault(monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = Cluster(ClusterConfig(seed=1))
    obj = cluster.objects[0]

    def broken(timeToWait: float = 0.0) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(obj, "doTick", broken)
    with pytest.raises(AdapterFault, match=r"library exception.*KeyError"):
        cluster.apply(NextTimer())


def test_fuzz_reports_adapter_faults_apart(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from raftcheck.model.adapters import pysyncobj_adapter

    def refuse(self: object, timeout: float) -> None:
        raise AdapterFault("real time", "the test's poller refuses to poll")

    monkeypatch.setattr(pysyncobj_adapter._NoWaitPoller, "poll", refuse)
    monkeypatch.setenv("RAFTCHECK_TRACE_DIR", str(tmp_path))
    code = main(["fuzz", "--core", "pysyncobj", "--seed", "3", "--examples", "5", "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 4
    assert summary["verdict"] == "adapter fault"
    assert summary["violation"] is None
    assert summary["adapter_fault"]["kind"] == "real time"


# ------------------------------------------------------------------------------ the engine


def test_fuzz_is_deterministic() -> None:
    first = fuzz(seed=11, examples=10, faults=Faults(duplicate=False))
    second = fuzz(seed=11, examples=10, faults=Faults(duplicate=False))
    assert first.steps > 0
    assert (first.steps, first.distinct_states, first.goals, first.outcome) == \
        (second.steps, second.distinct_states, second.goals, second.outcome)


def test_fuzz_reaches_the_goals() -> None:
    """CI-sized (50 runs of up to 100 actions): leaders elected and replaced, client commands
    committed and applied on every node."""
    result = fuzz(seed=3, examples=50, faults=Faults(duplicate=False))
    assert result.verdict is not Verdict.ADAPTER_FAULT, result.outcome
    assert set(ADAPTER_GOALS) <= result.goals, result.missing_goals


def test_runs_do_not_depend_on_the_hash_seed() -> None:
    """PySyncObj iterates a set of peer nodes (hash-ordered by their string ids): packets are
    numbered per link so the run is the same under any PYTHONHASHSEED."""
    script = ("from model.adapters.pysyncobj_fuzz import Faults, fuzz\n"
              "r = fuzz(seed=5, examples=4, faults=Faults(duplicate=False))\n"
              "print(r.steps, r.distinct_states, sorted(r.goals), r.outcome.label)\n")
    outputs = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        result = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT,
                                capture_output=True, text=True, timeout=120, check=True)
        outputs.add(result.stdout)
    assert len(outputs) == 1, outputs


# ------------------------------------------------------------------------------ a finding


def stale_append_entries_run() -> tuple[ClusterConfig, list]:
    """The mechanism of docs/pysyncobj.md, "Finding": a follower acknowledges an entry, then
    a *stale* AppendEntries of the same term (sent before the entry existed) arrives late and
    the follower truncates the acknowledged entry; the leader has already counted it."""
    config = ClusterConfig(seed=1)
    cluster = Cluster(config)
    actions: list = []

    def do(action: object) -> None:
        actions.append(action)
        cluster.apply(action)  # type: ignore[arg-type]

    do(NextTimer())
    do(NextTimer())
    deliver_all(cluster, actions)
    leader = next(node.id for node in cluster.world().up_nodes() if node.role == 2)
    follower = (leader + 1) % 3
    do(NextTimer())  # a heartbeat (no entries) goes out to the follower...
    do(Submit(leader))
    do(NextTimer())  # ...then one carrying the new entry
    old, new = sorted(p for p in cluster.network
                      if p.dest == follower and p.kind == "append_entries")[-2:]
    do(Deliver(new.source, new.dest, new.seq))
    ack = next(p for p in cluster.network if p.source == follower and p.dest == leader
               and p.kind == "next_node_idx")
    do(Deliver(ack.source, ack.dest, ack.seq))  # the leader commits with this ack
    do(Deliver(old.source, old.dest, old.seq))  # the stale heartbeat truncates the entry
    do(Crash(leader))
    for packet in [p for p in cluster.network if p.source == leader]:
        do(Drop(packet.source, packet.dest, packet.seq))
    for _ in range(2):
        do(NextTimer())
        deliver_all(cluster, actions)
    return config, actions


def test_a_reordered_stale_append_entries_loses_a_committed_entry(tmp_path: Path) -> None:
    config, actions = stale_append_entries_run()
    outcome, applied, _ = replay(config, actions)
    assert outcome.violation is not None
    assert outcome.violation.property == "Leader Completeness"
    # The record round-trips and replays to the same outcome.
    path = tmp_path / "finding.json"
    path.write_text(dump_record(Record(config, tuple(applied), outcome)))
    record = load_record(path)
    assert record.actions == tuple(applied)
    assert replay(record.config, record.actions)[0] == outcome
    assert outcome != Outcome()


def test_replay_cli_reproduces_a_record(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    config, actions = stale_append_entries_run()
    outcome, applied, _ = replay(config, actions)
    path = tmp_path / "finding.json"
    path.write_text(dump_record(Record(config, tuple(applied), outcome)))
    code = main(["fuzz", "--core", "pysyncobj", "--replay", str(path), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report["reproduced"] is True
    assert report["outcome"] == "Leader Completeness"


@pytest.mark.parametrize("content", ["not json", '{"format": "other"}',
                                     '{"format": "raftcheck-pysyncobj-trace", "schema": 1}'])
def test_a_bad_record_is_a_usage_error(tmp_path: Path, content: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    code = main(["fuzz", "--core", "pysyncobj", "--replay", str(path)])
    captured = capsys.readouterr()
    assert code == 2
    assert len(captured.err.strip().splitlines()) == 1
    assert "Traceback" not in captured.err


def duplicated_vote_run() -> tuple[ClusterConfig, list]:
    """Five nodes: a candidate counts a duplicated vote response twice (the library keeps a
    count of votes, not the set of voters), wins with two voters of five, and another
    candidate then wins the same term with three."""
    config = ClusterConfig(nodes=5, seed=1)
    cluster = Cluster(config)
    actions: list = []

    def do(action: object) -> None:
        actions.append(action)
        cluster.apply(action)  # type: ignore[arg-type]

    def packet(source: int, dest: int, kind: str) -> Deliver:
        found = next(p for p in cluster.network
                     if (p.source, p.dest, p.kind) == (source, dest, kind))
        return Deliver(found.source, found.dest, found.seq)

    do(Wait(1500))  # all five campaign in term 1 and vote for themselves
    for p in list(cluster.network):
        do(Drop(p.source, p.dest, p.seq))
    while not any(node.current_term == 2 for node in cluster.world().up_nodes()):
        do(NextTimer())
    first = next(node.id for node in cluster.world().up_nodes() if node.current_term == 2)
    others = [i for i in range(5) if i != first]
    voter, second, rest = others[0], others[1], others[2:]
    do(packet(first, voter, "request_vote"))
    vote = packet(voter, first, "response_vote")
    do(Duplicate(vote.source, vote.dest, vote.seq))
    do(packet(voter, first, "response_vote"))
    do(packet(voter, first, "response_vote"))  # the copy: "majority" with two voters
    while cluster.world().nodes[second].current_term < 2:  # type: ignore[union-attr]
        do(NextTimer())
    for other in rest:
        do(packet(second, other, "request_vote"))
        do(packet(other, second, "response_vote"))
    return config, actions


def test_a_duplicated_vote_response_elects_two_leaders_in_one_term() -> None:
    config, actions = duplicated_vote_run()
    # Caught the moment the first candidate "wins" on its own vote and one peer's, twice...
    outcome, applied, _ = replay(config, actions)
    assert outcome.violation is not None
    assert outcome.violation.property == "Elected By Majority"
    assert "2 of 5" in outcome.violation.detail
    duplicate = next(i for i, action in enumerate(actions) if isinstance(action, Duplicate))
    assert len(applied) == duplicate + 3  # stopped at the copy's delivery
    # ...and the whole run goes on to elect a second leader of the same term.
    cluster = Cluster(config)
    for action in actions:
        cluster.apply(action)
    violation = election_safety(cluster.world())
    assert violation is not None and violation.term == 2
    # Without the duplicate the first candidate is not elected.
    without = [a for a in actions if not isinstance(a, Duplicate)]
    outcome, _, _ = replay(config, without, strict=False)
    assert outcome.violation is None


RECORDS = Path(__file__).parent / "records"


@pytest.mark.parametrize(("name", "prop"), [
    ("stale-append-entries-sms.json", "State Machine Safety"),
    ("stale-append-entries-lc.json", "Leader Completeness"),
])
def test_fuzzer_found_records_replay_to_the_same_violation(name: str, prop: str) -> None:
    """Found by the fuzzer and shrunk (docs/pysyncobj.md, "Findings"): a stale AppendEntries
    truncates an entry the follower acknowledged. `...-sms`: `raftcheck fuzz --core
    pysyncobj --seed 1 --examples 300 --no-duplicate`, the follower had applied it (the step
    also lowers its commit index, an auxiliary property; Figure 3 is reported first).
    `...-lc`: the deep run's chaos profile, seed 2; a leader without the entry is elected."""
    record = load_record(RECORDS / name)
    outcome, applied, _ = replay(record.config, record.actions)
    assert outcome == record.outcome
    assert outcome.violation is not None
    assert outcome.violation.property == prop
    assert len(applied) == len(record.actions)


SAVED = ROOT / "benchmarks" / "records" / "pysyncobj"


@pytest.mark.parametrize(("path", "prop", "saved", "shrunk"), [
    (RECORDS / "stale-append-entries-sms.json", "State Machine Safety", 40, 13),
    (SAVED / "fifo5-seed2.json", "Elected By Majority", 15, 7),
])
def test_saved_records_shrink_further_to_the_same_violation(path: Path, prop: str, saved: int,
                                                            shrunk: int) -> None:
    """Records shrunk by deletion alone (docs/pysyncobj.md, "Shrinking"; the figures are
    `python benchmarks/pysyncobj_shrink.py`'s): the shrinker, its steps aimed at their
    messages and its clock advances merged, takes each to at most the measured length, and
    the result replays strictly to the same property's violation."""
    record = load_record(path)
    assert len(record.actions) == saved
    actions = shrink(record.config, record.actions, record.outcome)
    assert len(actions) <= shrunk
    outcome, applied, _ = replay(record.config, actions)
    assert outcome.violation is not None and outcome.violation.property == prop
    assert applied == actions


def test_a_shrunk_fifo_delivery_moves_to_the_packet_at_the_head_of_its_link() -> None:
    """Deleting the delivery of a FIFO link's k-th packet leaves it at the head, where it
    would block the later deliveries of that link; the shrinker aims them down the link."""
    cluster = Cluster(ClusterConfig(seed=1, ordering="fifo"))
    cluster.apply(Wait(1500))  # everyone campaigns twice: two request_votes on each link
    cluster.apply(Wait(1500))
    first, second = cluster.network[:2]
    assert (first.source, first.dest) == (second.source, second.dest)
    assert first.kind == second.kind == "request_vote" and first.payload != second.payload
    later = Step(Deliver(second.source, second.dest, second.seq), second.kind, second.payload)
    assert aim(cluster, later) == Deliver(first.source, first.dest, first.seq)
    cluster.apply(Deliver(first.source, first.dest, first.seq))
    assert aim(cluster, later) == later.action  # at the head now: its own packet


def test_shrinking_merges_clock_advances_that_only_pass_time() -> None:
    """The saved State Machine Safety record advances the clock 20 times, six in a row at
    its end; shrunk, no two clock advances are neighbours."""
    record = load_record(RECORDS / "stale-append-entries-sms.json")
    clock = (NextTimer, Wait)
    actions = shrink(record.config, record.actions, record.outcome)
    assert sum(isinstance(a, clock) for a in record.actions) == 20
    assert not any(isinstance(a, clock) and isinstance(b, clock)
                   for a, b in pairwise(actions))


def test_records_go_where_save_says_and_replay_points_at_the_adapter(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from raftcheck.model.adapters.pysyncobj_fuzz import save_record

    config, actions = stale_append_entries_run()
    outcome, applied, _ = replay(config, actions)
    record = Record(config, tuple(applied), outcome)
    inside = save_record(record, 7, str(tmp_path))  # a directory: saved inside it
    assert inside.parent == tmp_path and load_record(inside).actions == record.actions
    named = save_record(record, 7, str(tmp_path / "mine.json"))
    assert named == tmp_path / "mine.json"
    again = save_record(record, 7, str(tmp_path / "mine.json"))  # never overwritten
    assert again != named and again.exists()
    # `raftcheck replay` is for traces of cores: one line naming the command that replays it
    assert main(["replay", str(named)]) == 2
    err = capsys.readouterr().err
    assert "raftcheck fuzz --core pysyncobj --replay" in err and err.count("\n") == 1


@pytest.mark.parametrize("examples", [7, 60])
def test_an_example_budget_runs_exactly_that_many_runs(examples: int) -> None:
    """As for step-function cores: Hypothesis' own count (valid runs only) would overrun."""
    assert fuzz(seed=1, examples=examples, steps=30).examples == examples


# ------------------------------------------------------------------------------ properties


def test_a_property_left_out_is_not_checked_and_the_next_one_is_reported() -> None:
    """The saved stale-AppendEntries step breaks State Machine Safety and Commit Index
    Monotonicity at once: without the first the second is reported at the same step, and a
    selection of neither finds nothing."""
    record = load_record(RECORDS / "stale-append-entries-sms.json")
    assert record.ignored == ()  # every property
    outcome, applied, _ = replay(record.config, record.actions,
                                 ignored=frozenset({"State Machine Safety"}))
    assert outcome.violation is not None
    assert outcome.violation.property == "Commit Index Monotonicity"
    assert len(applied) == len(record.actions)
    outcome, applied, _ = replay(record.config, record.actions, ignored=frozenset(
        CHECK_ORDER) - {"Term Monotonicity", "Election Safety"})
    assert outcome == Outcome() and len(applied) == len(record.actions)


def test_continue_reports_each_property_with_its_own_replayable_record(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--continue` on the library: after State Machine Safety, fresh runs without it find
    Commit Index Monotonicity. The report has the step-function engine's shape (a header per
    round that broke something, its trace and record, then the properties broken and the
    verdict); each round's record names the properties it checked and replays to its own
    violation with them (`--replay` checks what the record names: all but the properties it
    ignored)."""
    code = main(["fuzz", "--core", "pysyncobj", "--seed", "1", "--examples", "300",
                 "--continue", "--no-progress", "--save", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "=== round 1 (seed 1, ignoring: nothing)" in out
    assert "VIOLATION of State Machine Safety (seed 1)" in out
    assert "ignoring: State Machine Safety)" in out
    assert "2 properties broken in 300 runs: State Machine Safety, Commit Index " \
        "Monotonicity" in out
    assert out.rstrip().endswith("VIOLATION")
    records = sorted(tmp_path.glob("*.json"), key=lambda path: path.stat().st_mtime_ns)
    assert [load_record(path).outcome.label for path in records] == [
        "State Machine Safety", "Commit Index Monotonicity"]
    before: list[str] = []
    for path in records:
        record = load_record(path)
        assert f"saved: {path}" in out
        assert record.ignored == tuple(sorted(before))
        assert replay(record.config, record.actions,
                      ignored=frozenset(record.ignored))[0] == record.outcome
        assert main(["fuzz", "--core", "pysyncobj", "--replay", str(path), "--json"]) == 1
        replayed = json.loads(capsys.readouterr().out)
        assert replayed["reproduced"] and replayed["outcome"] == record.outcome.label
        assert replayed["ignored"] == list(record.ignored)
        before.append(record.outcome.label)
    # The second record replayed without its property: not that violation any more.
    assert main(["fuzz", "--core", "pysyncobj", "--replay", str(records[1]), "--json",
                 "--ignore", "Commit Index Monotonicity"]) in (0, 1)
    assert json.loads(capsys.readouterr().out)["outcome"] != "Commit Index Monotonicity"


def test_a_selection_is_checked_and_reported(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["fuzz", "--core", "pysyncobj", "--seed", "1", "--examples", "3",
                 "--property", "term monotonicity", "--json", "--no-save"])
    summary = json.loads(capsys.readouterr().out)
    assert summary["ignored"] == sorted(set(CHECK_ORDER) - {"Term Monotonicity"})
    assert code != 1 and summary["violation"] is None  # 0.3.17 stores its term


@pytest.mark.parametrize(("argv", "message"), [
    (["--property", "No Such Property"], "unknown property"),
    (["--property", "leader replaced"], "no safety property"),
    (["--liveness"], "progress properties"),
    (["--conformance", "--continue"], "--conformance"),
    (["--conformance", "--ignore", "Log Matching"], "--conformance"),
    (["--replay", "x.json", "--continue"], "--continue"),
])
def test_property_options_misused_are_usage_errors(argv: list[str], message: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fuzz", "--core", "pysyncobj", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
