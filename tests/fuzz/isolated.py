"""Fuzz a target in a worker process, so that what it does to memory or time cannot take the
caller down.

The worker (``python -m tests.fuzz.isolated --worker NAME ...``) limits its own address space
(``RLIMIT_AS``: what it has mapped after start-up plus ``memory_mb``), so an allocation sized
by the input fails there as a ``MemoryError`` (an untyped error, reported with its input)
instead of exhausting the machine; it writes the input in flight to a file before running it,
and prints one JSON line of counts after every batch. The parent (:func:`run_isolated`) reads
those lines; a worker that prints nothing for ``hang_seconds`` is killed and its input in
flight saved as a ``hang``, one that dies as a ``crash``, and a new worker resumes after that
input. Used by the test suite and by ``bench/fuzz.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import selectors
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BATCH = 25
"""Inputs a worker runs between two progress lines."""


def shared_data() -> Path:
    """``../shared/data`` (or ``$INTERDICT_SHARED_DATA``), as the test suite finds it."""
    return Path(os.environ.get("INTERDICT_SHARED_DATA", ROOT.parent / "shared" / "data"))


@dataclass
class Totals:
    """What one target's workers reported."""

    name: str
    kinds: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    findings: list[dict[str, object]] = field(default_factory=list)
    ratio: float = 0.0
    seeds: int = 0
    seconds: float = 0.0

    @property
    def tried(self) -> int:
        """Inputs run (a hang or crash counts as one)."""
        return sum(self.kinds.values())

    def summary(self) -> str:
        """Counts, then one line per finding."""
        kinds = ", ".join(f"{k} {v}" for k, v in self.kinds.most_common())
        lines = [f"{self.name}: {self.tried} inputs: {kinds}"]
        lines += [f"  #{f['index']} {f['kind']}: {f['detail']} (seed {f['seed']}; "
                  f"{' + '.join(map(str, f['trail']))}) -> {f['path']}" for f in self.findings]
        return "\n".join(lines)


# -- the worker ----------------------------------------------------------------------------


def _limit_address_space(headroom_mb: int) -> int:
    """Cap this process's address space at what it maps now plus ``headroom_mb``; 0 where the
    mapped size cannot be read (no ``/proc``: tracemalloc's bound still applies there)."""
    status = Path("/proc/self/status")
    if not status.is_file():
        return 0
    mapped = 0
    for line in status.read_text().splitlines():
        if line.startswith("VmSize:"):
            mapped = int(line.split()[1]) * 1024
    limit = mapped + headroom_mb * 2**20
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    return limit


def _worker(args: argparse.Namespace) -> None:
    from .engine import fuzz, scratch_dir
    from .targets import target as build

    target = build(args.worker, shared_data(), ROOT, max_seed_bytes=args.max_seed_bytes)
    limit = _limit_address_space(args.memory_mb)
    inflight = Path(args.inflight)
    print(json.dumps({"ready": target.name, "seeds": len(target.seeds),
                      "address_limit": limit}), flush=True)

    def record(i: int, data: bytes) -> None:
        inflight.write_bytes(i.to_bytes(8, "little") + data)

    index = args.start
    stop = args.start + args.iterations if args.iterations else None
    with scratch_dir() as scratch:
        while (stop is None or index < stop) and (args.deadline == 0
                                                  or time.time() < args.deadline):
            count = BATCH if stop is None else min(BATCH, stop - index)
            report = fuzz(target, iterations=count, seed=args.seed, scratch=scratch,
                          reproducers=Path(args.out), start=index, on_input=record)
            index += count
            print(json.dumps({
                "next": index, "kinds": dict(report.kinds), "refusals": dict(report.refusals),
                "ratio": report.max_peak_ratio,
                "findings": [{"index": f.index, "kind": f.kind, "detail": f.detail,
                              "seed": f.seed, "trail": f.trail, "path": str(f.path)}
                             for f in report.findings],
            }), flush=True)


# -- the parent ----------------------------------------------------------------------------


def _save_inflight(inflight: Path, out: Path, name: str, kind: str) -> tuple[int, str]:
    raw = inflight.read_bytes() if inflight.exists() else b""
    if len(raw) < 8:
        return -1, ""
    index = int.from_bytes(raw[:8], "little")
    path = out / f"{name}-{kind}-{index}.bin"
    path.write_bytes(raw[8:])
    return index, str(path)


def _inflight_dir() -> Path:
    shm = Path("/dev/shm")  # written before every input: keep it off a slow disk
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())


def run_isolated(
    name: str, *, seed: int, out: Path, iterations: int = 0, deadline: float = 0.0,
    start: int = 0, memory_mb: int = 1024, hang_seconds: float = 300.0,
    max_seed_bytes: int | None = None,
) -> Totals:
    """Fuzz target ``name`` in worker processes: inputs ``start ..`` for ``iterations`` inputs,
    or until the wall-clock ``deadline`` (an epoch time; the bench's budget).

    Returns
    -------
    Totals
        Counts and findings, including ``hang`` and ``crash``.
    """
    out.mkdir(parents=True, exist_ok=True)
    totals = Totals(name)
    stop = start + iterations if iterations else None
    inflight = _inflight_dir() / f"interdict-fuzz-inflight-{os.getpid()}-{name}"
    began = time.monotonic()
    while (stop is None or start < stop) and (deadline == 0 or time.time() < deadline):
        cmd = [sys.executable, "-m", "tests.fuzz.isolated", "--worker", name,
               "--seed", str(seed), "--start", str(start),
               "--iterations", str(stop - start if stop is not None else 0),
               "--deadline", str(deadline), "--out", str(out), "--inflight", str(inflight),
               "--memory-mb", str(memory_mb),
               "--max-seed-bytes", str(max_seed_bytes or 0)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        hung = False
        while True:
            if not sel.select(timeout=hang_seconds):
                hung = True
                proc.kill()
                break
            line = proc.stdout.readline()
            if not line:
                break
            msg = json.loads(line)
            if "ready" in msg:
                totals.seeds = msg["seeds"]
                continue
            start = msg["next"]
            totals.kinds.update(msg["kinds"])
            totals.refusals.update(msg["refusals"])
            totals.ratio = max(totals.ratio, msg["ratio"])
            totals.findings += msg["findings"]
        code = proc.wait()
        sel.close()
        proc.stdout.close()
        if hung or code != 0:
            kind = "hang" if hung else "crash"
            index, path = _save_inflight(inflight, out, name, kind)
            detail = (f"no progress for {hang_seconds:g} s" if hung
                      else f"worker exited with {code}")
            totals.kinds[kind] += 1
            totals.findings.append({"index": index, "kind": kind, "detail": detail,
                                    "seed": "", "trail": [], "path": path})
            if index < 0:
                break  # died before its first input: nothing to skip, do not loop
            start = index + 1
        elif stop is None:
            break  # the worker stopped at the deadline
    inflight.unlink(missing_ok=True)
    totals.seconds = time.monotonic() - began
    return totals


def main() -> None:
    """The worker's command line (run by :func:`run_isolated`)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--iterations", type=int, default=0)
    ap.add_argument("--deadline", type=float, default=0.0)
    ap.add_argument("--out", required=True)
    ap.add_argument("--inflight", required=True)
    ap.add_argument("--memory-mb", type=int, default=1024)
    ap.add_argument("--max-seed-bytes", type=int, default=0)
    args = ap.parse_args()
    args.max_seed_bytes = args.max_seed_bytes or None
    _worker(args)


if __name__ == "__main__":
    main()
