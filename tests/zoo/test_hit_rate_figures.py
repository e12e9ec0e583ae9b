"""The statistics of benchmarks/hit_rate.py, the script that decides machine changes.

What these protect: the median time to catch a bug counts every seed, a miss as slower than
any find, and is only reported when at least half the seeds found the bug; the Wilson
interval stays inside [0, 1] at the extremes where zoo rates live."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest


def _hit_rate() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "hit_rate.py"
    spec = importlib.util.spec_from_file_location("hit_rate", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HIT_RATE = _hit_rate()


@pytest.mark.parametrize(("found_after", "seeds", "median"), [
    ([3.0, 1.0, 2.0], 3, 2.0),
    ([1.0, 2.0, 3.0], 4, 2.5),  # one miss: between the second and third finds
    ([1.0, 9.0], 3, 9.0),  # one miss in three: the slower find
    ([1.0, 2.0], 4, None),  # half missed: the median is past the budget
    ([], 3, None),
])
def test_the_median_counts_misses_as_slowest(found_after: list[float], seeds: int,
                                             median: float | None) -> None:
    assert HIT_RATE.median_time(found_after, seeds) == median


def test_the_wilson_interval_stays_in_range() -> None:
    assert HIT_RATE.wilson(0, 20)[0] == 0.0 and 0 < HIT_RATE.wilson(0, 20)[1] < 0.2
    assert HIT_RATE.wilson(20, 20)[1] == 1.0 and 0.8 < HIT_RATE.wilson(20, 20)[0] < 1
    low, high = HIT_RATE.wilson(6, 20)
    assert low < 0.3 < high
