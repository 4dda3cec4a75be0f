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
from station.commands._common import fail, station_config
from station.errors import UsageError
from station.exit_codes import ExitCode, epilog
from station.options import add_config_arguments
from station.progress import bar, quiet_option, wanted

if TYPE_CHECKING:
    from matcher.identify import Identifier
    from matcher.library import LibrarySet
    from matcher.results import Identification
    from spectra import Spectrum

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


def _prepare_input(s: Spectrum, technique: str | None, lib_set: LibrarySet,
                   part: str | None) -> tuple[Spectrum, str]:
    """The spectrum with technique/unit filled in, and the id of the library part to use."""
    from matcher.library import fill_unstated
    from spectra import Technique

    if s.technique is Technique.OTHER:
        if technique is None and len(lib_set) != 1:
            raise UsageError("the file does not say what was measured",
                             hint="give --technique")
        s = fill_unstated(s, technique=technique or lib_set[0].technique)
    lib = lib_set.get(part) if part is not None else lib_set.select(s.technique, s.excitation_nm)
    return fill_unstated(s, x_unit=lib.x_unit), lib.id


def run(args: argparse.Namespace) -> ExitCode:
    """Identify every spectrum of every file; print the results; 3 when an input failed."""
    import spectra
    from matcher.library import LibraryError, LibraryFileError
    from station.config import thresholds_for
    from station.errors import LibraryUnavailableError
    from station.workflows.library import load_libraries

    out = sys.stdout
    if args.top < 1:
        raise UsageError(f"--top must be at least 1, got {args.top}")
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
    batch = _Batch(out, args, lib_set, cfg)
    if batch.writer is not None:
        _csv_row(batch.writer, list(CSV_COLUMNS))
    code = ExitCode.OK
    files: list[Path] = args.files
    with bar("identify", unit="file", enabled=wanted(args) and len(files) > 1) as progress:
        for done, path in enumerate(files):
            progress(done, len(files))
            if not batch.identify_file(path):
                code = ExitCode.REJECTED
        progress(len(files), len(files))
    out.flush()
    return code


class _Batch:
    """The files of one ``identify`` run: one identifier per library part, built once."""

    def __init__(self, out: TextIO, args: argparse.Namespace, lib_set: LibrarySet,
                 cfg: Any) -> None:
        self.out, self.args, self.lib_set, self.cfg = out, args, lib_set, cfg
        self.identifiers: dict[str, Identifier] = {}
        self.writer = csv.writer(out) if args.format == "csv" else None

    def identify_file(self, path: Path) -> bool:
        """Identify and print every spectrum of one file; False when any of it failed
        (each failure named on stderr)."""
        return _identify_file(self, path)


def _identify_file(batch: _Batch, path: Path) -> bool:
    """See :meth:`_Batch.identify_file`."""
    import spectra
    from matcher.identify import Identifier
    from matcher.library import LibraryError
    from station.config import thresholds_for

    out, writer, args, lib_set, cfg, identifiers = (
        batch.out, batch.writer, batch.args, batch.lib_set, batch.cfg, batch.identifiers)
    prog = args.command_prog
    try:
        found = spectra.read(path)
    except (spectra.SpectraError, OSError, ValueError) as exc:
        fail(prog, exc, what=f"{path}: {exc}")
        return False
    ok = True
    for i, raw in enumerate(found):
        try:
            s, part_id = _prepare_input(raw, args.technique, lib_set, args.part)
            if part_id not in identifiers:
                lib = lib_set.get(part_id)
                identifiers[part_id] = Identifier(
                    lib, thresholds=thresholds_for(cfg, lib.technique),
                    matcher=cfg.matcher)
            res = identifiers[part_id].identify(s, k=args.top)
        except (spectra.SpectraError, LibraryError, ValueError) as exc:
            where = f"{path}" + (f" [{i + 1}]" if len(found) > 1 else "")
            fail(prog, exc, what=f"{where}: {exc}")
            ok = False
            continue
        if args.format == "json":
            out.write(shown(json.dumps(_json_record(str(path), i, res),
                                        ensure_ascii=False)) + "\n")
        elif writer is not None:
            top = res.hits[0] if res.hits else None
            _csv_row(writer, [
                str(path), i, res.verdict.value, int(res.alert),
                ";".join(res.alert_substances), f"{res.confidence:.4f}",
                top.name if top else "", top.entry_id if top else "",
                f"{top.score:.3f}" if top else "", _mixture_text(res), res.reason or "",
                res.library_id, res.library_hash,
            ])
        else:
            _table(out, str(path), i, len(found), title=raw.title, res=res)
    return ok
