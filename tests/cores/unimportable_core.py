"""A core module that fails at import time, as a user's module with a typo would."""

from __future__ import annotations

raise ImportError("No module named 'raft_helpers'")
