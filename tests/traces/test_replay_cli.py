"""`raftcheck replay` and saving from the engines: each outcome with its exit code, shrinking
into a new file, renderings, and one-line errors for bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from attrs import evolve

from raftcheck.model.cli import main
from raftcheck.model.cores import load_core
from raftcheck.model.replay import CLEAN, DIFFERENT, FIXED, REPRODUCED, STOPS_APPLYING, replay
from raftcheck.model.tracefile import load_trace, save_trace
from raftcheck.model.world import Crash, Timeout
from raftcheck.properties.violation import Violation

CORPUS = Path(__file__).parent.parent / "regressions"
QUORUM = CORPUS / "quorum-off-by-one.json"  # 1 step, Elected By Majority
STOPS = CORPUS / "vote-without-up-to-date-check.json"  # stops applying on raft at step 11
LONG = STOPS  # 11 steps: something to shrink and to draw


def _copy(path: Path, tmp_path: Path) -> Path:
    target = tmp_path / path.name
    shutil.copy(path, target)
    return target


def test_reproduced_is_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(QUORUM)]) == 1
    out = capsys.readouterr().out
    assert "REPRODUCED: Elected By Majority at the same step" in out
    assert "  1. n" in out  # the numbered text trace comes first


def test_fixed_is_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(QUORUM), "--core", "raft"]) == 0
    assert "FIXED: all 1 step run and no property is violated (recorded: Elected By Majority)" \
        in capsys.readouterr().out


def test_stops_applying_is_exit_3_and_says_which_step_and_why(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(STOPS), "--core", "raft"]) == 3
    out = capsys.readouterr().out
    assert "STOPS APPLYING at step 11: deliver RequestVoteResponse n0→n1" in out
    assert "that message is not in flight" in out
    assert "⊘ step 11 does not apply" in out


def test_different_violation_is_exit_1(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    trace = load_trace(QUORUM)
    relabelled = evolve(trace, violation=Violation("Log Matching", "old", "why"))
    path = save_trace(tmp_path / "t.json", relabelled)
    assert main(["replay", str(path)]) == 1
    assert "DIFFERENT VIOLATION: Elected By Majority at step 1 (recorded Log Matching)" in \
        capsys.readouterr().out


def test_clean_trace_stays_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = evolve(load_trace(QUORUM), violation=None, actions=(Timeout(1), Crash(0)))
    path = save_trace(tmp_path / "clean.json", trace)
    assert main(["replay", str(path), "--core", "raft"]) == 0
    assert "CLEAN: all 2 steps run" in capsys.readouterr().out


def test_the_api_outcomes() -> None:
    trace = load_trace(STOPS)
    broken = trace.model(load_core(trace.core.spec))
    assert replay(broken, trace.actions, trace.violation).outcome == REPRODUCED
    raft = trace.model(load_core("raft"))
    result = replay(raft, trace.actions, trace.violation)
    assert (result.outcome, result.step, len(result.actions)) == (STOPS_APPLYING, 11, 10)
    assert result.exit_code == 3
    assert replay(raft, trace.actions[:10], trace.violation).outcome == FIXED
    assert replay(raft, trace.actions[:10], None).outcome == CLEAN
    other = Violation("Log Matching", "d", "w")
    assert replay(broken, trace.actions, other).outcome == DIFFERENT


def test_shrink_saves_a_new_file_and_never_the_input(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    source = _copy(LONG, tmp_path)
    before = source.read_bytes()
    assert main(["replay", str(source), "--shrink"]) == 1
    out = capsys.readouterr().out
    shrunk = tmp_path / "vote-without-up-to-date-check.shrunk.json"
    assert f"saved {shrunk}" in out
    assert source.read_bytes() == before
    small = load_trace(shrunk)
    original = load_trace(source)
    assert small.violation is not None and original.violation is not None
    assert small.violation.property == original.violation.property
    assert len(small.actions) <= len(original.actions)
    assert small.metadata["shrunk_from"]["steps"] == len(original.actions)
    # again: a fresh name, the first shrunk file untouched
    assert main(["replay", str(source), "--shrink"]) == 1
    assert (tmp_path / "vote-without-up-to-date-check.shrunk-2.json").exists()
    # an explicit target that exists is refused
    assert main(["replay", str(source), "--shrink", "--shrunk", str(source)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert source.read_bytes() == before


def test_renderings_to_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "t.html"
    assert main(["replay", str(LONG), "--format", "html", "--out", str(page)]) == 1
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>") and "REPRODUCED: Leader Completeness" in text
    diagram = tmp_path / "t.mmd"
    assert main(["replay", str(LONG), "--format", "mermaid", "--out", str(diagram)]) == 1
    assert diagram.read_text().startswith("sequenceDiagram\n")
    capsys.readouterr()
    assert main(["replay", str(QUORUM), "--format", "mermaid"]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith("sequenceDiagram")  # the rendering is stdout...
    assert "REPRODUCED" in captured.err  # ...and the verdict goes to stderr


def test_json_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(STOPS), "--core", "raft", "--json"]) == 3
    summary = json.loads(capsys.readouterr().out)
    assert summary["outcome"] == "stops applying" and summary["exit_code"] == 3
    assert summary["stopped"]["step"] == 11 and summary["steps_run"] == 10
    assert summary["recorded"]["property"] == "Leader Completeness"
    assert summary["core"] == {"spec": "raft", "name": "raft"}


@pytest.mark.parametrize(("argv", "message"), [
    (["replay", "missing.json"], "cannot read missing.json"),
    (["replay", str(QUORUM), "--core", "no-such-core"], "unknown core 'no-such-core'"),
    (["replay", str(QUORUM), "--format", "html", "--json"], "needs --out"),
])
def test_bad_input_is_exit_2_in_one_line(argv: list[str], message: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_an_unloadable_recorded_core_suggests_core(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    trace = load_trace(QUORUM)
    path = save_trace(tmp_path / "t.json", evolve(trace, core=evolve(
        trace.core, spec="gone_module:CORE")))
    assert main(["replay", str(path)]) == 2
    assert "use --core" in capsys.readouterr().err


# ------------------------------------------------------------------------------ engines save


def test_fuzz_saves_its_counterexample(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "found.json"
    argv = ["fuzz", "--core", "quorum-off-by-one", "--seed", "1", "--examples", "100",
            "--no-progress"]
    assert main([*argv, "--save", str(target)]) == 1
    assert f"trace saved: {target}" in capsys.readouterr().out
    trace = load_trace(target)
    assert (trace.engine, trace.core.spec, trace.seed) == ("fuzz", "quorum-off-by-one", 1)
    assert main(["replay", str(target)]) == 1
    # the same --save again: a fresh name, shown in the JSON summary
    capsys.readouterr()
    assert main([*argv, "--save", str(target), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["trace_file"] == str(tmp_path / "found-2.json")
    assert load_trace(tmp_path / "found-2.json").actions == trace.actions


def test_fuzz_json_names_the_default_file(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["fuzz", "--core", "quorum-off-by-one", "--seed", "1", "--examples", "100",
            "--json"]
    assert main(argv) == 1
    summary = json.loads(capsys.readouterr().out)
    saved = Path(summary["trace_file"])
    assert saved.name.startswith("fuzz-quorum-off-by-one-1") and saved.exists()
    assert load_trace(saved).violation is not None
    assert main([*argv, "--no-save"]) == 1
    assert json.loads(capsys.readouterr().out)["trace_file"] is None


def test_explore_saves_every_counterexample(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", "--core", "quorum-off-by-one", "--max-term", "1", "--json"]) == 1
    summary = json.loads(capsys.readouterr().out)
    [saved] = summary["trace_files"]
    trace = load_trace(saved)
    assert trace.engine == "explore" and trace.seed is None
    assert Path(saved).name.startswith("explore-quorum-off-by-one-")
    assert main(["replay", saved]) == 1


def test_a_trace_file_never_makes_raftcheck_import_code(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A shared trace names its core; replaying it must not import (and so run) a module the
    file names. Only bundled cores and raftcheck's own modules load without --core."""
    marker = tmp_path / "ran"
    (tmp_path / "planted_core.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nfrom raftcheck.impl.raft import CORE\n")
    monkeypatch.chdir(tmp_path)  # the current directory is importable, as for --core
    trace = load_trace(QUORUM)
    for spec in ("planted_core:CORE", f"{tmp_path / 'planted_core.py'}:CORE"):
        path = save_trace(tmp_path / f"t{len(spec)}.json",
                          evolve(trace, core=evolve(trace.core, spec=spec)))
        assert main(["replay", str(path)]) == 2
        err = capsys.readouterr().err
        assert "never makes raftcheck import code" in err and err.count("\n") == 1
        assert not marker.exists()
    # the user's explicit say-so loads it
    assert main(["replay", str(path), "--core", "planted_core:CORE"]) in (0, 1)
    assert marker.exists()
    capsys.readouterr()
    # raftcheck's own modules need no say-so
    own = save_trace(tmp_path / "own.json", evolve(trace, core=evolve(
        trace.core, spec="raftcheck.impl.refactors:MEDIAN_COMMIT")))
    assert main(["replay", str(own)]) in (0, 1)


