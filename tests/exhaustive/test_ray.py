"""The Ray backend (`--ray ADDRESS`, model/search/ray_pool.py): the BFS's workers as Ray actors
and the Hypothesis engine's batches as Ray tasks give what one process gives (the distinct
count, the shortest counterexample, a fuzzing run's counts and failing run), checkpoints
cross between them, Ctrl-C stops a Ray run cleanly, a core from a file travels to the
workers, and every way of getting `--ray` wrong is one line and exit 2.

The tests that run Ray share one private Ray of 2 CPUs on this machine (`local_ray`); the
others run without Ray installed too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from raftcheck.impl.raft import CORE
from raftcheck.model.cli import main
from raftcheck.model.cores import load_core
from raftcheck.model.explore import DEFAULT_BOUNDS, UsageError, explore
from raftcheck.model.fuzz import fuzz
from raftcheck.model.search.ray_pool import RaySession, local_environment
from raftcheck.model.stateful import FUZZ_BOUNDS
from raftcheck.model.verdict import Verdict
from raftcheck.model.world import Bounds, Config, Model
from raftcheck.model.zoo import BUGS

SMALL = Bounds(max_term=2, max_log=1, values=1, max_messages=3, max_crashes=0,
               max_partitions=0, drop=False, duplicate=False)
TWO_NODES_FAULTS = Bounds(max_term=2, max_log=1, values=1, max_messages=2, max_crashes=1,
                          max_partitions=0, drop=True, duplicate=False)
SHALLOW_BUGS = ["two-votes-per-term", "vote-without-up-to-date-check", "quorum-off-by-one"]


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    """A private Ray of 2 CPUs for the module: every run below joins it (a run that finds
    Ray already started uses that session and leaves it running)."""
    with local_environment():  # Ray must first be imported as `--ray local` imports it
        ray = pytest.importorskip("ray")
    session = RaySession("local", 2)
    yield ray
    session.close()


def test_a_private_ray_listens_on_this_machine_only(local_ray: Any) -> None:
    assert {node["NodeManagerAddress"] for node in local_ray.nodes()} == {"127.0.0.1"}


@pytest.mark.parametrize("name", SHALLOW_BUGS)
def test_ray_finds_the_same_shortest_counterexample(local_ray: Any, name: str) -> None:
    bug = BUGS[name]
    model = Model(bug.core, Config(bug.nodes), bug.bounds)
    one = explore(model)
    two = explore(model, ray="local", workers=2)
    assert (two.verdict, two.distinct, two.depth) == (one.verdict, one.distinct, one.depth)
    assert two.violations[0].actions == one.violations[0].actions
    assert len(two.violations[0].actions) == bug.shortest
    assert two.ray == "local" and one.ray is None


@pytest.mark.slow
def test_ray_exhausts_the_default_bounds_like_one_process(local_ray: Any) -> None:
    """`raftcheck explore`'s defaults: 124,957 distinct states (about a minute each way)."""
    one = explore(Model(CORE, Config(3), DEFAULT_BOUNDS))
    two = explore(Model(CORE, Config(3), DEFAULT_BOUNDS), ray="local", workers=2)
    assert two.verdict == Verdict.PASS and two.distinct == 124_957
    assert (two.distinct, two.generated, two.depth, two.goals) == \
        (one.distinct, one.generated, one.depth, one.goals)


def test_checkpoints_cross_between_ray_and_one_process(local_ray: Any,
                                                       tmp_path: Path) -> None:
    plain = explore(Model(CORE, Config(3), SMALL))
    stopped = explore(Model(CORE, Config(3), SMALL), max_states=1000, checkpoint=tmp_path,
                      ray="local", workers=2)
    assert stopped.stop_reason == "max_states"
    again = explore(Model(CORE, Config(3), SMALL), max_states=2000, resume=tmp_path,
                    checkpoint=tmp_path)
    assert again.distinct == 2000
    done = explore(Model(CORE, Config(3), SMALL), resume=tmp_path, ray="local", workers=2)
    assert (done.verdict, done.distinct, done.generated, done.depth) == \
        (plain.verdict, plain.distinct, plain.generated, plain.depth)


