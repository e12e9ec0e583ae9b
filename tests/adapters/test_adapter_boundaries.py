"""Optional libraries stay behind their adapter: only `model/adapters/pysyncobj_adapter.py`
imports `pysyncobj` and only `model/adapters/raftos_adapter.py` imports `raftos`, so the suite
imports and runs without the extras. Runs whether or not pysyncobj or raftos is installed."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {"model/adapters/pysyncobj_adapter.py"}


def importers_of(library: str) -> set[str]:
    found = set()
    for package in ("impl", "model", "properties"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                if any(name.split(".")[0] == library for name in names):
                    found.add(str(path.relative_to(ROOT)))
    return found


def test_only_the_adapter_imports_pysyncobj() -> None:
    assert importers_of("pysyncobj") == ALLOWED


def test_only_the_adapter_imports_raftos() -> None:
    assert importers_of("raftos") == {"model/adapters/raftos_adapter.py"}


def test_the_cli_runs_without_raftos() -> None:
    """`import raftos` fails in this child: --core raftos is a one-line usage error (exit 2)
    that says how to install it."""
    code = (
        "import sys\n"
        "sys.modules['raftos'] = None  # makes `import raftos` raise ImportError\n"
        "import model.cli\n"
        "sys.exit(model.cli.main(['fuzz', '--core', 'raftos', '--examples', '1']))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "--no-deps raftos==0.2.6" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_cli_and_the_adapters_package_import_without_pysyncobj() -> None:
    """`import pysyncobj` fails in this child; the CLI must still load, and --core pysyncobj
    must be a one-line usage error (exit 2)."""
    code = (
        "import sys\n"
        "sys.modules['pysyncobj'] = None  # makes `import pysyncobj` raise ImportError\n"
        "import model.adapters, model.cli\n"
        "sys.exit(model.cli.main(['fuzz', '--core', 'pysyncobj', '--examples', '1']))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "pysyncobj extra" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_pysyncobj_options_are_refused_for_other_cores() -> None:
    from raftcheck.model.cli import main

    assert main(["fuzz", "--core", "raft", "--network", "fifo", "--examples", "1"]) == 2
    assert main(["fuzz", "--core", "raft", "--pauses", "--examples", "1"]) == 2
