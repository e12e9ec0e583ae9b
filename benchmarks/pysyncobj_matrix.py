"""PySyncObj's release matrix: `raftcheck hunt --core pysyncobj` against every release on PyPI
from 0.3.8 to the newest, each installed in a virtual environment of its own, with this
checkout.

    python benchmarks/pysyncobj_matrix.py                          # every release, 0.3.8 on
    python benchmarks/pysyncobj_matrix.py --releases 0.3.9 0.3.14  # some of them
    python benchmarks/pysyncobj_matrix.py --nodes 5 --examples 2000   # five-server hunts
    python benchmarks/pysyncobj_matrix.py --engine explore --hunt-args "--max-term 1 --drop"
    python benchmarks/pysyncobj_matrix.py --json

For each release: a venv under `--scratch` (kept and reused: it is made again only when its
pysyncobj is not the release), with `pip install -e CHECKOUT pysyncobj==R` under
`constraints.txt` minus its pysyncobj pin. Then, in that venv, two subprocesses:

1. conformance, `raftcheck fuzz --core pysyncobj --conformance --release R` (the faithful core
   `impl/pysyncobj.py` gives release R, `RELEASES`: its own or, for a release in
   `SAME_RULES`, the one whose rules it has) against the library installed;
2. only if that CONFORMS, `raftcheck hunt --core pysyncobj --release R --json` (with
   `--engine` and `--hunt-args`, its search engine and bounds): the faithful core searched,
   each counterexample replayed on the library. A release that does not
   conform is reported as such and not hunted: its core would not describe it.

Printed: per release its core, the conformance verdict (CONFORMS, diverges, or the verdict
otherwise) and, per property, the confirmed trace's length as core actions → library
actions (`✓` when confirmed, the verdict otherwise); then the seed and budgets, the machine
and the total time. The hunt's library traces are saved under the scratch directory and
replay with `raftcheck fuzz --core pysyncobj --replay FILE` in the release's venv.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from raftcheck.properties import FIGURE_3, RAFT_PROPERTIES

ROOT = Path(__file__).resolve().parents[1]
OLDEST = (0, 3, 8)
PROPERTY_ORDER = FIGURE_3 + tuple(  # the order the engines check them in
    p.name for p in RAFT_PROPERTIES.all if p.kind != "sometimes" and p.name not in FIGURE_3)


def version_key(release: str) -> tuple[int, ...]:
    return tuple(int(part) for part in release.split("."))


def pypi_releases() -> list[str]:
    """pysyncobj's releases on PyPI from 0.3.8 on, oldest first (`pip index versions`)."""
    out = subprocess.run([sys.executable, "-m", "pip", "index", "versions", "pysyncobj"],
                         capture_output=True, text=True, check=True).stdout
    match = re.search(r"Available versions: (.*)", out)
    if match is None:
        raise SystemExit(f"pip index versions pysyncobj: no versions in {out!r}")
    releases = [v.strip() for v in match.group(1).split(",")]
    return sorted((v for v in releases if re.fullmatch(r"\d+(\.\d+)*", v)
                   and version_key(v) >= OLDEST), key=version_key)


def constraints(scratch: Path) -> Path:
    """constraints.txt without its pysyncobj pin (each venv installs its own release)."""
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    path = scratch / "constraints-without-pysyncobj.txt"
    path.write_text("".join(line + "\n" for line in lines
                            if not line.strip().lower().startswith("pysyncobj")))
    return path


def venv_for(release: str, scratch: Path) -> tuple[Path, float]:
    """The release's venv (made or reused) and the seconds it took to make it (0: reused)."""
    venv = scratch / f"venv-{release}"
    python = venv / "bin" / "python"
    check = ("import pysyncobj.version, raftcheck; "
             "print(pysyncobj.version.VERSION, raftcheck.__file__)")
    if python.exists():
        found = subprocess.run([str(python), "-c", check], capture_output=True, text=True)
        if found.returncode == 0 and found.stdout.split() == [
                release, str(ROOT / "raftcheck" / "__init__.py")]:
            return venv, 0.0
    started = time.monotonic()
    for argv in ([sys.executable, "-m", "venv", "--clear", str(venv)],
                 [str(python), "-m", "pip", "install", "-q", "-e", str(ROOT),
                  f"pysyncobj=={release}", "-c", str(constraints(scratch))]):
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed:\n{done.stdout}{done.stderr}")
    return venv, time.monotonic() - started


