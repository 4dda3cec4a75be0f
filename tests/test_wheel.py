"""Install anywhere: the wheel carries its defaults, and an installed ``interdict`` works
from any folder, without the source tree.

The wheel is built from a copy of the sources (nothing is written into the tree) without
network (``--no-build-isolation``: the test extra installs a setuptools that can build it),
and installed into a fresh virtual environment. That environment gets the project's
dependencies by a ``.pth`` line naming this environment's site-packages (no network, no
index) — a line adds the folder to ``sys.path`` but runs none of its ``.pth`` files, so the
editable install of the source tree stays invisible there. Every command then runs from a
folder outside the source tree, with its own home and data folders.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("spectra", "driver", "matcher", "parcels", "station", "interdict", "fixtures")
PACKAGING = ("pyproject.toml", "setup.py", "README.md", "LICENSE")


def _run(cmd: list[str], *, cwd: Path, env: dict[str, str] | None = None,
         timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the sources."""
    src = tmp_path_factory.mktemp("src")
    for name in PACKAGING:
        shutil.copy2(ROOT / name, src / name)
    for name in SOURCES:
        shutil.copytree(ROOT / name, src / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("dist")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                  "--no-index", "-q", "-w", str(out), str(src)], cwd=src)
    assert built.returncode == 0, built.stdout + built.stderr
    (whl,) = out.glob("interdict-*.whl")
    return whl


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed; returns its bin folder."""
    venv = tmp_path_factory.mktemp("venv") / "fresh"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=venv.parent)
    assert made.returncode == 0, made.stderr
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                    "['purelib'])"], cwd=venv).stdout.strip()
    deps = {*site.getsitepackages(), sysconfig.get_paths()["purelib"]}
    Path(purelib, "_interdict_test_dependencies.pth").write_text(
        "\n".join(sorted(deps)) + "\n", encoding="utf-8")
    done = _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index",
                 "--ignore-installed", "-q", str(wheel)], cwd=venv)
    assert done.returncode == 0, done.stdout + done.stderr
    return bindir


@pytest.fixture
def elsewhere(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A folder outside the source tree, and an environment of its own."""
    home = tmp_path / "home"
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("INTERDICT_", "PYTHON", "XDG_"))}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"),
               XDG_CONFIG_HOME=str(home / "config"), PYTHONUNBUFFERED="1")
    return work, env


def test_the_wheel_carries_the_defaults_inside_the_package(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("station/fixtures/aed/sample_batch.jsonl", "station/fixtures/scenario.json",
                     "station/fixtures/library/index.csv", "station/fixtures/library/calcite.csv",
                     "station/fixtures/library-ftir/index.csv",
                     "station/fixtures/library-synthetic/index.csv",
                     "station/report/style.css", "station/report/page.html",
                     "interdict/__main__.py",
                     "driver/simulator/references/raman_polystyrene.csv"):
        assert required in names, required
    assert not any(n.startswith("fixtures/") for n in names)  # no top-level 'fixtures'


def test_installed_version_and_module_entry(installed: Path,
                                            elsewhere: tuple[Path, dict[str, str]]) -> None:
    work, env = elsewhere
    python = str(installed / "python")
    where = _run([python, "-c", "import station; print(station.__file__)"], cwd=work, env=env)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(installed.parent)  # not the source tree
    for cmd in ([str(installed / "interdict"), "--version"],
                [python, "-m", "interdict", "--version"]):
        got = _run(cmd, cwd=work, env=env)
        assert got.returncode == 0, got.stderr
        assert got.stdout.strip() == "interdict 0.1.0"


def test_installed_identify_uses_the_embedded_default_library(
        installed: Path, elsewhere: tuple[Path, dict[str, str]]) -> None:
    work, env = elsewhere
    python = str(installed / "python")
    sample = _run([python, "-c", "from station.workflows.library import DEFAULT_LIBRARY_DIR as d;"
                   " print(d / 'calcite.csv')"], cwd=work, env=env).stdout.strip()
    assert Path(sample).is_relative_to(installed.parent)
    got = _run([str(installed / "interdict"), "identify", sample, "--format", "json"],
               cwd=work, env=env)
    assert got.returncode == 0, got.stderr
    assert '"name": "Calcite' in got.stdout and '"library_id": "interdict-default' in got.stdout
    # the default library was built in the data folder, by the platform's convention
    assert list((Path(env["XDG_DATA_HOME"]) / "interdict").glob("default-library-*.ilib"))


@pytest.mark.slow
def test_installed_demo_runs_end_to_end(installed: Path,
                                        elsewhere: tuple[Path, dict[str, str]]) -> None:
    work, env = elsewhere
    got = _run([str(installed / "interdict"), "demo", "--out", "demo-out"], cwd=work, env=env,
               timeout=240)
    assert got.returncode == 0, got.stdout[-3000:] + got.stderr[-3000:]
    assert "VERIFIED: evidence bundle of CP118543022IN" in got.stdout
    assert (work / "demo-out" / "report-CP118543022IN.html").is_file()
