"""Link benchmark for the analyzer driver (``make bench``): efficiency and soak under faults,
for the ``interdict/1`` dialect and for Ocean's OBP (``--dialect obp`` or ``both``).

1. Link efficiency: a 2,048-pixel Raman spectrum fetched over a pty whose output the
   simulator paces to 115,200 and 921,600 baud (8N1, 10 bits a byte). Efficiency = spectrum
   data bytes per second / (baud / 10). Median of several fetches. (OBP: the
   GET_BUF_SPEC32_META request and its reply, 32 bytes of metadata and 2,048 u32 pixels.)
2. Soak: N acquisitions (default 10,000; OBP 1,000) against a simulator with 1% corrupted and
   0.1% dropped bytes (no baud pacing; ``--faults`` for other rates), each compared with the
   same scan from a fault-free twin simulator with the same seed: a spectrum that differs is a
   corrupted spectrum accepted. (OBP: the twin follows the device's own spectrum counter, so
   an exposure the noisy device made for a failed acquisition is matched too.)

    python bench/link.py [--dialect interdict/1|obp|both] [--soak N] [--faults SPEC]
                         [--skip-efficiency]
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _machine import describe  # noqa: E402

from driver import Analyzer  # noqa: E402
from driver.models import Configuration  # noqa: E402
from driver.session import OBP, ObpSession, V1Session  # noqa: E402
from spectra import Spectrum  # noqa: E402
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


class Tally:
    """Outcomes of a soak: intact, corrupted accepted, failed (by error), over the bound."""

    def __init__(self, n: int, bound: float) -> None:
        self.n, self.bound = n, bound
        self.ok = self.bad = self.failed = self.stuck = 0
        self.durations: list[float] = []
        self.errors: dict[str, int] = {}
        self.t_start = time.perf_counter()

    def attempt(self, acquire: Callable[[], Spectrum]) -> Spectrum | None:
        """One acquisition, timed; ``None`` when it failed (counted by error type)."""
        t0 = time.perf_counter()
        try:
            return acquire()
        except Exception as exc:  # counted, reported
            self.failed += 1
            self.errors[type(exc).__name__] = self.errors.get(type(exc).__name__, 0) + 1
            if time.perf_counter() - t0 > self.bound:
                print(f"    over the bound: {type(exc).__name__}: {exc}", flush=True)
            return None
        finally:
            d = time.perf_counter() - t0
            self.durations.append(d)
            self.stuck += d > self.bound

    def judge(self, got: Spectrum, expected: np.ndarray | None) -> None:
        """Intact when the values equal the twin's, else a corrupted spectrum accepted."""
        if expected is not None and np.array_equal(got.y, expected):
            self.ok += 1
        else:
            self.bad += 1

    def progress(self, i: int) -> None:
        if (i + 1) % max(1, self.n // 20) == 0:
            print(f"    {i + 1}/{self.n}: intact {self.ok}, corrupted accepted {self.bad}, "
                  f"failed {self.failed}, over bound {self.stuck}, "
                  f"{time.perf_counter() - self.t_start:.0f} s", flush=True)

    def report(self, setting: str, stats: dict[str, int], dev: Analyzer) -> None:
        n = self.n
        print(f"  {setting}")
        print(f"  reconnects {dev.reconnects}, scans taken again {dev.rescans}; link counters "
              "below are the last session's")
        print(f"  acquisitions: {n}; completed intact {self.ok} ({100 * self.ok / n:.2f}%); "
              f"corrupted accepted {self.bad}; failed {self.failed} {self.errors or ''}")
        print(f"  per acquisition: median {1000 * statistics.median(self.durations):.0f} ms, "
              f"max {1000 * max(self.durations):.0f} ms; longer than the derived bound "
              f"({self.bound:.2f} s): {self.stuck}")
        print(f"  link counters: {dict(sorted(stats.items()))}")
        print(f"  soak wall time {time.perf_counter() - self.t_start:.0f} s")


def soak(n: int, latency_s: float, faults: str = "corrupt=0.01,drop=0.001") -> None:
    # drain=0: a simulated battery would run flat after ~8,000 laser scans
    noisy = start_sim("--seed", "11", "--faults", faults + ",drain=0")
    clean = start_sim("--seed", "11", "--faults", "drain=0")
    try:
        with Analyzer(noisy.url, latency_s=latency_s) as dev, Analyzer(clean.url) as ref:
            dev.configure(integration_ms=1)
            ref.configure(integration_ms=1)
            tally = Tally(n, dev.scan_timeout(dev.configuration) + 60 * dev.options.latency_s)
            for i in range(n):
                expected = ref.acquire()
                s = tally.attempt(dev.acquire)
                if s is not None:
                    tally.judge(s, expected.y)
                tally.progress(i)
            stats = dev.stats
    finally:
        stop_sim(noisy)
        stop_sim(clean)
    tally.report(f"faults {faults}, 2048 pixels, integration 1 ms, no baud pacing, "
                 f"latency allowance {latency_s} s", stats, dev)


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # run the finally blocks: the simulators are stopped


def obp_efficiency(baud: int, repeats: int) -> None:
    """The spectrum read of an OBP acquisition (GET_BUF_SPEC32_META and its reply) over a
    paced pty, and what the whole acquisition puts on the line."""
    sim = start_sim("--profile", "ocean-obp", "--baud", str(baud), "--seed", "1")
    times: list[float] = []
    read_in = 0
    orig = ObpSession.fetch_scan

    def timed(self: ObpSession, scan_id: int):  # type: ignore[no-untyped-def]
        nonlocal read_in
        t0 = time.perf_counter()
        before = self.stats["bytes_in"]
        r = orig(self, scan_id)
        times.append(time.perf_counter() - t0)
        read_in = self.stats["bytes_in"] - before
        return r

    ObpSession.fetch_scan = timed  # type: ignore[method-assign]
    try:
        with Analyzer(sim.url, baudrate=baud, dialect=OBP) as dev:
            dev.configure(integration_ms=5)
            dev.acquire()  # settings applied once; the timed runs are steady state
            session = dev._require()
            assert isinstance(session, ObpSession)
            wire0 = session.stats["bytes_in"] + session.stats["bytes_out"]
            for _ in range(repeats):
                s = dev.acquire()
            wire = (session.stats["bytes_in"] + session.stats["bytes_out"] - wire0) / repeats
        counts = len(s) * 4
        payload = counts + 32
        med = statistics.median(times[1:])
        line = baud / 10
        print(f"  {baud:>7} baud: GET_BUF_SPEC32_META, median {med * 1000:.1f} ms over "
              f"{repeats}; {read_in} bytes on the wire")
        print(f"           payload (32 B metadata + u32 counts) {payload} B -> "
              f"{payload / med:,.0f} B/s = {100 * payload / med / line:.1f}% of the line rate")
        print(f"           spectrum counts only {counts} B -> {counts / med:,.0f} B/s = "
              f"{100 * counts / med / line:.1f}% of the line rate")
        print(f"           whole acquisition (abort/clear/laser/acquire/count/read, both "
              f"directions): {wire:,.0f} B on the wire = {100 * counts / wire:.1f}% counts")
    finally:
        ObpSession.fetch_scan = orig  # type: ignore[method-assign]
        stop_sim(sim)


def obp_soak(n: int, latency_s: float, faults: str = "corrupt=0.01,drop=0.001") -> None:
    """N OBP acquisitions on a noisy simulator, each compared with the same exposure (by the
    device's spectrum counter) from a fault-free twin."""
    noisy = start_sim("--profile", "ocean-obp", "--seed", "11", "--faults", faults)
    clean = start_sim("--profile", "ocean-obp", "--seed", "11")
    twin: dict[int, np.ndarray] = {}
    try:
        with Analyzer(noisy.url, latency_s=latency_s, dialect=OBP) as dev, \
                Analyzer(clean.url, dialect=OBP) as ref:
            cfg: Configuration = dev.configure(integration_ms=1)
            ref.configure(integration_ms=1)
            session = dev._require()
            assert isinstance(session, ObpSession)
            tally = Tally(n, session.acquisition_bound_s(cfg, dev.scan_timeout(cfg)))
            twin_count = 0
            for i in range(n):
                s = tally.attempt(dev.acquire)
                if s is not None:
                    k = int(s.extra["device_spectrum_count"])
                    while twin_count < k:  # the twin exposes as often as the noisy one did
                        t = ref.acquire()
                        twin_count = int(t.extra["device_spectrum_count"])
                        twin[twin_count] = t.y
                    tally.judge(s, twin.pop(k, None))  # None: an older exposure came back
                    twin = {c: y for c, y in twin.items() if c > k}
                tally.progress(i)
            stats = dev.stats
    finally:
        stop_sim(noisy)
        stop_sim(clean)
    tally.report(f"faults {faults}, 2048 pixels (8,288-byte spectrum message), integration "
                 f"1 ms, no baud pacing, latency allowance {latency_s} s", stats, dev)


def main() -> None:
    signal.signal(signal.SIGTERM, _stop)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dialect", choices=("interdict/1", "obp", "both"), default="interdict/1")
    ap.add_argument("--soak", type=int, default=None,
                    help="acquisitions in the soak (default 10,000; OBP 1,000)")
    ap.add_argument("--faults", default="corrupt=0.01,drop=0.001",
                    help="simulator faults in the soak (default corrupt=0.01,drop=0.001)")
    ap.add_argument("--skip-efficiency", action="store_true")
    ap.add_argument("--latency", type=float, default=0.05,
                    help="driver latency allowance in the soak (s); timeouts derive from it")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    runs = {"interdict/1": (efficiency, soak, 10_000), "obp": (obp_efficiency, obp_soak, 1_000)}
    for name, (eff, soak_fn, default_n) in runs.items():
        if args.dialect not in (name, "both"):
            continue
        print(f"== {name}")
        if not args.skip_efficiency:
            print("link efficiency (2,048-pixel spectrum, u32 counts):")
            eff(115_200, 5)
            eff(921_600, 9)
        n = default_n if args.soak is None else args.soak
        if n > 0:
            print(f"soak ({n} acquisitions):")
            soak_fn(n, args.latency, args.faults)


if __name__ == "__main__":
    main()
