"""``interdict identify``: identify measured spectra against a substance library."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from station._help import HelpFormatter
from station._terminal import shown
from station.commands._common import station_config, tell
from station.errors import UsageError
from station.exit_codes import ExitCode, epilog
from station.options import add_config_arguments
from station.progress import bar, quiet_option, wanted

if TYPE_CHECKING:
    from matcher.batch import FileResult
    from matcher.results import Identification

DESCRIPTION = """\
Identify every spectrum of every file (a file may hold several) against a substance
library: the embedded default, the station configuration's library, or --library.

A file that does not state what was measured takes --technique (or the library's technique
when the library has one part); a file without an x unit (plain x,y text) is taken to be on
the library's unit. With several files, a progress bar is drawn on stderr when it is a
terminal.

--format json writes one JSON object per spectrum and line: file, index, verdict, reason,
alert, alert_substances, confidence, hits (name, id, score, category, synthetic), mixture,
library_id, library_hash, pipeline, score, thresholds, synthetic_used, notes, snr.
--format csv writes one row per spectrum, formula cells neutralised.

A file that cannot be read or identified is named on stderr and the others are still
identified (exit 3).
"""


def register(sub: Any) -> None:
    """Register ``identify``."""
    p = sub.add_parser(
        "identify", help="identify spectra against a substance library",
        description=DESCRIPTION,
        epilog=epilog(ExitCode.OK, ExitCode.ERROR, ExitCode.REJECTED),
        formatter_class=HelpFormatter,
    )
    p.add_argument("files", nargs="+", metavar="FILE", type=Path,
                   help="spectrum files (JCAMP-DX, SPC, OPUS, SPA, WDF, SPE, text...)")
    p.add_argument("--top", "-k", type=int, default=5, metavar="K",
                   help="hits reported per spectrum (default 5)")
    p.add_argument("--format", "-f", choices=("table", "json", "csv"), default="table",
                   help="table for reading (default), json lines or csv for scripts")
    p.add_argument("--technique", default=None, metavar="T",
                   help="technique of files that do not state it (raman, ftir-atr, ...)")
    p.add_argument("--part", default=None, metavar="ID",
                   help="the library part to search (multi-part libraries; default: the "
                        "part of the spectrum's technique)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="processes reading and preprocessing the files while this one "
                        "searches (default 1; worth it for thousands of files: each worker "
                        "takes about a second to start); the results are the same, in the "
                        "same order, for any number")
    quiet_option(p)
    add_config_arguments(p, "config", "library", "thresholds", "matcher",
                         short={"library": "-l"})
    p.set_defaults(func=run)


CSV_COLUMNS = ("file", "index", "verdict", "alert", "alert_substances", "confidence",
               "top_hit", "top_id", "top_score", "mixture", "reason", "library_id",
               "library_hash")


def _json_record(file: str, index: int, res: Identification) -> dict[str, Any]:
    mix = None
    if res.mixture is not None:
        mix = {
            "components": [{"name": c.name, "id": c.entry_id, "share": c.share,
                            "category": c.category.value, "synthetic": c.synthetic}
                           for c in res.mixture.components],
            "composite_hqi": res.mixture.composite_hqi,
            "residual_fraction": res.mixture.residual_fraction,
            "structured_residual": res.mixture.structured_residual,
        }
    return {
        "file": file, "index": index, "verdict": res.verdict.value, "reason": res.reason,
        "alert": res.alert, "alert_substances": list(res.alert_substances),
        "confidence": round(res.confidence, 4),
        "hits": [{"name": h.name, "id": h.entry_id, "score": h.score,
                  "category": h.category.value, "synthetic": h.synthetic} for h in res.hits],
        "mixture": mix, "library_id": res.library_id, "library_hash": res.library_hash,
        "matcher": res.matcher, "model_hash": res.model_hash,
        "pipeline": res.pipeline.model_dump(mode="json"), "score": res.score,
        "thresholds": res.thresholds, "synthetic_used": res.synthetic_used,
        "notes": list(res.notes), "snr": res.snr,
    }


def _mixture_text(res: Identification) -> str:
    if res.mixture is None:
        return ""
    return " + ".join(f"{c.name} {100 * c.share:.0f}%" for c in res.mixture.components)


def _csv_row(writer: Any, cells: list[Any]) -> None:
    """One CSV row, text cells neutralised against spreadsheet formulas (a file name or an
    entry name starting with ``=``; see :func:`parcels.text.neutralise_formula`)."""
    from parcels.text import neutralise_formula

    writer.writerow([neutralise_formula(c) if isinstance(c, str) else c for c in cells])


def _table(out: TextIO, file: str, index: int, n: int, *, title: str,
           res: Identification) -> None:
    def put(line: str) -> None:  # file names, titles, entry names come from outside
        out.write(shown(line) + "\n")

    where = f"{file}" + (f" [{index + 1}/{n}]" if n > 1 else "") + (f"  ({title})" if title else "")
    put(f"== {where}")
    if res.alert:
        bar = "!" * 70
        put(bar)
        put(f"!!! ALERT: controlled substance / precursor: {', '.join(res.alert_substances)}")
        put(bar)
    put(f"   VERDICT: {res.verdict.value}")
    put(f"   decided on: {res.basis()}")
    if res.reason:
        put(f"   reason:  {res.reason}")
    if res.mixture is not None:
        m = res.mixture
        put(f"   mixture: {_mixture_text(res)}  (composite HQI {m.composite_hqi:.1f}, "
            f"unexplained {100 * m.residual_fraction:.1f}%)")
    if res.hits:
        put(f"   {'#':>2}  {'substance':<32} {'score':>6}  category")
        for i, h in enumerate(res.hits, 1):
            syn = "  SYNTHETIC" if h.synthetic else ""
            put(f"   {i:>2}  {shown(h.name)[:32]:<32} {h.score:6.1f}  {h.category.value}{syn}")
    for note in res.notes:
        put(f"   note: {note}")
    model = f", model {res.model_hash[:12]}…" if res.model_hash else ""
    put(f"   library {res.library_id} ({res.library_hash[:12]}…), score {res.score}, "
        f"matcher {res.matcher}{model}")


def run(args: argparse.Namespace) -> ExitCode:
    """Identify every spectrum of every file; print the results; 3 when an input failed."""
    import spectra
    from matcher.batch import Identifiers, identify_files
    from matcher.library import LibraryError, LibraryFileError
    from station.config import thresholds_for
    from station.errors import LibraryUnavailableError
    from station.workflows.library import load_libraries

    out = sys.stdout
    if args.top < 1:
        raise UsageError(f"--top must be at least 1, got {args.top}")
    if args.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {args.workers}")
    if args.technique is not None:
        try:
            spectra.Technique(args.technique)
        except ValueError:
            known = ", ".join(t.value for t in spectra.Technique)
            raise UsageError(f"unknown --technique {args.technique!r}",
                             hint=f"give one of {known}") from None
    cfg = station_config(args)
    thresholds_for(cfg)  # unknown names and refused values: a usage error, before any work
    try:
        lib_set = load_libraries(cfg)
    except (LibraryError, OSError, ValueError) as exc:
        named = isinstance(exc, LibraryFileError) and exc.path is not None  # names the file
        where = "" if named else f" {cfg.library or 'the embedded default library'}"
        raise LibraryUnavailableError(
            f"cannot open library{where}: {exc}; nothing was identified") from exc
    identifiers = Identifiers(lib_set, lambda technique: thresholds_for(cfg, technique),
                              matcher=cfg.matcher)
    writer = csv.writer(out) if args.format == "csv" else None
    if writer is not None:
        _csv_row(writer, list(CSV_COLUMNS))
    code = ExitCode.OK
    files: list[Path] = args.files
    with bar("identify", unit="file", enabled=wanted(args) and len(files) > 1) as progress:
        try:
            for r in identify_files(files, identifiers, technique=args.technique,
                                    part=args.part, k=args.top, workers=args.workers,
                                    progress=progress):
                if r.result is None:
                    where = r.path + (f" [{r.index + 1}]" if r.count > 1 else "")
                    _tell_failed(args.command_prog, r, where)
                    code = ExitCode.REJECTED
                    continue
                _show(out, writer, args.format, r)
        except LibraryError as exc:  # --part names no part: before any file is read
            raise UsageError(f"--part: {exc}") from exc
    out.flush()
    return code


def _tell_failed(prog: str, r: FileResult, where: str) -> None:
    """Name a file or spectrum that could not be identified on stderr, with the advice of
    its error's kind."""
    from station.exit_codes import classify

    kind = classify(r.error_type) if r.error_type is not None else None
    tell(prog, f"{where}: {r.error}", kind[1] if kind and kind[1] else f"see {prog} --help")


def _show(out: TextIO, writer: Any, fmt: str, r: FileResult) -> None:
    """One spectrum's result as the table, a JSON line or a CSV row."""
    res = r.result
    assert res is not None
    if fmt == "json":
        out.write(shown(json.dumps(_json_record(r.path, r.index, res), ensure_ascii=False))
                  + "\n")
    elif writer is not None:
        top = res.hits[0] if res.hits else None
        _csv_row(writer, [
            r.path, r.index, res.verdict.value, int(res.alert),
            ";".join(res.alert_substances), f"{res.confidence:.4f}",
            top.name if top else "", top.entry_id if top else "",
            f"{top.score:.3f}" if top else "", _mixture_text(res), res.reason or "",
            res.library_id, res.library_hash,
        ])
    else:
        _table(out, r.path, r.index, r.count, title=r.title, res=res)