def raftcheck(venv: Path, argv: list[str]) -> tuple[int, dict[str, Any] | None, float, str]:
    """Run `raftcheck ARGV` in the venv: exit code, its JSON (None if there is none),
    seconds, stderr."""
    started = time.monotonic()
    done = subprocess.run([str(venv / "bin" / "raftcheck"), *argv], capture_output=True,
                          text=True, cwd=venv)
    seconds = time.monotonic() - started
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        report = None
    return done.returncode, report, seconds, done.stderr.strip()


def conformance_verdict(code: int, report: dict[str, Any] | None, stderr: str) -> str:
    """CONFORMS, diverges, or what else the conformance run ended in."""
    if report is None:
        return f"error (exit {code}: {stderr.splitlines()[-1] if stderr else 'no output'})"
    violation = report.get("violation")
    if report["verdict"] == "clean":
        return "CONFORMS"
    if violation is not None and violation["property"] == "No Divergence":
        return "diverges"
    return str(report["verdict"])


def run_release(release: str, scratch: Path, args: argparse.Namespace) -> dict[str, Any]:
    venv, setup = venv_for(release, scratch)
    row: dict[str, Any] = {"release": release, "venv_seconds": round(setup, 1)}
    code, report, seconds, stderr = raftcheck(venv, [
        "fuzz", "--core", "pysyncobj", "--conformance", "--release", release, "--seed",
        str(args.seed), "--examples", str(args.conformance_examples), "--nodes",
        str(args.conformance_nodes), "--json", "--no-save"])
    row["conformance"] = conformance_verdict(code, report, stderr)
    row["conformance_seconds"] = round(seconds, 1)
    if report is not None and report.get("conformance"):
        row["core"] = report["conformance"]["core"]
        row["conformance_steps"] = report["conformance"]["steps_compared"]
        if report.get("violation"):
            row["divergence"] = report["violation"]["detail"]
    if row["conformance"] != "CONFORMS":
        row["hunt"] = None
        return row
    budget = (["--examples", str(args.examples)] if args.engine == "fuzz" else
              [] if args.seconds is None else ["--seconds", str(args.seconds)])
    code, report, seconds, stderr = raftcheck(venv, [
        "hunt", "--core", "pysyncobj", "--release", release, "--seed", str(args.seed),
        "--engine", args.engine, *budget, "--nodes", str(args.nodes),
        *shlex.split(args.hunt_args), "--json", "--save",
        str(scratch / "traces" / f"{release}-{args.nodes}-servers-{args.engine}") + "/"])
    row["hunt_seconds"] = round(seconds, 1)
    if report is None:
        row["hunt"] = f"error (exit {code}: {stderr.splitlines()[-1] if stderr else ''})"
        return row
    row["core"] = report["core"]
    row["hunt"] = {"search": report["search"], "exit": code,
                   "counterexamples": report["counterexamples"]}
    return row


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{model}, {os.cpu_count()} CPUs, {platform.python_implementation()} "
            f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f}")


def cell(row: dict[str, Any], prop: str) -> str:
    hunt = row.get("hunt")
    if not isinstance(hunt, dict):
        return "not hunted"
    found = [c for c in hunt["counterexamples"] if c["property"] == prop]
    if not found:
        return "-"
    c = found[0]
    if c["verdict"] == "CONFIRMED":
        return f"✓ {c['core_trace_length']} → {c['library_trace_length']}"
    return f"{c['verdict']} ({c['core_trace_length']})"


