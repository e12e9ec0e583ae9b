"""`python -m raftcheck.model.cli`: the `raftcheck` command."""

import sys

from raftcheck.model.cli import main

sys.exit(main())
