"""Shared test configuration: the Hypothesis settings profile comes from RAFTCHECK_PROFILE
(dev, ci or deep; default ci), so `RAFTCHECK_PROFILE=deep tox -e deep` runs the same tests
longer; the core of the core-agnostic tests comes from RAFTCHECK_CORE."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

import raftcheck.model.stateful  # noqa: F401  (registers the raftcheck-* profiles)
from raftcheck.model.cores import CoreLoadError
from raftcheck.model.pytest_plugin import core_from_env
from raftcheck.model.tracefile import TRACE_DIR_ENV
from raftcheck.model.world import Core

PROFILE = os.environ.get("RAFTCHECK_PROFILE", "ci")
settings.load_profile(f"raftcheck-{PROFILE}")


@pytest.fixture
def raftcheck_core() -> Core:
    """The core the core-agnostic tests (tests/cores/test_core_agnostic.py) check: the one
    RAFTCHECK_CORE names (`RAFTCHECK_CORE=mymod:CORE pytest tests/`), else the bundled core.
    The raftcheck pytest plugin defines the same fixture; this one keeps the suite working
    when the plugin's entry point is not installed."""
    try:
        return core_from_env()
    except CoreLoadError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(autouse=True, scope="session")
def _trace_files_in_a_temporary_directory(
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """`raftcheck fuzz`/`explore` save every counterexample under ./raftcheck-traces by
    default (model.tracefile); tests that run them must not litter the working tree."""
    previous = os.environ.get(TRACE_DIR_ENV)
    os.environ[TRACE_DIR_ENV] = str(tmp_path_factory.mktemp("raftcheck-traces"))
    yield
    if previous is None:
        os.environ.pop(TRACE_DIR_ENV, None)
    else:
        os.environ[TRACE_DIR_ENV] = previous
