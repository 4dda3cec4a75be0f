"""Progress on long work: a bar on stderr when it is a terminal, none in a pipe or with
--quiet, and never in --json output on stdout."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path
from typing import Any

import pytest

from station.workflows.library import DEFAULT_LIBRARY_DIR

from .conftest import AED_BATCH


def run(argv: list[str], cwd: Path, *, terminal: bool) -> tuple[int, str, str]:
    """``interdict ARGV`` with stderr on a pseudo-terminal (or a pipe); stdout is a pipe."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTERDICT_", "XDG_"))}
    env.update(XDG_DATA_HOME=str(cwd / "data"), XDG_CONFIG_HOME=str(cwd / "config"))
    cmd = [sys.executable, "-m", "station.cli", *argv]
    if not terminal:
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=300, check=False)
        return done.returncode, done.stdout, done.stderr
    parent, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=child,
                            text=True)
    os.close(child)
    err = b""
    while True:  # read the terminal until the program closes it
        try:
            chunk = os.read(parent, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        err += chunk
    out, _ = proc.communicate(timeout=300)
    os.close(parent)
    return proc.returncode, out, err.decode("utf-8", "replace")


def is_bar(text: str, label: str) -> bool:
    """A tqdm bar labelled ``label`` was drawn (and redrawn in place with carriage returns)."""
    return f"\r{label}: " in text


def only_json(out: str) -> list[Any]:
    """Standard output is JSON and nothing else: one document, or one per line."""
    try:
        return [json.loads(out)]
    except json.JSONDecodeError:
        return [json.loads(line) for line in out.splitlines()]


@pytest.mark.parametrize("argv, label", [
    (["library", "build", str(DEFAULT_LIBRARY_DIR), "-o", "lib.ilib", "--json"],
     "library build"),
    (["identify", str(DEFAULT_LIBRARY_DIR / "calcite.csv"),
      str(DEFAULT_LIBRARY_DIR / "acetone.csv"), "--format", "json"], "identify"),
    (["parcel", "import", str(AED_BATCH), "--db", "e.db", "--json"], "import"),
])
def test_a_bar_on_a_terminal_none_in_a_pipe_and_json_untouched(
        tmp_path: Path, argv: list[str], label: str) -> None:
    code, out, err = run(argv, tmp_path, terminal=True)
    assert code == 0, err
    assert only_json(out)
    assert is_bar(err, label), err
    (tmp_path / "e.db").unlink(missing_ok=True)
    code, out, err = run(argv, tmp_path, terminal=False)
    assert code == 0 and only_json(out) and not is_bar(err, label) and "\r" not in err
    (tmp_path / "e.db").unlink(missing_ok=True)
    code, out, err = run([*argv, "--quiet"], tmp_path, terminal=True)
    assert code == 0 and only_json(out) and not is_bar(err, label)


def test_audit_verify_draws_its_steps(tmp_path: Path) -> None:
    assert run(["parcel", "import", str(AED_BATCH), "--db", "e.db"], tmp_path,
               terminal=False)[0] == 0
    code, out, err = run(["audit", "verify", "--db", "e.db", "--json"], tmp_path,
                         terminal=True)
    assert code == 0 and json.loads(out)["ok"] is True
    assert is_bar(err, "audit verify") and "step" in err
