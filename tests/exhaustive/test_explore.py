"""The bounded exhaustive engine (`raftcheck explore`): pinned state-space sizes, verdicts on
the correct and the broken cores, shortest counterexamples that replay, and the guarantees of
the long-run machinery (symmetry, workers, checkpoint/resume, Ctrl-C) that must never change
a count or a verdict.

The pinned sizes are the model's fingerprint: a change to the core, the world or the bounds
that changes them must be a deliberate update here (as Stateright pins 288 / 8,832 / 665
states for two-phase commit)."""

from __future__ import annotations

import argparse
import json
import marshal
import os
import signal
import threading
from pathlib import Path

import pytest

from raftcheck.impl.broken import BROKEN_CORES
from raftcheck.impl.raft import CORE
from raftcheck.model.cli.explore import add_arguments, run
from raftcheck.model.explore import (
    CHECKPOINT_FILE,
    CHECKPOINT_MAGIC,
    DEFAULT_BOUNDS,
    ExploreResult,
    UsageError,
    explore,
)
from raftcheck.model.verdict import Exit, Verdict
from raftcheck.model.world import Bounds, Config, Model
from raftcheck.model.zoo import BUGS
from raftcheck.properties import GOALS

# (nodes, bounds) -> (distinct with symmetry, without, generated with, without, depth)
SMALL = Bounds(max_term=2, max_log=1, values=1, max_messages=3, max_crashes=0,
               max_partitions=0, drop=False, duplicate=False)
TWO_NODES_FAULTS = Bounds(max_term=2, max_log=1, values=1, max_messages=2, max_crashes=1,
                          max_partitions=0, drop=True, duplicate=False)
PARTITION = Bounds(max_term=1, max_log=1, values=1, max_messages=2, max_crashes=0,
                   max_partitions=1, drop=True, duplicate=False)
TINY = Bounds(max_term=1, max_log=1, max_messages=3, max_crashes=0, drop=False)
PINNED = [
    (3, SMALL, 3_273, 19_573, 8_094, 48_411, 39),
    # Drops add a few states: a vote whose answer was lost stays in the ghost ballots while
    # its candidate campaigns (properties' Elected By Majority reads them).
    (2, TWO_NODES_FAULTS, 5_611, 11_208, 20_556, 41_058, 22),
    (3, PARTITION, 3_209, 18_985, 10_964, 64_752, 23),
]


def small_model(core: object = CORE, bounds: Bounds = SMALL, nodes: int = 3) -> Model:
    return Model(core, Config(nodes), bounds)  # type: ignore[arg-type]


@pytest.mark.parametrize(("nodes", "bounds", "reduced", "full", "generated_reduced",
                          "generated_full", "depth"), PINNED)
@pytest.mark.parametrize("symmetry", [True, False], ids=["symmetry", "no-symmetry"])
def test_pinned_state_space_sizes(nodes: int, bounds: Bounds, reduced: int, full: int,
                                  generated_reduced: int, generated_full: int, depth: int,
                                  symmetry: bool) -> None:
    result = explore(Model(CORE, Config(nodes), bounds), symmetry=symmetry)
    assert result.verdict == Verdict.PASS, result
    assert result.complete and result.stop_reason == "exhausted"
    assert (result.distinct, result.generated, result.depth) == (
        (reduced, generated_reduced, depth) if symmetry else (full, generated_full, depth))
    assert result.exit_code == Verdict.PASS.exit_code


@pytest.mark.slow
def test_correct_core_passes_at_the_default_bounds() -> None:
    result = explore(Model(CORE, Config(3), DEFAULT_BOUNDS))
    assert result.verdict == Verdict.PASS and result.complete
    assert result.goals == frozenset(GOALS)
    assert result.distinct == 124_957


def test_correct_core_reaches_every_goal_in_a_small_space() -> None:
    result = explore(small_model())
    assert result.goals == frozenset(GOALS)


