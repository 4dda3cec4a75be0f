"""The mutation fuzzer, for longer runs than the test suite's: counts per target, reproducers.

Runs the targets of ``tests/fuzz`` (``spectra.read``, ``jcamp``, ``spc``, ``text`` over every
real file in ``../shared/data/formats`` and a few vendor text exports; ``aed``; ``frame``),
each in worker processes (``tests/fuzz/isolated.py``) with

* an address-space limit (``RLIMIT_AS``: what the worker has mapped after start-up plus
  ``--memory-mb``), so an allocation taken unchecked from the input fails in the worker
  (a ``MemoryError``, reported as an untyped error) instead of exhausting the machine;
* tracemalloc, so each input's peak allocation is checked against the target's bound
  (``floor + factor × input size``, see ``tests/fuzz/targets.py``);
* a watchdog: a worker silent for ``--hang-seconds`` is killed and the input in flight saved
  as a ``hang``; a worker that dies saves it as a ``crash``; both resume after that input.

Every finding's input is written to ``--out`` (default: a new folder under the system's
temporary directory, never the repository), with its mutation trail and traceback.

Usage::

    python bench/fuzz.py --minutes 10            # the time split evenly over the targets
    python bench/fuzz.py --iterations 5000 --targets jcamp,text
    python bench/fuzz.py --seed 7 --out /tmp/fuzz-7

Inputs are numbered and derived from ``--seed`` only, so ``--seed S --start K --iterations 1``
replays input K of a run. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _machine import describe  # noqa: E402

from tests.fuzz.isolated import Totals, run_isolated  # noqa: E402

TARGETS = ("spectra.read", "jcamp", "spc", "text", "aed", "frame")
KINDS = ("ok", "refused", "untyped", "invalid", "warning", "memory", "hang", "crash")


def report(results: list[Totals]) -> None:
    """The table of counts, refusals by type, and every finding."""
    print(f"\n{'target':<13} {'seeds':>5} {'inputs':>7} " +
          " ".join(f"{k:>8}" for k in KINDS) + f" {'inputs/s':>8} {'peak/B':>7}")
    for t in results:
        print(f"{t.name:<13} {t.seeds:>5} {t.tried:>7} " +
              " ".join(f"{t.kinds[k]:>8}" for k in KINDS) +
              f" {t.tried / max(t.seconds, 1e-9):>8.1f} {t.ratio:>7.0f}")
    print("(peak/B: the largest peak allocation per input byte on inputs of 64 KiB or more)")
    print("\nrefusals by type:")
    for t in results:
        print(f"  {t.name}: " + ", ".join(f"{k} {v}" for k, v in t.refusals.most_common()))
    findings = [(t.name, f) for t in results for f in t.findings]
    print(f"\nfindings: {len(findings)}")
    for name, f in findings:
        print(f"  {name} #{f['index']} {f['kind']}: {f['detail']}\n"
              f"      seed {f['seed']}; {' + '.join(map(str, f['trail']))}\n      {f['path']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--iterations", type=int, default=0, help="inputs per target")
    ap.add_argument("--minutes", type=float, default=0.0,
                    help="wall-clock budget for the whole run, split over the targets")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", type=int, default=0, help="first input index")
    ap.add_argument("--out", help="folder for reproducers (default: a new temporary folder)")
    ap.add_argument("--memory-mb", type=int, default=1024,
                    help="address space a worker may add after start-up")
    ap.add_argument("--hang-seconds", type=float, default=120.0)
    args = ap.parse_args()
    if not args.iterations and not args.minutes:
        args.iterations = 500
    names = [n for n in args.targets.split(",") if n]
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="interdict-fuzz-"))
    import numpy

    print(describe(numpy=numpy.__version__))
    print(f"seed {args.seed}; reproducers in {out}; address space +{args.memory_mb} MB per "
          f"worker; watchdog {args.hang_seconds:g} s")
    share = args.minutes * 60 / len(names) if args.minutes else 0.0
    results = []
    for name in names:
        t = run_isolated(name, seed=args.seed, out=out, iterations=args.iterations,
                         deadline=time.time() + share if share else 0.0, start=args.start,
                         memory_mb=args.memory_mb, hang_seconds=args.hang_seconds)
        results.append(t)
        print(f"  {name}: {t.tried} inputs in {t.seconds:.0f} s", flush=True)
    report(results)


if __name__ == "__main__":
    main()
