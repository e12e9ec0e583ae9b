"""The layout is the architecture (STYLE.md): `impl/` is the core under test and imports
nothing from the world or the engines; `properties/` are plain predicates and import neither
hypothesis nor z3; the core does no I/O, reads no clock and draws no random numbers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


PACKAGE = "raftcheck"
LAYERS = ("impl", "model", "properties")  # top-level folders, installed as raftcheck.<layer>


def _top(module: str) -> str:
    """The layer or library a module belongs to: `raftcheck.model.world` -> `model`,
    `hypothesis.stateful` -> `hypothesis`."""
    parts = module.split(".")
    return parts[1] if parts[0] == PACKAGE and len(parts) > 1 else parts[0]


def imported_names(path: Path) -> set[str]:
    """Every module `path` imports absolutely, by full dotted name."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def imported_modules(package: str) -> dict[str, set[str]]:
    return {str(path.relative_to(ROOT)): {_top(name) for name in imported_names(path)}
            for path in sorted((ROOT / package).rglob("*.py"))}


def python_files() -> list[Path]:
    return [path for folder in (*LAYERS, "tests", "benchmarks", "examples", "scripts")
            for path in sorted((ROOT / folder).rglob("*.py"))]


def test_one_import_name() -> None:
    """The layers are imported as `raftcheck.impl`, `raftcheck.model`, `raftcheck.properties`:
    a bare `import model` works only in a source checkout, and installs nothing of that name
    (a user's own `model` package must not be shadowed)."""
    offenders = {str(path.relative_to(ROOT)): sorted(bare)
                 for path in python_files()
                 if (bare := {name for name in imported_names(path)
                              if name.split(".")[0] in LAYERS})}
    assert not offenders, f"import these through the raftcheck package: {offenders}"


def test_the_package_maps_the_layers() -> None:
    for layer in LAYERS:
        assert (ROOT / PACKAGE / layer).resolve() == (ROOT / layer).resolve()


@pytest.mark.parametrize(("package", "forbidden"), [
    ("impl", {"model", "properties", "hypothesis", "z3", "random", "time", "datetime", "os",
              "socket", "threading", "asyncio", "logging"}),
    ("properties", {"hypothesis", "z3", "random", "time"}),
])
def test_package_does_not_import(package: str, forbidden: set[str]) -> None:
    offenders = {path: sorted(names & forbidden)
                 for path, names in imported_modules(package).items() if names & forbidden}
    assert not offenders, f"{package}/ must not import {sorted(forbidden)}: {offenders}"


def test_core_has_no_print_or_open() -> None:
    for path in sorted((ROOT / "impl").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {"print", "open", "input"}, (
                    f"{path.name}:{node.lineno} calls {node.func.id}(): the core does no I/O")


def test_no_test_folder_shadows_a_package() -> None:
    """pytest puts `tests/` on sys.path (rootdir conftest, no __init__.py files), so a folder
    `tests/properties` becomes a namespace package that an installed (not source-tree) run
    imports instead of the real `properties`: every test fails at collection."""
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")}
    folders = {path.name for path in (ROOT / "tests").iterdir() if path.is_dir()}
    assert not packages & folders
