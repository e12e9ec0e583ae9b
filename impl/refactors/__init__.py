"""Example refactors of the bundled core, for `raftcheck diff` (docs/refactoring.md).

Each is the correct core with one piece restructured, the way a real refactor touches one
place: `diff` decides whether the new version still behaves like the old one, and at which
level (state, messages, properties) it stops doing so.
"""

from raftcheck.impl.refactors.conflict_term import ConflictTermBacktracking
from raftcheck.impl.refactors.median_commit import MedianCommit, MedianCommitOffByOne

CONFLICT_TERM = ConflictTermBacktracking()
MEDIAN_COMMIT = MedianCommit()
MEDIAN_COMMIT_OFF_BY_ONE = MedianCommitOffByOne()

__all__ = ["CONFLICT_TERM", "MEDIAN_COMMIT", "MEDIAN_COMMIT_OFF_BY_ONE",
           "ConflictTermBacktracking", "MedianCommit", "MedianCommitOffByOne"]
