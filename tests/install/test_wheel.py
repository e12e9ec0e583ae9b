"""The built wheel installs one top-level package, `raftcheck`, and works beside a user project
that has packages of its own named `model`, `impl` and `properties`: the user's tests import
their own `model`, and the `raftcheck` pytest fixture (loaded by the wheel's entry point)
and `raftcheck.check_core` check a core in the same run.

The wheel is built from a copy of the package's sources (nothing is written into the
checkout) and installed without dependencies into a fresh virtual environment; the
build backend comes from the package index, as for any `pip install .`; the
dependencies (attrs, hypothesis, pytest, ...) come from this interpreter's site-packages
through a `.pth` line, so the test needs no network. Only the wheel provides `raftcheck`
there: a `.pth` line adds a directory, it does not run that directory's own `.pth` files (an
editable install's import hook among them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "raftcheck", "impl", "model", "properties")
USER_TEST = '''
from impl import WHO as IMPL
from model import WHO as MODEL
from properties import WHO as PROPERTIES


def test_my_own_packages_are_mine():
    assert (MODEL, IMPL, PROPERTIES) == ("user model", "user impl", "user properties")


def test_raftcheck_checks_a_core_beside_them(raftcheck):
    result = raftcheck.fuzz("raft", examples=5, steps=10, require_goals=False)
    assert result.violation is None


def test_raftcheck_catches_a_broken_core_beside_them(raftcheck):
    import pytest
    with pytest.raises(pytest.fail.Exception, match="Counterexample"):
        raftcheck.fuzz("two-votes-per-term", seed=1, examples=200)


def test_check_core_runs_on_a_core_of_my_own():
    from raftcheck import RaftCore, check_core

    class MyCore(RaftCore):
        name = "mine"

    report = check_core(MyCore(), walks=5, only=["step contract", "scenario: split-brain"])
    assert report.ok, report.render()
'''


def build_wheel(tmp_path: Path) -> Path:
    source = tmp_path / "src"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(path, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--wheel-dir", str(tmp_path / "dist"), str(source)],
                   check=True, capture_output=True, text=True)
    (wheel,) = (tmp_path / "dist").glob("raftcheck-*.whl")
    return wheel


def fresh_venv(tmp_path: Path) -> tuple[Path, Path]:
    """A new virtual environment (its python, its site-packages)."""
    home = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(home)
    python = home / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.strip())
    return python, site


def reach_our_dependencies(site: Path) -> None:
    """Let the venv import this interpreter's packages (attrs, hypothesis, ...) through a
    `.pth` line. Written after the wheel is installed: pip would otherwise see this
    interpreter's own raftcheck (an editable install, in a test run) and skip the wheel."""
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    tmp_path = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(tmp_path)
    python, site = fresh_venv(tmp_path)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                    "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True, text=True)
    assert (site / "raftcheck" / "__init__.py").is_file(), "the wheel was not installed"
    reach_our_dependencies(site)
    return wheel, python, site


def test_the_wheel_holds_one_top_level_package(installed: tuple[Path, Path, Path]) -> None:
    wheel, _, site = installed
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"raftcheck"}
    for layer in ("impl", "model", "properties"):
        assert not (site / layer).exists()
        assert (site / "raftcheck" / layer / "__init__.py").is_file()


def test_a_user_project_with_its_own_model_package(
        installed: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, python, _ = installed
    project = tmp_path / "project"
    for package in ("model", "impl", "properties"):
        (project / package).mkdir(parents=True)
        (project / package / "__init__.py").write_text(f'WHO = "user {package}"\n')
    (project / "tests").mkdir()
    (project / "tests" / "test_user.py").write_text(USER_TEST)
    (project / "pyproject.toml").write_text('[tool.pytest.ini_options]\npythonpath = ["."]\n')
    env = {key: value for key, value in os.environ.items()
           if key not in {"PYTHONPATH", "PYTEST_ADDOPTS", "PYTEST_PLUGINS"}}
    done = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests"], cwd=project, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout
    where = subprocess.run([str(python), "-c", "import raftcheck; print(raftcheck.__file__)"],
                           cwd=project, env=env, capture_output=True, text=True, check=True)
    assert "site-packages" in where.stdout  # the wheel's copy, not a checkout
