"""The command bodies of ``scan``, ``watch`` and ``report``: configuration in, exit code out."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from station._terminal import say
from station.commands.scan import (
    EXIT_ERROR,
    EXIT_NOT_BUILT,
    EXIT_OK,
    EXIT_PARCEL,
)
from station.config import StationConfig

if TYPE_CHECKING:
    from matcher.library import LibrarySet


def _err(msg: str) -> None:
    say(f"interdict: {msg}", sys.stderr)


def load_libraries(cfg: StationConfig) -> LibrarySet:
    """The configured library (or the embedded default, built next to the database)."""
    from station.workflows.library import open_libraries

    return open_libraries(cfg.library, cfg.db.parent)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and a rename (no half-written file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_report(cfg: StationConfig, item_id: str, out: Path, *, as_json: bool = False) -> int:
    """``interdict report``: write the HTML evidence report of one parcel."""
    try:
        from parcels.errors import (
            IntegrityError,
            InvalidItemIdError,
            ParcelNotFoundError,
            ParcelsError,
        )
        from parcels.store import open_store
    except ImportError as exc:  # pragma: no cover - only before parcels lands
        _err(f"the evidence store (parcels) is not built yet: {exc}")
        return EXIT_NOT_BUILT
    from station.report import render_html
    from station.workflows.evidence import collect_report

    if not cfg.db.is_file():
        _err(f"no evidence database at {cfg.db} (set --db or INTERDICT_DB)")
        return EXIT_ERROR
    libs: LibrarySet | None
    try:
        libs = load_libraries(cfg)
    except Exception as exc:  # the report is still useful without plots; say so
        _err(f"warning: library not loaded, plots will be missing: {exc}")
        libs = None
    try:
        from parcels.signing import StationKey

        with open_store(cfg.db, create=False,
                        signer=StationKey.load_or_create(cfg.key)) as store:
            report = collect_report(store, item_id, libs=libs, station=cfg.station,
                                    generated_by=cfg.operator or "", database=str(cfg.db))
            text = render_html(report)
            write_atomically(out, text)
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
            try:
                store.record_export([report.item_id], actor=cfg.operator or cfg.station,
                                    destination=str(out.resolve()), content_digest=digest)
            except IntegrityError as exc:  # the station will not sign on a rewritten chain
                _err(f"the report was written but its export could not be logged: {exc}")
    except (InvalidItemIdError, ParcelNotFoundError) as exc:
        _err(str(exc))
        return EXIT_PARCEL
    except ParcelsError as exc:
        _err(f"evidence store: {exc}")
        return EXIT_ERROR
    summary = {
        "item_id": report.item_id, "report": str(out), "sha256": digest,
        "inspections": len(report.inspections),
        "alert": any(v.alert for v in report.inspections),
        "synthetic_used": any(v.synthetic for v in report.inspections),
        "plots": sum(v.plot is not None for v in report.inspections),
        "chain_ok": report.chain_ok,
        "signed_head": (None if report.signed_head is None
                        else f"{report.signed_head.seq}:{report.signed_head.hash}"),
        "key_id": None if report.signed_head is None else report.signed_head.key_id,
    }
    if as_json:
        print(json.dumps(summary))
    else:
        say(f"evidence report for {report.item_id}: {out} ({len(report.inspections)} "
            f"inspection(s), evidence {'verified' if report.chain_ok else 'NOT VERIFIED'})")
    if not report.chain_ok:
        _err(f"{report.item_id}: the evidence does NOT verify against the signed audit chain "
             f"(the report says so): {report.chain_message}")
        return EXIT_ERROR
    return EXIT_OK


def scan_command(cfg: StationConfig, item_id: str, *, self_test: str = "auto",
                 as_json: bool = False, clock: Callable[[], datetime] | None = None) -> int:
    """``interdict scan``."""
    from station.workflows.scan import run_scan

    return run_scan(cfg, item_id, self_test=self_test, as_json=as_json, clock=clock)


def watch_command(cfg: StationConfig, *, queue: bool = False, max_scans: int | None = None,
                  as_json: bool = False, clock: Callable[[], datetime] | None = None,
                  sync_every_s: float = 60.0) -> int:
    """``interdict watch``."""
    from station.workflows.watch import run_watch

    return run_watch(cfg, use_queue=queue, max_scans=max_scans, as_json=as_json, clock=clock,
                     sync_every_s=sync_every_s)