# The zoo's catalogue (model/zoo.py) pins each broken core's bounds, property and shortest
# length; tests/zoo checks all of them. Here a few shallow ones check the engine's machinery.
BROKEN = {name: (bug.bounds, bug.breaks, bug.shortest) for name, bug in BUGS.items()}
FAST = ["two-votes-per-term", "vote-without-up-to-date-check", "quorum-off-by-one"]
DEEP = ["append-without-consistency-check", "match-index-from-leader-log",
        "commit-previous-term-by-counting"]


def check_counterexample(model: Model, result: ExploreResult, expected: str,
                         length: int) -> None:
    assert result.verdict == Verdict.VIOLATION
    assert result.exit_code == Verdict.VIOLATION.exit_code
    found = result.violations[0]
    assert found.property == expected
    assert found.shortest
    assert len(found.actions) == length
    states = model.run(list(found.actions))  # replays: every action enabled in turn
    from raftcheck.properties import check_transition

    assert check_transition(states[-2], states[-1]) == found.violation


@pytest.mark.parametrize("name", FAST)
def test_symmetry_never_changes_a_verdict(name: str) -> None:
    bounds, expected, length = BROKEN[name]
    model = Model(BROKEN_CORES[name], Config(3), bounds)
    check_counterexample(model, explore(model, symmetry=False), expected, length)


@pytest.mark.slow
@pytest.mark.parametrize("name", DEEP)
def test_symmetry_never_changes_a_deep_verdict(name: str) -> None:
    bounds, expected, length = BROKEN[name]
    model = Model(BROKEN_CORES[name], Config(3), bounds)
    check_counterexample(model, explore(model, symmetry=False), expected, length)


@pytest.mark.parametrize("name", [*FAST, pytest.param("append-without-consistency-check",
                                                       marks=pytest.mark.slow)])
def test_default_bounds_catch_the_shallow_broken_cores(name: str) -> None:
    result = explore(Model(BROKEN_CORES[name], Config(3), DEFAULT_BOUNDS))
    assert result.verdict == Verdict.VIOLATION


def test_iterative_deepening_agrees_on_the_shortest_length() -> None:
    bounds, expected, length = BROKEN["vote-without-up-to-date-check"]
    model = Model(BROKEN_CORES["vote-without-up-to-date-check"], Config(3), bounds)
    check_counterexample(model, explore(model, strategy="iddfs"), expected, length)


def test_all_violations_collects_one_counterexample_per_property() -> None:
    """Two votes in a term show first as a changed vote (3 steps), later as two leaders."""
    model = Model(BROKEN_CORES["two-votes-per-term"], Config(3),
                  Bounds(max_term=1, max_log=0, max_messages=5, max_crashes=0, drop=False))
    result = explore(model, all_violations=True)
    summary = [(found.property, len(found.actions)) for found in result.violations]
    assert summary == [("Single Vote Per Term", 3), ("Election Safety", 8)]
    assert result.complete and result.stop_reason == "exhausted"
    for found in result.violations:
        model.run(list(found.actions))


# ------------------------------------------------------------------ other strategies


def test_depth_first_visits_the_same_states() -> None:
    result = explore(small_model(), strategy="dfs")
    assert result.verdict == Verdict.PASS
    assert result.distinct == 3_273


def test_iterative_deepening_is_complete_when_the_space_is() -> None:
    result = explore(small_model(bounds=TINY), strategy="iddfs")
    bfs = explore(small_model(bounds=TINY))
    assert result.verdict == bfs.verdict == Verdict.PASS
    assert result.distinct == bfs.distinct