def test_ctrl_c_stops_a_ray_search_with_a_resumable_checkpoint(local_ray: Any,
                                                               tmp_path: Path) -> None:
    model = Model(CORE, Config(2), TWO_NODES_FAULTS)
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    previous = signal.getsignal(signal.SIGINT)
    timer.start()
    try:
        stopped = explore(model, symmetry=False, checkpoint=tmp_path, ray="local", workers=2)
    finally:  # a SIGINT that comes after the search must not stop the test session
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        timer.cancel()
        timer.join()
        signal.signal(signal.SIGINT, previous)
    assert stopped.verdict == Verdict.INCOMPLETE and stopped.stop_reason == "interrupted"
    assert 0 < stopped.distinct < 11_208
    done = explore(model, symmetry=False, resume=tmp_path)
    assert (done.verdict, done.distinct, done.generated) == (Verdict.PASS, 11_208, 41_058)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_or_sigterm_to_the_group_stops_a_local_ray_run(tmp_path: Path,
                                                              signum: int) -> None:
    """A terminal's Ctrl-C goes to the whole process group, Ray's processes included, and so
    may a scheduler's SIGTERM (which Ray's driver takes over): the search still stops
    cleanly with exit 3 and its checkpoint."""
    pytest.importorskip("ray")
    # SIGINT as a terminal delivers it, even when the tests run in the background (which hands
    # it on ignored, and Python keeps an ignored SIGINT ignored)
    code = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
            "from raftcheck.model.cli import main; sys.exit(main(sys.argv[1:]))")
    process = subprocess.Popen(
        [sys.executable, "-c", code, "explore", "--ray", "local", "--workers", "2",
         "--checkpoint", str(tmp_path), "--checkpoint-every", "0.5", "--no-save",
         "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while not (tmp_path / "explore-checkpoint.marshal").exists():  # the search is running
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.2)
    os.killpg(process.pid, signum)  # the group this test started, nothing else
    out, err = process.communicate(timeout=120)
    assert process.returncode == 3, out + err
    assert "interrupted" in out and f"checkpoint: {tmp_path}" in out
    assert "Traceback" not in err
    resumed = explore(Model(CORE, Config(3), DEFAULT_BOUNDS), resume=tmp_path, max_states=1)
    assert resumed.stop_reason == "max_states"  # the checkpoint loads


def test_a_core_from_a_file_travels_to_the_ray_workers(local_ray: Any, tmp_path: Path) -> None:
    """`--core path.py:NAME` is a module only this process has; it goes to the workers by
    value (without that, their import of it fails)."""
    path = tmp_path / "filecore.py"
    path.write_text("from raftcheck.impl.raft import RaftCore\n\n\n"
                    "class FileCore(RaftCore):\n    name = 'file-core'\n\n\nCORE = FileCore()\n")
    model = Model(load_core(f"{path}:CORE"), Config(3), SMALL)
    result = explore(model, ray="local", workers=2)
    assert (result.verdict, result.distinct, result.core) == (Verdict.PASS, 3_273, "file-core")
    found = fuzz(model, seed=1, examples=60, ray="local", workers=2)
    assert found.examples == 60 and found.violation is None


def test_ray_fuzzing_finds_the_same_failing_run(local_ray: Any) -> None:
    """two-votes-per-term with seed 0 first fails in its second batch: the batches come back
    in batch order from Ray too."""
    bug = BUGS["two-votes-per-term"]
    model = Model(bug.core, Config(bug.nodes), FUZZ_BOUNDS)
    one = fuzz(model, seed=0, examples=150)
    two = fuzz(model, seed=0, examples=150, workers=2, ray="local")
    assert one.violation is not None
    assert (two.violation, two.actions, two.found_length, two.examples, two.steps) == (
        one.violation, one.actions, one.found_length, one.examples, one.steps)


def test_ray_fuzzing_counts_a_clean_run_the_same(local_ray: Any) -> None:
    """Distinct states are counted by hash in one process; Ray's processes hash None and
    strings each their own way, so they count by fingerprint: the same count."""
    model = Model(CORE, Config(), FUZZ_BOUNDS)
    one = fuzz(model, seed=3, examples=120)
    two = fuzz(model, seed=3, examples=120, workers=2, ray="local")
    assert one.violation is None and two.violation is None
    assert (two.examples, two.steps, two.distinct_states, two.goals) == (
        one.examples, one.steps, one.distinct_states, one.goals)


def test_more_workers_than_the_cluster_has_cpus_is_refused(local_ray: Any) -> None:
    with pytest.raises(UsageError, match="has 2 CPUs, fewer than --workers 3"):
        explore(Model(CORE, Config(3), SMALL), ray="local", workers=3)


# ------------------------------------------------------------------ without Ray running


@pytest.mark.parametrize("argv", [
    ["explore", "--ray", "nope"],
    ["explore", "--ray", ""],
    ["fuzz", "--ray", "ray://head", "--examples", "1"],
    ["explore", "--ray", "local", "--strategy", "dfs"],
    ["explore", "--ray", "local", "--exact"],
    ["fuzz", "--core", "pysyncobj", "--ray", "local"],
])
def test_ray_options_that_cannot_work_are_one_line(argv: list[str],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*argv, "--no-save"] if argv[0] == "explore" else argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ("--ray" in err or "--exact" in err), err


def test_an_address_nothing_listens_at_is_refused_at_once(
        capsys: pytest.CaptureFixture[str]) -> None:
    """Ray itself retries a head node it cannot reach for minutes (Ray Client for 30 s)."""
    started = time.monotonic()
    assert main(["explore", "--ray", "127.0.0.1:1", "--no-save"]) == 2
    assert main(["fuzz", "--ray", "ray://127.0.0.1:1", "--examples", "1"]) == 2
    assert time.monotonic() - started < 30
    err = capsys.readouterr().err
    assert err.count("cannot connect to Ray at") == 2 and err.count("\n") == 2, err


def test_without_ray_installed_ray_is_one_line(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    assert main(["explore", "--ray", "local", "--no-save"]) == 2
    assert main(["fuzz", "--ray", "local", "--examples", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("--ray needs Ray: pip install 'raftcheck[ray]'") == 2
    assert err.count("\n") == 2
