"""The regression corpus: every counterexample kept under tests/regressions/*.json is replayed.

Each file is a trace an engine found on a broken core (impl/broken.py). It must still
reproduce the recorded violation on that core (else the engines, the world or the properties
drifted), and the bundled core `raft` must do what the file's `metadata.regression.on_raft`
states: pass it ("fixed") or stop applying it at the stated step (a broken core can send
messages the correct one never sends). Add a file with scripts/add_regression.py
(docs/traces.md, "Regressions").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from raftcheck.model.cores import load_core
from raftcheck.model.replay import FIXED, REPRODUCED, STOPS_APPLYING, replay
from raftcheck.model.tracefile import load_trace

CORPUS = sorted(Path(__file__).parent.glob("*.json"))


def test_the_corpus_is_not_empty() -> None:
    assert len(CORPUS) >= 10
    assert any(load_trace(path).metadata["regression"]["on_raft"] == STOPS_APPLYING
               for path in CORPUS)


@pytest.mark.parametrize("path", CORPUS, ids=[path.stem for path in CORPUS])
def test_regression_replays(path: Path) -> None:
    trace = load_trace(path)
    assert trace.violation is not None
    expect = trace.metadata["regression"]
    assert expect["on_recorded_core"] == REPRODUCED

    own = replay(trace.model(load_core(trace.core.spec)), trace.actions, trace.violation)
    assert own.outcome == REPRODUCED, own
    assert own.violation is not None and own.violation.property == trace.violation.property
    assert own.step == len(trace.actions), "the violation moved to another step"

    fixed = replay(trace.model(load_core("raft")), trace.actions, trace.violation)
    assert fixed.outcome == expect["on_raft"], fixed
    assert fixed.outcome in (FIXED, STOPS_APPLYING)
    if fixed.outcome == STOPS_APPLYING:
        assert fixed.step == expect["stops_at"]
        assert fixed.reason == expect["reason"]
