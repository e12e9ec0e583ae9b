"""Shared test configuration: the Hypothesis settings profile comes from RAFTCHECK_PROFILE
(dev, ci or deep; default ci), so `RAFTCHECK_PROFILE=deep tox -e deep` runs the same tests
longer."""

from __future__ import annotations

import os

from hypothesis import settings

import model.stateful  # noqa: F401  (registers the raftcheck-* profiles)

PROFILE = os.environ.get("RAFTCHECK_PROFILE", "ci")
settings.load_profile(f"raftcheck-{PROFILE}")
