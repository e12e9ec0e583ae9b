"""Cut short from outside: `raftcheck ... | head` (a reader that leaves early) gets no traceback on
stderr, and SIGINT to a hunt gets exit 3, never a verdict. The closed pipe: the command
exits 3 (its report was cut short), never 1 (the code for a violation)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest


@pytest.mark.parametrize("argv", [["break", "--list"], ["--list-cores"],
                                  ["break", "--show", "quorum-off-by-one"]])
def test_a_closed_pipe_is_not_a_traceback(argv: list[str]) -> None:
    # SIGINT as a terminal delivers it, even when the tests run in the background (which hands
    # it on ignored, and Python keeps an ignored SIGINT ignored)
    code = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
            "from raftcheck.model.cli import main; sys.exit(main(sys.argv[1:]))")
    process = subprocess.Popen([sys.executable, "-c", code, *argv], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, bufsize=0)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.read(1)  # the first byte, then hang up
    process.stdout.close()
    err = process.stderr.read().decode()
    returncode = process.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert returncode in (0, 3)


@pytest.mark.parametrize("argv", [
    ["break", "accept-stale-term-append", "--engines", "exhaustive", "--no-progress"],
    ["break", "--show", "accept-stale-term-append"],
])
def test_an_interrupted_hunt_is_inconclusive_never_escaped(argv: list[str]) -> None:
    """SIGINT to a hunt that has not found its bug yet: exit 3 and "interrupted", never the
    ESCAPED verdict (exit 1) that a miss within the whole budget earns."""
    # SIGINT as a terminal delivers it, even when the tests run in the background (which hands
    # it on ignored, and Python keeps an ignored SIGINT ignored)
    code = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
            "from raftcheck.model.cli import main; sys.exit(main(sys.argv[1:]))")
    argv = [arg for arg in argv if arg != "--no-progress"]
    process = subprocess.Popen([sys.executable, "-c", code, *argv], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    time.sleep(4)  # the BFS for this bug takes minutes
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 3, out + err
    assert "interrupted" in (out + err).lower() and "ESCAPED" not in out
    assert "Traceback" not in err


def test_an_interrupted_proof_is_inconclusive_never_not_inductive() -> None:
    """SIGINT to `raftcheck prove` mid-proof: it stops promptly, says INTERRUPTED, exits 3;
    never NOT INDUCTIVE (z3 turns the signal into an unknown answer, which must not read as
    a failed check)."""
    # SIGINT as a terminal delivers it, even when the tests run in the background (which hands
    # it on ignored, and Python keeps an ignored SIGINT ignored)
    code = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
            "from raftcheck.model.cli import main; sys.exit(main(sys.argv[1:]))")
    process = subprocess.Popen([sys.executable, "-c", code, "prove"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    time.sleep(6)  # z3 imported, the proof under way (the default proof takes a minute)
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 3, out + err
    assert "INTERRUPTED" in out or "interrupted" in err
    assert "NOT INDUCTIVE" not in out and "NOT PROVEN" not in out and "Traceback" not in err
    assert time.monotonic() - started < 20


@pytest.mark.parametrize("argv", [["prove", "--lemmas", "--json"], ["break", "--list", "--json"],
                                  ["break", "--show", "quorum-off-by-one", "--json"]])
def test_json_is_honoured_where_it_is_accepted(argv: list[str],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from raftcheck.model.cli import main

    assert main(argv) == 0
    document = json.loads(capsys.readouterr().out)
    assert document and isinstance(document, (list, dict))


def test_prove_refuses_a_single_server(capsys: pytest.CaptureFixture[str]) -> None:
    """A 1-node cluster sends no messages: refused up front (exit 2, one line), not run to a
    NOT PROVEN (exit 1, the code for a finding)."""
    from raftcheck.model.cli import main

    assert main(["prove", "--nodes", "1"]) == 2
    err = capsys.readouterr().err
    assert "--nodes must be at least 2" in err and err.count("\n") == 1


@pytest.mark.parametrize(("argv", "message"), [
    (["replay", "/dev/zero"], "larger than 64 MiB"),
    (["explore", "--values", "65535"], "values must be at most 1,000"),
    (["fuzz", "--steps", "300000"], "steps must be between 1 and 10,000"),
    (["fuzz", "--workers", "1000"], "--workers must be at most 64"),
    (["diff", "raft", "raft", "--workers", "500"], "--workers must be at most 64"),
    (["break", "--workers", "999"], "--workers must be at most 64"),
])
def test_inputs_have_sane_limits(argv: list[str], message: str,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    from raftcheck.model.cli import main

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_long_runs_are_not_a_health_check_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    """Runs of 300 steps are large inputs by design; Hypothesis' size health checks are off
    (they failed such runs before they started, with a traceback and exit 1)."""
    from raftcheck.model.cli import main

    assert main(["fuzz", "--steps", "300", "--examples", "3", "--seed", "1", "--no-save",
                 "--no-progress"]) in (0, 3)
    assert "Traceback" not in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from raftcheck.model.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("raftcheck ")


def test_check_says_how_far_it_is(capsys: pytest.CaptureFixture[str]) -> None:
    """`raftcheck check` runs for a minute: with --progress (the default on a terminal) it
    says which part runs and how far the fuzzing is."""
    from raftcheck.model.cli import main

    assert main(["check", "--quick", "--seed", "1", "--core", "quorum-off-by-one",
                 "--progress"]) == 1
    err = capsys.readouterr().err
    assert "check: scenarios" in err and "check: explore" in err


def test_sigterm_ends_explore_with_its_partial_summary() -> None:
    """`timeout` sends SIGTERM: explore stops like on Ctrl-C, prints what it covered, exit 3."""
    # SIGINT as a terminal delivers it, even when the tests run in the background (which hands
    # it on ignored, and Python keeps an ignored SIGINT ignored)
    code = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
            "from raftcheck.model.cli import main; sys.exit(main(sys.argv[1:]))")
    process = subprocess.Popen([sys.executable, "-c", code, "explore", "--max-term", "3",
                                "--no-save", "--no-progress"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(5)  # this search takes minutes
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 3, out + err
    assert "INCOMPLETE" in out and "interrupted" in out and "distinct" in out
    assert "Traceback" not in err


@pytest.mark.parametrize(("argv", "message"), [
    (["explore", "--walks", "5"], "--walks applies to --strategy simulate only"),
    (["explore", "--strategy", "dfs", "--bias", "kind"], "--bias applies to --strategy"),
    (["replay", "tests/regressions/quorum-off-by-one.json", "--shrunk", "x.json"],
     "give --shrink too"),
])
def test_options_that_would_do_nothing_are_refused(
        argv: list[str], message: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    from raftcheck.model.cli import main

    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_vacuous_search_says_why_no_leader_was_elected(
        capsys: pytest.CaptureFixture[str]) -> None:
    from raftcheck.model.cli import main

    assert main(["explore", "--nodes", "9", "--no-save"]) == 3
    out = capsys.readouterr().out
    assert "BROKEN MODEL" in out and "raise --max-messages to at least 8" in out


def test_fuzz_progress_names_its_target() -> None:
    from raftcheck.model.cli.fuzz import progress_target
    from raftcheck.model.stateful import RunStats

    stats = RunStats(examples=40)
    assert progress_target(200, None, "ci")(stats, 3.0) == "run 40/200"
    assert progress_target(None, None, "ci")(stats, 3.0) == "run 40/400"
    assert progress_target(None, 30.0, "ci")(stats, 12.4) == "18 s left"
