"""``interdict identify``: identify measured spectra against a substance library.

Command::

    interdict identify FILE... [--library LIB] [--top K] [--format table|json|csv]
                       [--technique T] [--part ID] [--matcher classic|learned|fused]

One result per spectrum (a file may hold several). A file that does not state what was
measured takes ``--technique`` (or the library's technique when the file holds one part);
a file without an x unit (plain x,y text) is taken to be on the library's unit.

``--format json`` writes JSON lines, one object per spectrum, with ``file``, ``index``,
``verdict``, ``reason``, ``alert``, ``alert_substances``, ``confidence``, ``hits`` (``name``,
``id``, ``score``, ``category``, ``synthetic``), ``mixture``, ``library_id``,
``library_hash``, ``matcher``, ``model_hash`` (the embedding model's sha256, null for the
classic matcher), ``pipeline``, ``score``, ``thresholds``, ``synthetic_used`` and ``notes``.

Exit codes: 0 every spectrum was identified (whatever the verdict); 1 an input or the
library could not be read or searched (the others are still reported; the error goes to
stderr naming the file); 2 usage error.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from station._terminal import say, shown

if TYPE_CHECKING:
    from matcher.identify import Identifier
    from matcher.library import LibrarySet
    from matcher.results import Identification
    from spectra import Spectrum

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2

CSV_COLUMNS = ("file", "index", "verdict", "alert", "alert_substances", "confidence",
               "top_hit", "top_id", "top_score", "mixture", "reason", "library_id",
               "library_hash")


def register(sub: Any) -> None:
    """Register ``identify``."""
    p = sub.add_parser(
        "identify", help="identify spectra against a substance library",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="+", metavar="FILE", type=Path, help="spectrum files")
    p.add_argument("--library", "-l", type=Path, metavar="LIB",
                   help="library file (interdict library build); default: the station "
                        "config's library (env INTERDICT_LIBRARY), else the embedded default")
    p.add_argument("--config", metavar="FILE",
                   help="station TOML file (env INTERDICT_CONFIG; default ./interdict.toml)")
    p.add_argument("--threshold", dest="thresholds", metavar="NAME=VALUE", action="append",
                   help="verdict threshold, repeatable (env INTERDICT_THRESHOLD_<NAME>; "
                        "see interdict config)")
    p.add_argument("--top", "-k", type=int, default=5, metavar="K",
                   help="hits reported per spectrum (default 5)")
    p.add_argument("--format", "-f", choices=("table", "json", "csv"), default="table")
    p.add_argument("--technique", default=None,
                   help="technique of files that do not state it (raman, infrared, ...)")
    p.add_argument("--part", default=None, help="library part id (multi-part files)")
    from station.config import add_matcher_argument

    add_matcher_argument(p)
    p.set_defaults(func=run)


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
    put(f"   VERDICT: {res.verdict.value}   confidence {res.confidence:.2f}")
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
    from spectra import Technique, XUnit

    if s.technique is Technique.OTHER:
        if technique is not None:
            s = s.replace(technique=Technique(technique))
        elif len(lib_set) == 1:
            s = s.replace(technique=lib_set[0].technique)
        else:
            raise ValueError("the file does not say what was measured; give --technique")
    lib = lib_set.get(part) if part is not None else lib_set.select(s.technique, s.excitation_nm)
    if s.x_unit is XUnit.OTHER:
        s = s.replace(x_unit=lib.x_unit)
    return s, lib.id


def run(args: argparse.Namespace) -> int:
    """Identify every spectrum of every file; print the results; return the exit code."""
    import spectra
    from matcher.identify import Identifier
    from matcher.library import LibraryError, LibraryFileError

    out = sys.stdout
    if args.top < 1:
        print("identify: --top must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    if args.technique is not None:
        try:
            spectra.Technique(args.technique)
        except ValueError:
            known = ", ".join(t.value for t in spectra.Technique)
            print(f"identify: unknown --technique {args.technique!r} (one of {known})",
                  file=sys.stderr)
            return EXIT_USAGE
    from station.config import ConfigError, load_config, thresholds_for
    from station.workflows.library import open_libraries

    try:
        cfg = load_config({"library": args.library, "thresholds": args.thresholds,
                           "matcher": args.matcher}, config_file=args.config)
        thresholds_for(cfg)  # unknown names and refused values: a usage error, before any work
    except ConfigError as exc:
        say(f"identify: {exc}", sys.stderr)
        return EXIT_USAGE
    try:
        lib_set = open_libraries(cfg.library, cfg.db.parent)
    except (LibraryError, OSError, ValueError) as exc:
        named = isinstance(exc, LibraryFileError) and exc.path is not None  # names the file
        where = "" if named else f" {cfg.library or 'the embedded default library'}"
        say(f"identify: cannot open library{where}: {exc}; nothing was identified", sys.stderr)
        return EXIT_ERROR
    identifiers: dict[str, Identifier] = {}
    writer = None
    if args.format == "csv":
        writer = csv.writer(out)
        _csv_row(writer, list(CSV_COLUMNS))
    code = EXIT_OK
    for path in args.files:
        try:
            found = spectra.read(path)
        except (spectra.SpectraError, OSError, ValueError) as exc:
            say(f"identify: {path}: {exc}", sys.stderr)
            code = EXIT_ERROR
            continue
        for i, raw in enumerate(found):
            try:
                s, part_id = _prepare_input(raw, args.technique, lib_set, args.part)
                if part_id not in identifiers:
                    lib = lib_set.get(part_id)
                    identifiers[part_id] = Identifier(
                        lib, thresholds=thresholds_for(cfg, lib.technique),
                        matcher=cfg.matcher.value)
                res = identifiers[part_id].identify(s, k=args.top)
            except (spectra.SpectraError, LibraryError, ValueError) as exc:
                say(f"identify: {path}" + (f" [{i + 1}]" if len(found) > 1 else "")
                    + f": {exc}", sys.stderr)
                code = EXIT_ERROR
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
    out.flush()
    return code