def table(rows: list[dict[str, Any]]) -> str:
    found = {c["property"] for row in rows if isinstance(row.get("hunt"), dict)
             for c in row["hunt"]["counterexamples"]}
    props = [p for p in PROPERTY_ORDER if p in found] + sorted(found - set(PROPERTY_ORDER))
    head = ["release", "faithful core", "conformance", *props, "search", "s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        hunt = row.get("hunt")
        search = hunt["search"] if isinstance(hunt, dict) else str(hunt or "not hunted")
        seconds = row["conformance_seconds"] + row.get("hunt_seconds", 0.0)
        lines.append("| " + " | ".join([
            row["release"], row.get("core", "?"), row["conformance"],
            *(cell(row, p) for p in props), search, f"{seconds:.1f}"]) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--releases", nargs="*", default=None,
                        help="releases to run (default: every one on PyPI from 0.3.8)")
    parser.add_argument("--scratch", type=Path,
                        default=Path(os.environ.get("TMPDIR", "/tmp")) / "raftcheck-matrix",
                        help="where the venvs and traces go (reused)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--engine", choices=("fuzz", "explore"), default="fuzz",
                        help="the hunts' search engine (default: fuzz)")
    parser.add_argument("--examples", type=int, default=300,
                        help="runs of the faithful core per hunt, --engine fuzz (default: "
                             "300)")
    parser.add_argument("--seconds", type=float, default=None,
                        help="time limit of each hunt's search, --engine explore (default: "
                             "none)")
    parser.add_argument("--hunt-args", default="",
                        help="more options for each hunt, e.g. its bounds: "
                             "\"--max-term 1 --drop\"")
    parser.add_argument("--conformance-examples", type=int, default=150,
                        help="library runs per conformance check (default: 150)")
    parser.add_argument("--nodes", type=int, default=3, help="servers per hunt (default: 3)")
    parser.add_argument("--conformance-nodes", type=int, default=3,
                        help="servers per conformance run (default: 3, where its runs reach "
                             "every goal; at five they do not, and the verdict is "
                             "INCONCLUSIVE)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    started = time.monotonic()
    args.scratch.mkdir(parents=True, exist_ok=True)
    releases = args.releases or pypi_releases()
    rows = []
    for release in sorted(releases, key=version_key):
        if not args.json:
            print(f"pysyncobj {release} ...", file=sys.stderr, flush=True)
        rows.append(run_release(release, args.scratch, args))
    total = time.monotonic() - started
    hunt = (f"--examples {args.examples}" if args.engine == "fuzz" else
            "--engine explore" + ("" if args.seconds is None else f" --seconds {args.seconds}"))
    budget = (f"seed {args.seed}; conformance: --examples {args.conformance_examples} "
              f"--nodes {args.conformance_nodes}; hunt: {hunt} --nodes {args.nodes}"
              + (f" {args.hunt_args}" if args.hunt_args else ""))
    if args.json:
        print(json.dumps({"budget": {"seed": args.seed, "nodes": args.nodes,
                                     "conformance_examples": args.conformance_examples,
                                     "conformance_nodes": args.conformance_nodes,
                                     "hunt_examples": args.examples,
                                     "hunt_engine": args.engine,
                                     "hunt_seconds": args.seconds,
                                     "hunt_args": args.hunt_args},
                          "machine": machine(), "seconds": round(total, 1),
                          "releases": rows}, indent=2))
        return
    print(table(rows))
    for row in rows:
        if "divergence" in row:
            print(f"\n{row['release']} diverges from {row.get('core')}: {row['divergence']}")
        hunt = row.get("hunt")
        for c in hunt["counterexamples"] if isinstance(hunt, dict) else []:
            if c["verdict"] != "CONFIRMED":
                print(f"\n{row['release']}, {c['property']}: {c['verdict']}: {c['reason']}")
    print(f"\n{budget}\nmachine: {machine()}\ntotal: {total:.0f} s "
          f"(venvs made: {sum(row['venv_seconds'] for row in rows):.0f} s of it)")


if __name__ == "__main__":
    main()
