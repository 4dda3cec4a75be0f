"""``interdict demo``: the main job, end to end, on the embedded defaults.

On a fresh clone, within a minute and with a readable transcript: build the demo library
(``fixtures/library`` + the SYNTHETIC fentanyl reference), start the simulated analyzer on a
virtual serial port (a pty), import the sample AED batch, scan every held parcel through the
real driver stack, print the verdicts, write the evidence report and the evidence bundle of the
flagged parcel (and verify the bundle as a court would), verify the signed audit chain, and stop
everything it started. Output goes to ``demo-out/`` (with the demo station's signing key).

``--fleet`` shows the fleet instead (:mod:`station.commands._fleet`): a private PostgreSQL and
central service, two stations syncing to it, the fentanyl parcel's record read centrally.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from station._help import HelpFormatter
from station.commands._simulated import start_simulator, step, stop_simulator
from station.exit_codes import ExitCode, epilog


def register(sub: Any) -> None:
    """Register ``interdict demo``."""
    p = sub.add_parser(
        "demo", help="run the end-to-end demo on the embedded defaults (about a minute)",
        description="Build the demo library, start the simulated analyzer on a pty, import "
                    "the sample AED batch, scan the held parcels, print the verdicts, write "
                    "one evidence report and bundle, verify them and the audit chain, stop "
                    "the simulator. Everything goes into --out, with the demo station's own "
                    "database and signing key.",
        epilog=epilog(ExitCode.OK, ExitCode.ERROR, ExitCode.DEVICE, ExitCode.NOT_VERIFIED,
                      ExitCode.UNREACHABLE),
        formatter_class=HelpFormatter)
    p.add_argument("--out", default="demo-out", metavar="DIR",
                   help="output folder (default demo-out/; its demo files are replaced)")
    p.add_argument("--operator", default="officer.demo", help="operator recorded in evidence")
    p.add_argument("--station", default="DEMO-IMF-01", help="station id recorded in evidence")
    p.add_argument("--fleet", action="store_true",
                   help="the fleet instead: a private PostgreSQL and central service, two "
                        "stations syncing to it, the fentanyl parcel's record read centrally "
                        "(about 30 s; needs the central extra and PostgreSQL's server "
                        "binaries)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo; returns the exit code (0 when every step worked)."""
    t0 = time.monotonic()
    out = Path(args.out).resolve()
    if args.fleet:
        from station.commands._fleet import run_fleet

        return run_fleet(out, operator=args.operator)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("evidence.db", "evidence.db-wal", "evidence.db-shm", "selftest.json",
                 "demo-library.ilib"):
        (out / name).unlink(missing_ok=True)
    for old in (*out.glob("report-*.html"), *out.glob("*.zip")):
        old.unlink()
    print("Interdict demo: a field station at an international mail facility, end to end.")
    print(f"output: {out}")

    from station.workflows.library import build_library_set

    step(1, "build the demo library: fixtures/library (measured Raman, permissive licences) "
             "+ fixtures/library-synthetic (SYNTHETIC, demo only) + fixtures/library-ftir")
    lib_path = out / "demo-library.ilib"
    libs = build_library_set(synthetic=True, library_id="interdict-demo")
    libs.save(lib_path)
    for part in libs:
        print(f"    {part!r}\n      hash {part.hash}")
    synthetic = [e.name for part in libs for e in part.entries if e.synthetic]
    print(f"    SYNTHETIC entries (never for casework): {', '.join(synthetic)}")

    step(2, "start the simulated analyzer on a virtual serial port (pty)")
    proc, url = start_simulator(out)
    print(f"    simulator pid {proc.pid} on {url}")
    try:
        code = _scan_all(args, out, url, lib_path, t0)
    finally:
        step(8, "stop everything the demo started")
        stop_simulator(proc, url)
        print(f"    simulator stopped (exit {proc.returncode})")
    print(f"\ndemo finished in {time.monotonic() - t0:.1f} s; files in {out}")
    return code


