"""Start at once: commands that touch no spectrum load no SciPy, no pybaselines and no
simulator; ``--help`` loads not even pydantic or NumPy. Checked in a fresh interpreter,
by the modules each command leaves loaded (times are measured in bench/startup.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.parcels.builders import KEY

from .conftest import FENTANYL_PARCEL, import_batch

HEAVY = ("scipy", "pybaselines", "driver.simulator", "sklearn", "tqdm")
SERVER = ("fastapi", "starlette", "uvicorn", "psycopg", "psycopg_pool", "httpx", "central")
"""The central extra (and an HTTP client library): a station's sync needs none of it."""
PROBE = ("import json, sys\n"
         "from station.cli import main\n"
         "try:\n"
         "    code = main(sys.argv[1:])\n"
         "except SystemExit as exc:\n"
         "    code = exc.code\n"
         "print(json.dumps({'code': code, 'modules': sorted(sys.modules)}))\n")


def loaded_by(*argv: str, cwd: Path, **extra: str) -> tuple[int, set[str]]:
    """The exit code of ``interdict ARGV`` (with the variables ``extra``) and the modules it
    loaded."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTERDICT_", "XDG_"))}
    env.update(XDG_DATA_HOME=str(cwd / "data"), XDG_CONFIG_HOME=str(cwd / "config"), **extra)
    run = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True,
                         text=True, cwd=cwd, env=env, timeout=120, check=False)
    last = json.loads(run.stdout.strip().splitlines()[-1])
    return int(last["code"]), set(last["modules"])


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.startswith(HEAVY) and
                  any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from parcels.store import open_store

    path = tmp_path_factory.mktemp("startup") / "evidence.db"
    with open_store(path, signer=KEY) as store:
        import_batch(store)
    return path


@pytest.mark.parametrize("argv", [
    ("parcel", "list"),
    ("parcel", "show", FENTANYL_PARCEL),
    ("audit", "verify"),
    ("stats",),
    ("config",),
])
def test_store_and_config_commands_load_no_scipy_and_no_simulator(
        db: Path, tmp_path: Path, argv: tuple[str, ...]) -> None:
    code, modules = loaded_by(*argv, "--db", str(db), cwd=tmp_path)
    assert code == 0
    assert heavy(modules) == []
    assert "parcels.store.sqlite" in modules or argv == ("config",)  # it did real work


def server_side(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in SERVER)


@pytest.mark.parametrize("argv", [("sync",), ("audit", "verify", "--central")])
def test_sync_loads_neither_scipy_nor_the_central_extra(
        db: Path, tmp_path: Path, argv: tuple[str, ...]) -> None:
    """A station talks to central with the standard library: central unreachable here (a
    port nobody listens on), so the command gets as far as the network and says 7."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    code, modules = loaded_by(*argv, "--db", str(db), cwd=tmp_path, INTERDICT_CENTRAL=url,
                              INTERDICT_CENTRAL_TOKEN="idt_0123456789abcdef_" + "x" * 43)
    assert code == 7
    assert heavy(modules) == [] and server_side(modules) == []
    assert "station.workflows.sync" in modules  # it did get to the sync


def test_help_loads_neither_pydantic_nor_numpy(tmp_path: Path) -> None:
    code, modules = loaded_by("--help", cwd=tmp_path)
    assert code == 0
    assert heavy(modules) == [] and server_side(modules) == []
    assert not {"pydantic", "numpy", "parcels", "matcher", "spectra"} & modules


def test_the_probe_sees_scipy_where_it_is_needed(tmp_path: Path,
                                                 demo_library_file: Path) -> None:
    """The check can fail: identify does load SciPy (preprocessing needs it)."""
    from station.workflows.library import DEFAULT_LIBRARY_DIR

    code, modules = loaded_by("identify", str(DEFAULT_LIBRARY_DIR / "calcite.csv"),
                              "--library", str(demo_library_file), cwd=tmp_path)
    assert code == 0
    assert "scipy" in heavy(modules) and "driver.simulator" not in heavy(modules)