def test_simulation_finds_a_bug_reproducibly_and_never_passes() -> None:
    model = Model(BROKEN_CORES["two-votes-per-term"], Config(3), DEFAULT_BOUNDS)
    first = explore(model, strategy="simulate", seed=7, walks=200, walk_depth=30)
    again = explore(model, strategy="simulate", seed=7, walks=200, walk_depth=30)
    assert first.verdict == Verdict.VIOLATION
    assert first.violations[0].actions == again.violations[0].actions
    assert not first.violations[0].shortest
    model.run(list(first.violations[0].actions))
    clean = explore(small_model(), strategy="simulate", seed=1, walks=20, walk_depth=20)
    assert clean.verdict == Verdict.INCOMPLETE
    assert clean.exit_code == Verdict.INCOMPLETE.exit_code


# ------------------------------------------------------------------ incomplete is never a pass


@pytest.mark.parametrize("limit", [{"max_depth": 5}, {"max_states": 100},
                                   {"max_seconds": 0.0}])
@pytest.mark.parametrize("strategy", ["bfs", "dfs", "iddfs"])
def test_a_run_stopped_by_a_limit_is_incomplete(limit: dict[str, float],
                                                strategy: str) -> None:
    result = explore(small_model(), strategy=strategy, **limit)  # type: ignore[arg-type]
    assert result.verdict == Verdict.INCOMPLETE, result
    assert result.exit_code == Verdict.INCOMPLETE.exit_code
    assert not result.complete


def test_a_space_without_any_goal_is_a_broken_model() -> None:
    result = explore(small_model(bounds=Bounds(max_term=0, max_messages=3, max_crashes=0)))
    assert result.complete and result.distinct == 1
    assert result.verdict == Verdict.VACUOUS
    assert result.exit_code == Verdict.VACUOUS.exit_code


# ------------------------------------------------------------------ same counts, however run


def test_workers_give_the_same_counts_and_counterexample() -> None:
    for symmetry, bounds in ((True, SMALL), (False, TINY)):
        one = explore(small_model(bounds=bounds), symmetry=symmetry)
        two = explore(small_model(bounds=bounds), symmetry=symmetry, workers=2)
        assert (two.verdict, two.distinct, two.generated, two.depth) == \
            (one.verdict, one.distinct, one.generated, one.depth)
    model = Model(BROKEN_CORES["vote-without-up-to-date-check"], Config(3), SMALL)
    assert explore(model, workers=2).violations[0].actions == \
        explore(model).violations[0].actions


@pytest.mark.parametrize("workers", [1, 2])
def test_checkpoint_and_resume_finish_with_the_same_counts(tmp_path: Path,
                                                           workers: int) -> None:
    plain = explore(small_model())
    stopped = explore(small_model(), max_states=1000, checkpoint=tmp_path, workers=workers)
    assert stopped.verdict == Verdict.INCOMPLETE and stopped.stop_reason == "max_states"
    again = explore(small_model(), max_states=2000, resume=tmp_path, checkpoint=tmp_path)
    assert again.verdict == Verdict.INCOMPLETE and again.distinct == 2000
    done = explore(small_model(), resume=tmp_path, workers=3 - workers)
    assert (done.verdict, done.distinct, done.generated, done.depth) == \
        (plain.verdict, plain.distinct, plain.generated, plain.depth)


def test_resume_refuses_a_checkpoint_of_another_search(tmp_path: Path) -> None:
    explore(small_model(), max_states=100, checkpoint=tmp_path)
    with pytest.raises(UsageError, match="different search"):
        explore(small_model(), resume=tmp_path, symmetry=False)
    with pytest.raises(UsageError, match="no checkpoint"):
        explore(small_model(), resume=tmp_path / "missing")


def test_resume_refuses_a_checkpoint_in_an_older_format(tmp_path: Path) -> None:
    """The encoding of a state changed (ghost ballots); an older checkpoint is refused with
    a reason, not decoded into the wrong shape."""
    explore(small_model(), max_states=100, checkpoint=tmp_path)
    path = tmp_path / CHECKPOINT_FILE
    older = {"magic": "raftcheck-explore-checkpoint-1", "digest": "0", "payload": b""}
    path.write_bytes(marshal.dumps(older))  # the sealed dictionary of the older formats
    with pytest.raises(UsageError, match=r"older format .*start the search again"):
        explore(small_model(), resume=tmp_path)


