"""Import structure: no cycle among raftcheck's modules, and the command line is a leaf.

Every import statement counts, including ones inside functions (a lazy import is still a
dependency: it only hides the cycle until the function runs). `raftcheck.model.x` names are
resolved to the files under the top-level folders (raftcheck/ maps them by symlink)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "raftcheck"
LAYERS = ("impl", "model", "properties")

EXEMPT: set[str] = set()  # modules allowed to break the rules below: none


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the three layers."""
    files: dict[str, Path] = {}
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            files[".".join((PACKAGE, *parts))] = path
    return files


def _resolve(name: str, files: dict[str, Path]) -> str | None:
    """The longest prefix of a dotted name that is one of our modules."""
    parts = name.split(".")
    while parts:
        if ".".join(parts) in files:
            return ".".join(parts)
        parts.pop()
    return None


def _absolute(node: ast.ImportFrom, module: str, path: Path) -> str:
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def dependencies(module: str, path: Path, files: dict[str, Path]) -> set[str]:
    """The raftcheck modules `path` imports, anywhere in it."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module, path)
            # `from package import submodule` depends on the submodule itself
            names = [f"{base}.{alias.name}" for alias in node.names]
        for name in names:
            target = _resolve(name, files)
            if target is not None and target != module:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    return {module: dependencies(module, path, files) for module, path in files.items()}


def _relative(module: str) -> str:
    """`raftcheck.model.diff` -> `model/diff.py`."""
    return module_files()[module].relative_to(ROOT).as_posix()


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a list of modules (first == last), or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(graph, WHITE)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = GREY
        stack.append(node)
        for target in sorted(graph[node]):
            if colour[target] == GREY:
                return [*stack[stack.index(target):], target]
            if colour[target] == WHITE and (cycle := visit(target)) is not None:
                return cycle
        stack.pop()
        colour[node] = BLACK
        return None

    for node in sorted(graph):
        if colour[node] == WHITE and (cycle := visit(node)) is not None:
            return cycle
    return None


def test_the_graph_sees_lazy_and_from_imports() -> None:
    graph = import_graph()
    assert "raftcheck.model.world" in graph["raftcheck.model.explore"]
    assert "raftcheck.impl.types" in graph["raftcheck.model.world"]
    # an import inside a function counts (shrink.polish imports explore lazily)
    assert "raftcheck.model.explore" in graph["raftcheck.model.shrink"]


def test_no_import_cycle() -> None:
    graph = import_graph()
    exempt = {module for module in graph if _relative(module) in EXEMPT}
    assert len(exempt) == len(EXEMPT)
    pruned = {module: targets - exempt for module, targets in graph.items()
              if module not in exempt}
    cycle = find_cycle(pruned)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_a_cycle_is_found() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_only_the_cli_imports_the_cli() -> None:
    """Engines return results; the command line (model/cli/) prints them and turns their
    verdicts into exit codes. Nothing outside model/cli/ imports it."""
    graph = import_graph()
    cli = "raftcheck.model.cli"
    offenders = sorted(_relative(module) for module, targets in graph.items()
                       if not (module == cli or module.startswith(cli + "."))
                       and _relative(module) not in EXEMPT
                       and any(t == cli or t.startswith(cli + ".") for t in targets))
    assert offenders == [], f"these import raftcheck.model.cli: {offenders}"