def _scan_all(args: argparse.Namespace, out: Path, url: str, lib_path: Path,
              t0: float) -> int:
    from parcels.records import HoldState, ParcelQuery
    from station.cli import main as cli
    from station.config import load_config
    from station.workflows.display import show_outcome
    from station.workflows.library import FIXTURES
    from station.workflows.report import write_report
    from station.workflows.scan import StationSession

    db = out / "evidence.db"
    key = out / "station.key"  # the demo station's own signing key, beside its database
    cfg = load_config({"device": url, "db": str(db), "key": str(key), "library": str(lib_path),
                       "operator": args.operator, "station": args.station}, env={})

    step(3, "import the sample AED batch (advance electronic data, with hold requests)")
    code = cli(["parcel", "import", str(FIXTURES / "aed" / "sample_batch.jsonl"),
                "--db", str(db), "--key", str(key), "--operator", "aed-feed"])
    if code != 0:
        print(f"    import failed (exit {code})")
        return 1

    step(4, "connect to the analyzer through the real driver stack and self-test it")
    session = StationSession(cfg)
    rows: list[tuple[str, str, str, bool, str]] = []
    flagged: str | None = None
    try:
        store = session.open_store()
        held = [p.item_id for p in store.find(ParcelQuery(hold_state=HoldState.REQUESTED,
                                                          order="received"))]
        print(f"    {len(held)} parcels held for inspection: {', '.join(held)}")
        session.open_library()
        session.connect()
        session.self_test_if_due("always", "raman")

        step(5, "scan each held parcel: acquire → identify → record → verdict")
        for held_id in held:
            print(f"\n  --- {held_id} ---", flush=True)
            item = session.ensure_in_hand(held_id)
            outcome = session.scan_and_record(item, "raman")
            show_outcome(session.out, outcome)
            ident = outcome.identification
            hits = getattr(ident, "hits", ())
            mix = getattr(ident, "mixture", None)
            if ident.verdict.value == "MIXTURE" and mix is not None:
                names = " + ".join(c.name for c in mix.components)
            else:
                names = hits[0].name if hits and ident.verdict.value == "MATCH" else "—"
            rows.append((item, ident.verdict.value, names, ident.alert,
                         ident.reason or ""))
            if ident.alert and flagged is None and any(
                    "fentanyl" in s.lower() for s in ident.alert_substances):
                flagged = item
    finally:
        session.close()

    print("\n  Verdicts")
    print(f"  {'parcel':<15} {'verdict':<13} {'alert':<6} substance / reason")
    for item, verdict, names, alert, reason in rows:
        print(f"  {item:<15} {verdict:<13} {'ALERT' if alert else '':<6} "
              f"{names if verdict in ('MATCH', 'MIXTURE') else reason}")

    step(6, "write the evidence report and the evidence bundle of the parcel flagged for "
             "fentanyl")
    if flagged is None:
        print("    no parcel was flagged for fentanyl: the demo did not reach its goal")
        return 1
    report = out / f"report-{flagged}.html"
    written = write_report(cfg, flagged, report)
    if not written.verified:
        print(f"    the evidence of {flagged} does NOT verify: {written.report.chain_message}")
        return ExitCode.NOT_VERIFIED
    print(f"    evidence report for {flagged}: {report} "
          f"({len(written.report.inspections)} inspection(s), evidence verified)")
    print(f"    open it in a browser: file://{report}")

    bundle = out / f"{flagged}.zip"
    code = cli(["evidence", "export", flagged, "-o", str(bundle), "--db", str(db),
                "--key", str(key), "--operator", args.operator])
    if code != 0:
        return code
    from parcels.signing import StationKey

    print("    a laboratory or a court checks it without the database, requiring this "
          "station's key:")
    code = cli(["evidence", "verify", str(bundle), "--trust", StationKey.load(key).key_id])
    if code != 0:
        print(f"    EVIDENCE BUNDLE VERIFICATION FAILED (exit {code})")
        return 1

    step(7, "verify the audit chain, its signatures and the evidence it vouches for")
    code = cli(["audit", "verify", "--db", str(db), "--key", str(key)])
    if code != 0:
        print(f"    AUDIT VERIFICATION FAILED (exit {code})")
        return 1
    return 0