def _records(path: Path) -> list[object]:
    """The records of a checkpoint file (after its magic line, before its digest)."""
    data = path.read_bytes()[len(CHECKPOINT_MAGIC):]
    records, offset = [], 0
    while len(data) - offset > 32:
        size = int.from_bytes(data[offset:offset + 8], "little")
        records.append(marshal.loads(data[offset + 8:offset + 8 + size]))
        offset += 8 + size
    return records


def _write(path: Path, records: list[object], reseal: bool) -> None:
    """Write `records` as a checkpoint; with a digest that matches them if `reseal`."""
    import hashlib

    framed = b"".join(len(data).to_bytes(8, "little") + data
                      for data in (marshal.dumps(record) for record in records))
    digest = hashlib.blake2b(framed, digest_size=16).hexdigest() if reseal else "0" * 32
    path.write_bytes(CHECKPOINT_MAGIC + framed + digest.encode())


@pytest.mark.parametrize("edit", ["empty the frontier", "delete a field", "wrong type",
                                  "empty and reseal", "truncate", "huge record size"])
def test_resume_refuses_a_damaged_checkpoint(tmp_path: Path, edit: str) -> None:
    """A checkpoint edited by hand, even into valid marshal data, is refused in one line:
    an emptied frontier used to resume to PASS after a fraction of the states."""
    explore(small_model(), max_states=300, checkpoint=tmp_path)
    path = tmp_path / CHECKPOINT_FILE
    if edit == "truncate":
        path.write_bytes(path.read_bytes()[:-100])
    elif edit == "huge record size":  # must not be allocated before it is refused
        data = path.read_bytes()
        at = len(CHECKPOINT_MAGIC)
        path.write_bytes(data[:at] + (2**62).to_bytes(8, "little") + data[at + 8:])
    else:
        records = _records(path)
        header = records[0]
        assert isinstance(header, dict)
        if edit in ("empty the frontier", "empty and reseal"):
            chunks = -(-header["frontier"] // 4096) + -(-header["next_frontier"] // 4096)
            records = records[:len(records) - chunks]
            header["frontier"] = header["next_frontier"] = 0
        elif edit == "delete a field":
            del header["levels"]
        else:
            header["position"] = "three"
        _write(path, records, reseal=edit != "empty the frontier")
    with pytest.raises(UsageError, match="damaged"):
        explore(small_model(), resume=tmp_path)


def test_ctrl_c_stops_with_partial_statistics_and_a_resumable_checkpoint(
        tmp_path: Path) -> None:
    model = small_model(bounds=TWO_NODES_FAULTS, nodes=2)
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    previous = signal.getsignal(signal.SIGINT)
    timer.start()
    try:
        stopped = explore(model, symmetry=False, checkpoint=tmp_path)
    finally:  # a SIGINT that comes after the search must not stop the test session
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        timer.cancel()
        timer.join()
        signal.signal(signal.SIGINT, previous)
    assert stopped.verdict == Verdict.INCOMPLETE and stopped.stop_reason == "interrupted"
    assert 0 < stopped.distinct < 11_208
    done = explore(model, symmetry=False, resume=tmp_path)
    assert (done.verdict, done.distinct, done.generated) == (Verdict.PASS, 11_208, 41_058)


def test_exact_mode_detects_no_collision() -> None:
    result = explore(small_model(), exact=True)
    assert result.exact and result.collisions == 0
    assert result.distinct == 3_273 and result.verdict == Verdict.PASS


# ------------------------------------------------------------------ the CLI


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return run(parser.parse_args(list(argv)))


SMALL_ARGS = ("--max-term", "2", "--max-log", "1", "--max-messages", "3", "--max-crashes",
              "0", "--no-drop")


def test_cli_exit_codes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli(*SMALL_ARGS) == Verdict.PASS.exit_code
    out = capsys.readouterr().out
    assert "PASS" in out and "term≤2 log≤1" in out and "3,273 distinct" in out
    trace = tmp_path / "trace.py"
    assert cli("--core", "two-votes-per-term", "--max-term", "1", "--max-log", "0",
               "--max-messages", "4", "--max-crashes", "0", "--no-drop",
               "--trace-out", str(trace)) == Verdict.VIOLATION.exit_code
    out = capsys.readouterr().out
    assert "Single Vote Per Term" in out and "Counterexample (shortest)" in out
    namespace: dict[str, object] = {}
    exec(trace.read_text(), namespace)
    Model(BROKEN_CORES["two-votes-per-term"], Config(3), BROKEN["two-votes-per-term"][0]
          ).run(namespace["actions"])  # type: ignore[arg-type]
    assert cli(*SMALL_ARGS, "--max-states", "10") == Verdict.INCOMPLETE.exit_code
    assert "INCOMPLETE" in capsys.readouterr().out
    assert cli(*SMALL_ARGS, "--strategy", "dfs", "--workers", "2") == Exit.USAGE
    assert "error" in capsys.readouterr().err
    assert cli("--max-term", "0", "--max-crashes", "0") == Verdict.VACUOUS.exit_code
    assert cli("--nodes", "12") == Exit.USAGE


def test_cli_json_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(*SMALL_ARGS, "--json") == Verdict.PASS.exit_code
    summary = json.loads(capsys.readouterr().out)
    assert summary["verdict"] == "PASS" and summary["distinct"] == 3_273
    assert summary["bounds"]["max_term"] == 2 and summary["symmetry"]
    assert summary["goals_missed"] == []


def test_the_cli_says_where_the_checkpoint_is_and_what_differs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from raftcheck.model.cli import main

    where = str(tmp_path / "ck")
    assert main(["explore", "--max-states", "300", "--checkpoint", where, "--no-save"]) == 3
    assert f"--resume {where}" in capsys.readouterr().out
    assert main(["explore", "--resume", where, "--max-term", "3", "--no-save"]) == 2
    err = capsys.readouterr().err
    assert "it has term≤2" in err and "this search has term≤3" in err
    assert "[" not in err and err.count("\n") == 1  # no raw Python list


@pytest.mark.parametrize("strategy", ["bfs", "iddfs", "simulate"])
def test_the_last_status_line_is_the_result(strategy: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    model = Model(CORE, Config(3), Bounds(max_term=1, max_log=1, max_messages=3,
                                          max_crashes=0, drop=False))
    result = explore(model, strategy=strategy, progress=True, walks=50)
    err = " ".join(capsys.readouterr().err.split())  # rich wraps lines at 80 columns
    last = err.rsplit(f"explore raft ({strategy}):", 1)[-1]
    assert (f"{result.distinct:,} distinct, {result.generated:,} generated, depth "
            f"{result.depth}, queue {result.queue:,}") in last


def test_a_worker_killed_from_outside_stops_the_search_as_lost() -> None:
    """A worker process that dies (the out-of-memory killer, a signal meant for it alone) is a
    `WorkerLost` naming the process and the signal, which the CLI reports in one line with
    exit 3; not an EOFError from the pipe."""
    from raftcheck.model.search.checkpoint import new_queue
    from raftcheck.model.search.common import WorkerLost
    from raftcheck.model.search.pool import Workers

    model = Model(CORE, Config(3), SMALL)
    workers = Workers(model, True, 2)
    try:
        frontier = new_queue(model, encoded=True)
        frontier.append(model.encode(model.initial_state()))
        os.kill(workers.processes[0].pid, signal.SIGKILL)
        workers.processes[0].join()
        with pytest.raises(WorkerLost, match=r"worker process \d+ was killed by signal 9"):
            list(workers.expand(frontier, 0))
    finally:
        workers.close()
