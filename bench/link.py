"""Link benchmark for the analyzer driver (``make bench``): efficiency and soak under faults.

1. Link efficiency: a 2,048-pixel Raman spectrum fetched over a pty whose output the
   simulator paces to 115,200 and 921,600 baud (8N1, 10 bits a byte). Efficiency = spectrum
   data bytes per second / (baud / 10). Median of several fetches.
2. Soak: N acquisitions (default 10,000) against a simulator with 1% corrupted and 0.1%
   dropped bytes (no baud pacing), each compared with the same scan from a fault-free twin
   simulator with the same seed: a spectrum that differs is a corrupted spectrum accepted.

    python bench/link.py [--soak N] [--skip-efficiency]
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _machine import describe  # noqa: E402

from driver import Analyzer  # noqa: E402
from driver.protocol.interdict_v1 import V1Session  # noqa: E402
from tests.driver.conftest import start_sim, stop_sim  # noqa: E402


def machine() -> str:
    return describe()


def efficiency(baud: int, repeats: int) -> None:
    sim = start_sim("--baud", str(baud), "--seed", "1")
    times: list[float] = []
    blob_bytes = 0
    payload_bytes = 0
    orig = V1Session.fetch_scan
    orig_blob = V1Session.fetch_blob

    def sized(self: V1Session, ref, *limits):  # type: ignore[no-untyped-def]
        nonlocal payload_bytes
        payload_bytes = ref.size
        return orig_blob(self, ref, *limits)

    def timed(self: V1Session, scan_id: int):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        before = self.stats["bytes_in"]
        r = orig(self, scan_id)
        times.append(time.perf_counter() - t0)
        nonlocal blob_bytes
        blob_bytes = self.stats["bytes_in"] - before
        return r

    V1Session.fetch_scan = timed  # type: ignore[method-assign]
    V1Session.fetch_blob = sized  # type: ignore[method-assign]
    try:
        with Analyzer(sim.url, baudrate=baud) as dev:
            dev.configure(integration_ms=5)
            for _ in range(repeats):
                s = dev.acquire()
        data = len(s) * 4
        med = statistics.median(times)
        line = baud / 10
        print(f"  {baud:>7} baud: GET_SCAN + FETCH, median {med * 1000:.1f} ms over {repeats}; "
              f"{blob_bytes} bytes on the wire")
        print(f"           payload (scan blob: JSON header + counts) {payload_bytes} B -> "
              f"{payload_bytes / med:,.0f} B/s = {100 * payload_bytes / med / line:.1f}% "
              f"of the line rate")
        print(f"           spectrum counts only {data} B -> {data / med:,.0f} B/s = "
              f"{100 * data / med / line:.1f}% of the line rate")
    finally:
        V1Session.fetch_scan = orig  # type: ignore[method-assign]
        V1Session.fetch_blob = orig_blob  # type: ignore[method-assign]
        stop_sim(sim)


def soak(n: int, latency_s: float) -> None:
    faults = "corrupt=0.01,drop=0.001"
    # drain=0: a simulated battery would run flat after ~8,000 laser scans
    noisy = start_sim("--seed", "11", "--faults", faults + ",drain=0")
    clean = start_sim("--seed", "11", "--faults", "drain=0")
    ok = bad = failed = stuck = 0
    durations: list[float] = []
    errors: dict[str, int] = {}
    t_start = time.perf_counter()
    try:
        with Analyzer(noisy.url, latency_s=latency_s) as dev, Analyzer(clean.url) as ref:
            dev.configure(integration_ms=1)
            ref.configure(integration_ms=1)
            bound = dev.scan_timeout(dev.configuration) + 60 * dev.options.latency_s
            for i in range(n):
                expected = ref.acquire()
                t0 = time.perf_counter()
                try:
                    s = dev.acquire()
                except Exception as exc:  # counted, reported
                    failed += 1
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    continue
                finally:
                    d = time.perf_counter() - t0
                    durations.append(d)
                    stuck += d > bound
                if np.array_equal(s.y, expected.y):
                    ok += 1
                else:
                    bad += 1
                if (i + 1) % max(1, n // 20) == 0:
                    print(f"    {i + 1}/{n}: intact {ok}, corrupted accepted {bad}, failed "
                          f"{failed}, over bound {stuck}, {time.perf_counter() - t_start:.0f} s",
                          flush=True)
            stats = dev.stats
    finally:
        stop_sim(noisy)
        stop_sim(clean)
    total = time.perf_counter() - t_start
    print(f"  faults {faults}, 2048 pixels, integration 1 ms, no baud pacing, "
          f"latency allowance {latency_s} s")
    print(f"  acquisitions: {n}; completed intact {ok} ({100 * ok / n:.2f}%); "
          f"corrupted accepted {bad}; failed {failed} {errors or ''}")
    print(f"  per acquisition: median {1000 * statistics.median(durations):.0f} ms, "
          f"max {1000 * max(durations):.0f} ms; longer than the derived bound "
          f"({bound:.2f} s): {stuck}")
    print(f"  link counters: {dict(sorted(stats.items()))}")
    print(f"  soak wall time {total:.0f} s")


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # run the finally blocks: the simulators are stopped


def main() -> None:
    signal.signal(signal.SIGTERM, _stop)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--soak", type=int, default=10_000, help="acquisitions in the soak")
    ap.add_argument("--skip-efficiency", action="store_true")
    ap.add_argument("--latency", type=float, default=0.05,
                    help="driver latency allowance in the soak (s); timeouts derive from it")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    if not args.skip_efficiency:
        print("link efficiency (2,048-pixel spectrum, u32 counts):")
        efficiency(115_200, 5)
        efficiency(921_600, 9)
    if args.soak > 0:
        print(f"soak ({args.soak} acquisitions):")
        soak(args.soak, args.latency)


if __name__ == "__main__":
    main()
