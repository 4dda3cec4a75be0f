"""How long each ``interdict`` command takes to start, as a ratio to ``python -c pass``.

Each command runs as a fresh process (as an officer or a script would run it) in a scratch
directory holding an evidence database with the sample AED batch; the figure is the median
wall time of ``--repeat`` runs, with the median CPU time (user + system) beside it, since the
machine is often shared. ``identify`` reads one reference spectrum of the bundled library.

Targets (issue 12, this machine): ``--help``, ``config``, ``parcel show/list``, ``audit``,
``stats`` ≤ 0.3 s; ``identify`` of one file ≤ 1 s.

    python bench/startup.py [--repeat 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from _machine import describe  # noqa: E402

TARGETS = {"identify": 1.0}
DEFAULT_TARGET = 0.3


def _interdict() -> list[str]:
    exe = Path(sys.executable).with_name("interdict")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "station.cli"]


def _run(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system of the child) and the exit code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, p.returncode


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="interdict-startup-"))
    env = {**os.environ, "INTERDICT_DB": str(work / "evidence.db"),
           "INTERDICT_OPERATOR": "bench", "HOME": str(work)}
    env.pop("INTERDICT_CONFIG", None)
    # as installed: pip compiles the bytecode, so the warm-up run may write it (with
    # PYTHONDONTWRITEBYTECODE set, every run compiles our ~60 modules from source: ~0.2 s)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    exe = _interdict()
    subprocess.run([*exe, "parcel", "import", str(ROOT / "fixtures/aed/sample_batch.jsonl")],
                   env=env, cwd=work, capture_output=True, check=False)
    sample = ROOT / "fixtures/library/calcite.csv"
    commands: dict[str, list[str]] = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "--help": [*exe, "--help"],
        "config": [*exe, "config"],
        "parcel list": [*exe, "parcel", "list"],
        "parcel show": [*exe, "parcel", "show", "CP118543022IN"],
        "audit verify": [*exe, "audit", "verify"],
        "stats": [*exe, "stats"],
        "identify": [*exe, "identify", str(sample)],
    }
    rows = []
    base = None
    for name, cmd in commands.items():
        _run(cmd, env, work)  # warm the file cache
        walls, cpus, codes = [], [], set()
        for _ in range(args.repeat):
            w, c, code = _run(cmd, env, work)
            walls.append(w)
            cpus.append(c)
            codes.add(code)
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        if base is None:
            base = wall
        target = None if name == "python -c pass" else TARGETS.get(name, DEFAULT_TARGET)
        rows.append({"command": name, "wall_s": wall, "cpu_s": cpu, "ratio_to_python":
                     wall / base, "target_s": target, "exit_codes": sorted(codes)})
    machine = describe()
    if args.json:
        print(json.dumps({"machine": machine, "repeat": args.repeat, "rows": rows}, indent=1))
        return 0
    print(f"# command start-up, median of {args.repeat} runs; {machine}")
    print(f"{'command':<16} {'wall s':>8} {'cpu s':>8} {'× python':>9} {'target':>7}  exit")
    for r in rows:
        tgt = "" if r["target_s"] is None else f"{r['target_s']:.1f}"
        flag = "" if r["target_s"] is None or r["wall_s"] <= r["target_s"] else "  over"
        print(f"{r['command']:<16} {r['wall_s']:8.3f} {r['cpu_s']:8.3f} "
              f"{r['ratio_to_python']:9.1f} {tgt:>7}  {r['exit_codes']}{flag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