def test_output_paths_never_replace_what_a_user_saved(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "t.json"
    trace.write_bytes(QUORUM.read_bytes())
    original = trace.read_bytes()
    # --out naming the input itself: refused, the trace intact
    assert main(["replay", str(trace), "--out", str(trace), "--format", "mermaid"]) == 2
    assert trace.read_bytes() == original
    assert "is the trace being replayed" in capsys.readouterr().err
    # an existing --out: refused unless --force, and written whole when forced
    out = tmp_path / "diagram.mmd"
    out.write_text("mine")
    assert main(["replay", str(trace), "--out", str(out), "--format", "mermaid"]) == 2
    assert out.read_text() == "mine" and "--force" in capsys.readouterr().err
    assert main(["replay", str(trace), "--out", str(out), "--format", "mermaid",
                 "--force"]) in (0, 1)
    assert out.read_text().startswith("sequenceDiagram")
    # explore --trace-out: refused before the search runs
    kept = tmp_path / "trace.py"
    kept.write_text("mine")
    assert main(["explore", "--core", "quorum-off-by-one", "--trace-out", str(kept),
                 "--no-save"]) == 2
    assert kept.read_text() == "mine"


def test_a_trace_whose_steps_were_cut_away_is_damaged_not_fixed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Deleting a regression file's actions must not make it replay as FIXED (exit 0)."""
    document = json.loads(QUORUM.read_text())
    document["actions"] = []
    path = tmp_path / "cut.json"
    path.write_text(json.dumps(document))
    assert main(["replay", str(path)]) == 2
    err = capsys.readouterr().err
    assert "damaged: 'steps' says 1 but the file holds 0 actions" in err
    assert err.count("\n") == 1
