"""README.md's sample outputs are the real commands' outputs (scripts/readme_samples.py
regenerates them): a change that alters what a user sees fails here until the README shows
it too."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_samples_are_current() -> None:
    spec = importlib.util.spec_from_file_location("readme_samples",
                                                  ROOT / "scripts" / "readme_samples.py")
    assert spec is not None and spec.loader is not None
    samples = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(samples)
    _, stale = samples.refreshed((ROOT / "README.md").read_text(encoding="utf-8"))
    assert not stale, f"stale README samples {stale}: run python scripts/readme_samples.py"
