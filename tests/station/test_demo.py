"""``interdict demo`` (what ``make demo`` runs) end to end, as a fresh user would run it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_flags_fentanyl_writes_its_report_and_verifies_the_chain(tmp_path: Path) -> None:
    out = tmp_path / "demo-out"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    env.pop("INTERDICT_DB", None)
    run = subprocess.run([sys.executable, "-m", "station.cli", "demo", "--out", str(out)],
                         capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
                         check=False)
    text = run.stdout
    assert run.returncode == 0, text + run.stderr
    # every held parcel scanned, with the verdict table
    table = text[text.index("  Verdicts"):]
    rows = dict(re.findall(r"^  ([A-Z]{2}\d{9}[A-Z]{2})\s+(\w+)", table, flags=re.M))
    assert len(rows) == 6
    # the fentanyl parcel raises the alert (a mixture with its diluent, or fentanyl alone)
    assert re.search(r"CP118543022IN\s+(MIXTURE|MATCH)\s+ALERT\s+.*Fentanyl", table), table
    assert rows["UA908172434MX"] in ("INCONCLUSIVE", "NO_MATCH")
    assert "SYNTHETIC" in text
    report = out / "report-CP118543022IN.html"
    assert report.is_file() and "Fentanyl" in report.read_text(encoding="utf-8")
    assert "audit chain OK" in text
    assert "simulator stopped" in text
    # nothing left running: the simulator's pty link is gone
    assert not (out / "ttySIM0").exists()
