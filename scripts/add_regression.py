"""Add a saved counterexample to the regression corpus (tests/regressions/*.json).

    raftcheck fuzz --core quorum-off-by-one --seed 1 --examples 100 --save /tmp/q.json
    python scripts/add_regression.py /tmp/q.json --name quorum-off-by-one \\
        --command "raftcheck fuzz --core quorum-off-by-one --seed 1 --examples 100"

The trace is replayed first: it must reproduce its recorded violation on its recorded core,
and the bundled core `raft` must either pass it ("fixed") or stop applying it at some step.
That outcome is written into the file's metadata (`regression`), so every file states
explicitly what `tests/regressions/test_regressions.py` expects of it. Never overwrites.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from attrs import evolve

from raftcheck.model.cores import load_core
from raftcheck.model.replay import FIXED, REPRODUCED, STOPS_APPLYING, replay
from raftcheck.model.tracefile import TraceFileError, load_trace, save_trace

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "regressions"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trace", help="a trace file saved by an engine")
    parser.add_argument("--name", required=True, help="file name in the corpus (no .json)")
    parser.add_argument("--command", default=None, help="the command that found it")
    args = parser.parse_args(argv)
    try:
        trace = load_trace(args.trace)
    except TraceFileError as error:
        parser.error(str(error))
    if trace.violation is None:
        parser.error("the trace records no violation: nothing to regress")
    own = replay(trace.model(load_core(trace.core.spec)), trace.actions, trace.violation)
    if own.outcome != REPRODUCED:
        parser.error(f"on its recorded core {trace.core.spec!r} the trace is "
                     f"{own.outcome!r}, not reproduced")
    fixed = replay(trace.model(load_core("raft")), trace.actions, trace.violation)
    expect: dict[str, object] = {"on_recorded_core": REPRODUCED, "on_raft": fixed.outcome}
    if fixed.outcome == STOPS_APPLYING:
        expect["stops_at"] = fixed.step
        expect["reason"] = fixed.reason
    elif fixed.outcome != FIXED:
        parser.error(f"the bundled core `raft` does not pass this trace: {fixed.outcome} "
                     f"({fixed.violation}); that is a bug in raft, not a regression to keep")
    metadata = {**trace.metadata, "regression": expect}
    if args.command:
        metadata["command"] = args.command
    try:
        path = save_trace(CORPUS / f"{args.name}.json", evolve(trace, metadata=metadata))
    except TraceFileError as error:
        parser.error(str(error))
    print(f"{path}: {trace.violation.property} on {trace.core.name}; raft: {fixed.outcome}"
          + (f" at step {fixed.step}" if fixed.outcome == STOPS_APPLYING else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
