"""Render a trace file (or a built-in demo) to HTML and screenshot it in headless chromium.

    python scripts/screenshot_trace.py TRACE.json --png out.png [--html out.html]
    python scripts/screenshot_trace.py --demo --png docs/images/trace-demo.png

The demo is a scripted run of the bundled `raft` core that uses every kind of step the chart
marks: an election, replication, a partition that leaves two leaders of different terms, a
dropped message, a duplicated one, a crash and restart, and the heal after which the old leader
steps down and its uncommitted entry is overwritten. `tests/regressions/test_html_browser.py`
loads the same page in chromium and checks what rendered.

Chromium is Debian's (`apt-get install -y chromium`); as root it needs `--no-sandbox`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from raftcheck.impl.raft import (
    CORE,  # (imports after the sys.path fix, for running from a checkout)
)
from raftcheck.impl.types import AppendEntries
from raftcheck.model.cores import load_core
from raftcheck.model.render import render_html
from raftcheck.model.replay import replay
from raftcheck.model.scenarios import Script
from raftcheck.model.tracefile import TraceFile, load_trace, record
from raftcheck.model.world import (
    Bounds,
    Config,
    Crash,
    Duplicate,
    Heal,
    Heartbeat,
    Model,
    Partition,
    Restart,
    Submit,
)

DEMO_BOUNDS = Bounds(max_term=3, max_log=3, values=2, max_messages=8, max_crashes=1,
                     max_partitions=1, drop=True, duplicate=True)


def demo_trace() -> TraceFile:
    """A clean run of `raft` with every kind of step (see the module docstring)."""
    s = Script(Model(CORE, Config(), DEMO_BOUNDS))
    s.elect(0, voters=[1, 2])
    s.replicate(0, [1, 2])
    s.do(Submit(0, 1))
    s.heartbeat(0, [1, 2])  # 1:x=1 reaches everyone and commits
    s.do(Partition({0}))
    s.do(Submit(0, 2))  # n0 still leads term 1 on its side: an entry that can never commit
    s.do(Heartbeat(0))
    s.drop(AppendEntries, 0, 1)  # lost in the partition
    s.elect(1, voters=[2])  # n1 wins term 2 with n2's vote: two leaders, two terms
    s.do(Submit(1, 1))
    s.do(Heartbeat(1))
    s.drop(AppendEntries, 1, 0)
    s.do(Duplicate(s.in_flight(AppendEntries, 1, 2)[-1]))
    s.replicate(1, [2])
    s.do(Crash(2))
    s.do(Restart(2))
    s.do(Heal())
    s.drop(AppendEntries, 0, 2)
    s.heartbeat(1, [0])  # n0 steps down; its 1:x=2 is overwritten by n1's 2:x=1
    failed = [check.description for check in s.checks if not check.passed]
    if failed:  # the bundled core stopped behaving as the demo expects
        raise RuntimeError(f"demo script: {failed[0]}")
    return record(s.model, engine="demo", core_spec="raft", seed=None, actions=s.actions,
                  violation=None, metadata={"note": "scripts/screenshot_trace.py --demo"})


def trace_html(trace: TraceFile, title: str | None = None) -> str:
    """The HTML page for a trace, replayed on its recorded core."""
    model = trace.model(load_core(trace.core.spec))
    result = replay(model, trace.actions, trace.violation)
    return render_html(model, list(result.actions), result.violation,
                       title=title or f"raftcheck trace: {trace.core.name} ({trace.engine})",
                       stopped=result.stopped)


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_command(chromium: str, *args: str) -> list[str]:
    """Headless chromium with the flags a container needs (no sandbox as root, no GPU)."""
    command = [chromium, "--headless", "--disable-gpu", "--hide-scrollbars",
               "--no-first-run", "--disable-extensions"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--no-sandbox")
    return [*command, *args]


def screenshot(html_file: Path, png: Path, width: int, height: int,
               chromium: str | None = None, scale: float = 1.0) -> None:
    browser = chromium or find_chromium()
    if browser is None:
        raise SystemExit("screenshot_trace: no chromium found (apt-get install -y chromium)")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(chromium_command(browser, f"--user-data-dir={profile}",
                                        f"--window-size={width},{height}",
                                        f"--force-device-scale-factor={scale}",
                                        f"--screenshot={png}", html_file.resolve().as_uri()),
                       check=True, capture_output=True, timeout=120)


def dump_dom(html_file: Path, chromium: str | None = None) -> str:
    """The DOM after the page's scripts ran (`--dump-dom`)."""
    browser = chromium or find_chromium()
    if browser is None:
        raise RuntimeError("no chromium")
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(chromium_command(browser, f"--user-data-dir={profile}",
                                               "--dump-dom", html_file.resolve().as_uri()),
                              check=True, capture_output=True, timeout=120, text=True)
    return done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trace", nargs="?", help="a trace file")
    parser.add_argument("--demo", action="store_true", help="the built-in demo trace")
    parser.add_argument("--html", type=Path, default=None, help="also keep the HTML here")
    parser.add_argument("--png", type=Path, required=True, help="the screenshot")
    parser.add_argument("--width", type=int, default=1420)
    parser.add_argument("--height", type=int, default=None,
                        help="default: tall enough for every step")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="device scale factor: below 1 for a smaller image of a long trace")
    args = parser.parse_args(argv)
    if args.demo == (args.trace is not None):
        parser.error("give a trace file or --demo")
    trace = demo_trace() if args.demo else load_trace(args.trace)
    page = trace_html(trace, "raftcheck demo: partition, drop, duplicate, crash, heal"
                      if args.demo else None)
    steps = len(trace.actions)
    height = args.height or 240 + 58 * (steps + 1) + 130
    with tempfile.TemporaryDirectory() as work:
        html_file = args.html or Path(work) / "trace.html"
        html_file.write_text(page, encoding="utf-8")
        screenshot(html_file, args.png, args.width, height, scale=args.scale)
    print(f"{args.png}: {steps} steps, {args.width}x{height}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
