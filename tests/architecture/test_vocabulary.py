"""One vocabulary (model/verdict.py): exit codes come from `Verdict.exit_code`/`Exit` only,
and no module defines EXIT_* constants or a usage error of its own."""

from __future__ import annotations

import ast
from pathlib import Path

from raftcheck.model.verdict import Exit, Verdict

ROOT = Path(__file__).resolve().parents[2]
# diff's EXIT_* constants and UsageError go in the lockstep change (model/diff.py is being
# rewritten separately); verdict.py is where the vocabulary lives.
ALLOWED = {"model/verdict.py", "model/diff.py"}


def own_vocabulary(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            names = target.elts if isinstance(target, ast.Tuple) else [target]
            found += [name.id for name in names
                      if isinstance(name, ast.Name) and name.id.startswith("EXIT_")]
        if isinstance(node, ast.ClassDef) and node.name.endswith("UsageError"):
            found.append(f"class {node.name}")
    return found


def test_no_module_defines_its_own_exit_codes_or_usage_error() -> None:
    offenders = {rel: names for path in sorted((ROOT / "model").rglob("*.py"))
                 if (rel := path.relative_to(ROOT).as_posix()) not in ALLOWED
                 and (names := own_vocabulary(path))}
    assert offenders == {}, f"use model.verdict's Exit/Verdict/UsageError: {offenders}"


def test_every_verdict_has_an_exit_code() -> None:
    for verdict in Verdict:
        assert isinstance(verdict.exit_code, Exit)
