"""``interdict library``: build, inspect and extend substance library files."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station._help import HelpFormatter
from station._terminal import say, shown
from station.commands._common import dump_json, json_option
from station.errors import UsageError
from station.exit_codes import ExitCode, epilog
from station.progress import bar, quiet_option, wanted

if TYPE_CHECKING:
    from matcher.library import Library
    from spectra import Pipeline

DESCRIPTION = """\
Library files (.ilib) hold reference spectra prepared for the matcher, with their metadata
and a content hash recorded in every result.

  interdict library build SOURCE -o LIB    a library from a folder of spectra
  interdict library info LIB               summary (--verify: recompute the hash)
  interdict library list LIB               the entries
  interdict library add LIB SPECTRUM --name NAME    a user's own reference
  interdict library merge BASE USER -o OUT

SOURCE is a folder of spectrum files (any format interdict identify reads) with an optional
index.csv: columns file,name and any of id, synonyms, cas, category, schedule, technique,
excitation_nm, source, licence, synthetic (empty cells take the defaults; synonyms
separated by ';'). Without an index every file is an entry named after its stem. A file that
does not state its x unit (plain x,y text) is taken to be on the library's unit (Raman shift
for Raman, wavenumber for infrared); one that does not state its technique takes the
library's. The library's technique is --technique, else the index's technique column, else
that of the first file that states one. The pipeline and axis default to the matcher's tuned
defaults. Files are read and prepared on every core (--workers).

add and merge write a new file atomically (add replaces LIB unless -o): a failure leaves
what was stored untouched.
"""

CODES = (ExitCode.OK, ExitCode.ERROR)


def register(sub: Any) -> None:
    """Register ``library`` and its sub-commands."""
    fmt = HelpFormatter
    p = sub.add_parser(
        "library", help="build, inspect and extend substance library files",
        description=DESCRIPTION, formatter_class=fmt)
    ls = p.add_subparsers(dest="library_command", metavar="ACTION", required=True)

    b = ls.add_parser("build", help="build a library file from a folder of spectra",
                      description="Build a library file from a folder of spectrum files "
                                  "(+ an optional index.csv; see interdict library --help). "
                                  "A progress bar is drawn on stderr when it is a terminal.",
                      epilog=epilog(*CODES), formatter_class=fmt)
    b.add_argument("source", type=Path, help="folder of spectrum files (+ optional index.csv)")
    b.add_argument("-o", "--output", type=Path, required=True, metavar="LIB",
                   help="library file to write")
    b.add_argument("--technique", default=None,
                   help="technique of the library (default: from the index or the files)")
    b.add_argument("--id", dest="library_id", default=None,
                   help="library id (default: the folder name)")
    b.add_argument("--axis", default=None, metavar="START:STOP:STEP",
                   help="library axis (default: the matcher's default for the technique)")
    b.add_argument("--pipeline", default="default", metavar="PIPELINE",
                   help="'default' (the matcher's), 'none', or a Pipeline JSON file")
    b.add_argument("--min-coverage", type=float, default=None, metavar="F",
                   help="share of the axis every spectrum must cover (default 0.9)")
    b.add_argument("--skip-unreadable", action="store_true",
                   help="skip a file that is not a usable spectrum (a README, a metadata "
                        "table, another technique) and list it with the reason on stderr "
                        "(and under 'skipped' in --json); without it such a file stops the "
                        "build, named")
    b.add_argument("--workers", type=int, default=None, metavar="N",
                   help="processes reading and preparing the files (default: every core); "
                        "the library is the same, byte for byte, for any number")
    json_option(b, "a summary of the library written (with the files skipped)")
    quiet_option(b)
    b.set_defaults(func=_build)

    i = ls.add_parser("info", help="summary of a library file",
                      description="Parts, entries, axis, pipeline and hash of a library file.",
                      epilog=epilog(*CODES), formatter_class=fmt)
    i.add_argument("library", type=Path, metavar="LIB", help="the library file")
    i.add_argument("--verify", action="store_true",
                   help="accepted for old scripts: the content hash is always verified")
    json_option(i, "the summary")
    i.set_defaults(func=_info)

    li = ls.add_parser("list", help="the entries of a library file",
                       description="The entries of a library file (one part).",
                       epilog=epilog(*CODES), formatter_class=fmt)
    li.add_argument("library", type=Path, metavar="LIB", help="the library file")
    li.add_argument("--part", default=None, help="which library of a multi-part file")
    li.add_argument("--json", action="store_true",
                    help="one JSON object per entry and line on stdout (for scripts)")
    li.set_defaults(func=_list)

    a = ls.add_parser("add", help="add a user's own reference spectrum",
                      description="Add the first spectrum of a file as a new entry.",
                      epilog=epilog(*CODES), formatter_class=fmt)
    a.add_argument("library", type=Path, metavar="LIB", help="the library file")
    a.add_argument("spectrum", type=Path, help="spectrum file (first spectrum in it)")
    a.add_argument("--name", required=True, help="the substance's name")
    a.add_argument("--id", dest="entry_id", default=None,
                   help="entry id (default: made from the name)")
    a.add_argument("--cas", default=None, help="CAS registry number (check digit verified)")
    a.add_argument("--category", default="unknown",
                   help="controlled, precursor, cutting-agent, benign, hazardous, unknown")
    a.add_argument("--schedule", default=None,
                   help="control schedule (controlled substances and precursors)")
    a.add_argument("--technique", default=None,
                   help="what the file holds, when it does not say")
    a.add_argument("--excitation-nm", type=float, default=None, metavar="NM",
                   help="Raman laser wavelength in nm")
    a.add_argument("--source", default="", help="where the spectrum comes from")
    a.add_argument("--licence", default="", help="the spectrum's licence")
    a.add_argument("--synthetic", action="store_true",
                   help="the spectrum is synthesised, not measured")
    a.add_argument("--part", default=None, help="which library of a multi-part file")
    a.add_argument("-o", "--output", type=Path, default=None, metavar="OUT",
                   help="write here instead of replacing LIB")
    json_option(a, "a summary of the entry added")
    a.set_defaults(func=_add)

    m = ls.add_parser("merge", help="merge a user library into a base library",
                      description="Write a library holding the base's entries and the "
                                  "user library's.",
                      epilog=epilog(*CODES), formatter_class=fmt)
    m.add_argument("base", type=Path, help="the base library file")
    m.add_argument("user", type=Path, help="the user library file")
    m.add_argument("-o", "--output", type=Path, required=True, metavar="OUT",
                   help="the merged library file to write")
    m.add_argument("--id", dest="library_id", default=None,
                   help="id of the merged library (default: the base's)")
    json_option(m, "a summary of the merged library")
    m.set_defaults(func=_merge)


# -- build -------------------------------------------------------------------------------


def _pipeline(spec: str, technique: str) -> Pipeline:
    from spectra import Pipeline

    if spec == "default":
        from matcher import defaults

        return defaults.pipeline_for(technique)
    if spec == "none":
        return Pipeline()
    path = Path(spec)
    try:
        return Pipeline.model_validate_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"--pipeline: cannot read {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise UsageError(f"--pipeline: {path} is not a valid pipeline: {exc}") from exc


def _axis(spec: str | None, technique: str) -> Any:
    if spec is None:
        from matcher import defaults

        return defaults.axis_for(technique)
    try:
        start, stop, step = (float(v) for v in spec.split(":"))
    except ValueError:
        raise UsageError(f"--axis: expected START:STOP:STEP, got {spec!r}") from None
    if not (step > 0 and stop > start):
        raise UsageError(f"--axis: need STOP > START and STEP > 0, got {spec!r}")
    import spectra

    return spectra.grid(start, stop, step)


def _folder_files(source: Path) -> list[Path]:
    """The spectrum files of a folder without an index: every visible file, sorted."""
    files = sorted(f for f in source.iterdir() if f.is_file() and not f.name.startswith("."))
    if not files:
        raise UsageError(f"{source}: no spectrum files")
    return files


def _sources(source: Path) -> list[Any]:
    """What a folder gives to build from: its index.csv rows (file and metadata), else
    every visible file.

    Raises
    ------
    ReferenceIndexError
        A row of index.csv is invalid (before any spectrum is read).
    """
    from station.workflows.library import index_rows

    if (source / "index.csv").is_file():
        rows: list[Any] = list(index_rows(source))
        if not rows:
            raise UsageError(f"{source / 'index.csv'}: no rows")
        return rows
    return list(_folder_files(source))


def _technique_of(sources: list[Any]) -> str:
    """The library's technique when --technique is not given: the index's technique column
    (one technique), else that of the first file that states one.

    Raises
    ------
    UsageError
        The index names several techniques, or nothing states one.
    """
    import spectra
    from spectra import Technique

    named: set[str] = {meta.technique.value for _, meta in
                       (s for s in sources if isinstance(s, tuple)) if meta.technique is not None}
    if len(named) > 1:
        raise UsageError(
            f"the index names several techniques ({', '.join(sorted(named))})",
            hint="build one library per technique with --technique")
    if named:
        return named.pop()
    for src in sources:
        path = src[0] if isinstance(src, tuple) else src
        try:
            found = spectra.read(path)
        except (spectra.SpectraError, OSError, ValueError):
            continue  # the build names (or skips) it
        if found and found[0].technique is not Technique.OTHER:
            return found[0].technique.value
    raise UsageError("the files do not say what was measured",
                     hint="give --technique or a technique column in index.csv")


def _build(args: argparse.Namespace) -> ExitCode:
    from matcher.library import DEFAULT_MIN_COVERAGE, UnreadableReferenceError, build_from_files
    from spectra.parallel import usable_cores
    from station.errors import StationError

    source: Path = args.source
    if not source.is_dir():
        raise UsageError(f"SOURCE must be a folder of spectrum files: {source}")
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {args.workers}")
    sources = _sources(source)
    technique = args.technique or _technique_of(sources)
    with bar("library build", unit="file", enabled=wanted(args)) as progress:
        try:
            built = build_from_files(
                sources, pipeline=_pipeline(args.pipeline, technique),
                axis=_axis(args.axis, technique), technique=technique,
                library_id=args.library_id or source.resolve().name,
                min_coverage=args.min_coverage or DEFAULT_MIN_COVERAGE,
                workers=args.workers or usable_cores(),
                skip_unreadable=args.skip_unreadable, progress=progress)
        except UnreadableReferenceError as exc:
            raise StationError(
                f"{exc.path}: {exc.reason}; nothing was written",
                hint="remove it from the folder, or give --skip-unreadable to skip such "
                     "files (each is listed with the reason)") from exc
    lib = built.library
    if not len(lib):
        raise StationError(f"{source}: no usable spectrum files ({len(built.skipped)} "
                           "skipped); nothing was written")
    path = lib.save(args.output)
    for skipped in built.skipped:
        say(f"skipped {skipped}", sys.stderr)
    if args.json:
        dump_json({"file": str(path), **_summary(lib),
                   "skipped": [{"file": k.path, "reason": k.reason} for k in built.skipped]})
    else:
        say(f"{path}: {lib.id}, {len(lib)} entries, {lib.technique.value}, "
            f"{lib.axis.size} points {lib.axis[0]:g}..{lib.axis[-1]:g}, hash {lib.hash}"
            + (f"; {len(built.skipped)} file(s) skipped (listed above)" if built.skipped
               else ""))
    return ExitCode.OK


# -- inspect -----------------------------------------------------------------------------


def _summary(lib: Library) -> dict[str, Any]:
    from collections import Counter

    cats = Counter(e.category.value for e in lib.entries)
    return {
        "id": lib.id,
        "technique": lib.technique.value,
        "x_unit": lib.x_unit.value,
        "entries": len(lib),
        "points": int(lib.axis.size),
        "axis": [float(lib.axis[0]), float(lib.axis[-1])],
        "hash": lib.hash,
        "pipeline": lib.pipeline.model_dump(mode="json"),
        "min_coverage": lib.min_coverage,
        "raw_references": lib.has_references,
        "categories": dict(sorted(cats.items())),
        "synthetic_entries": sum(e.synthetic for e in lib.entries),
    }


def _info(args: argparse.Namespace) -> ExitCode:
    from matcher.library import FORMAT_VERSION, LibrarySet

    libs = LibrarySet.load(args.library)  # verified, or refused
    info = {
        "file": str(args.library),
        "bytes": args.library.stat().st_size,
        "format_version": FORMAT_VERSION,
        "verified": True,
        "libraries": [_summary(lib) for lib in libs],
    }
    if args.json:
        print(json.dumps(info, indent=2))
        return ExitCode.OK
    say(f"{info['file']}: {info['bytes']:,} bytes, format {FORMAT_VERSION}"
        ", content hash verified")
    for s in info["libraries"]:
        steps = ", ".join(st["name"] for st in s["pipeline"]["steps"]) or "(none)"
        cats = ", ".join(f"{k} {v}" for k, v in s["categories"].items())
        say(f"  {s['id']}: {s['technique']}, {s['entries']} entries, {s['points']} points "
            f"{s['axis'][0]:g}..{s['axis'][1]:g} {s['x_unit']}")
        print(f"    hash      {s['hash']}")
        say(f"    pipeline  {steps}")
        print(f"    entries   {cats}"
              + (f"; {s['synthetic_entries']} SYNTHETIC" if s["synthetic_entries"] else ""))
        print(f"    raw references {'stored' if s['raw_references'] else 'not stored'}")
    return ExitCode.OK


def _list(args: argparse.Namespace) -> ExitCode:
    from matcher.library import Library

    lib = Library.load(args.library, part=args.part)
    if args.json:
        for e in lib.entries:
            say(e.model_dump_json())  # JSON leaves C1 and bidi controls raw
        return ExitCode.OK
    rows = [(shown(e.id), shown(e.name), shown(e.cas or ""), e.category.value,
             shown(e.schedule or ""),
             f"{e.excitation_nm:g}" if e.excitation_nm else "",
             "SYNTHETIC" if e.synthetic else "") for e in lib.entries]
    head = ("id", "name", "cas", "category", "schedule", "laser", "")
    widths = [max(len(str(r[c])) for r in [head, *rows]) for c in range(len(head))]
    for r in [head, *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
    return ExitCode.OK


# -- extend ------------------------------------------------------------------------------


def _add(args: argparse.Namespace) -> ExitCode:
    import spectra
    from matcher.library import EntryMeta, LibrarySet, fill_unstated

    libs = LibrarySet.load(args.library)
    lib = libs.get(args.part)
    try:
        meta = EntryMeta(
            name=args.name, id=args.entry_id, cas=args.cas, category=args.category,
            schedule=args.schedule, technique=args.technique,
            excitation_nm=args.excitation_nm, source=args.source or str(args.spectrum),
            licence=args.licence, synthetic=args.synthetic,
        )
    except ValueError as exc:
        raise UsageError(f"invalid entry: {exc}") from exc
    s = spectra.read(args.spectrum)[0].replace(source=str(args.spectrum))
    # a technique the entry states is filled in (and checked) by Library.add
    s = fill_unstated(s, technique=None if meta.technique else lib.technique,
                      x_unit=lib.x_unit)
    bigger = lib.add(meta, s)
    parts = [bigger if p.id == lib.id else p for p in libs]
    out = LibrarySet(parts).save(args.output or args.library)
    e = bigger.entries[len(bigger) - 1]
    if args.json:
        dump_json({"file": str(out), "entry": json.loads(e.model_dump_json()),
                   **_summary(bigger)})
    else:
        say(f"{out}: added {e.id} ({e.name}) to {bigger.id}; {len(bigger)} entries, "
            f"hash {bigger.hash}")
    return ExitCode.OK


def _merge(args: argparse.Namespace) -> ExitCode:
    from matcher.library import Library

    base = Library.load(args.base)
    user = Library.load(args.user)
    merged = base.merge(user, library_id=args.library_id)
    out = merged.save(args.output)
    if args.json:
        dump_json({"file": str(out), "base_entries": len(base), "user_entries": len(user),
                   **_summary(merged)})
    else:
        say(f"{out}: {merged.id}, {len(base)} + {len(user)} = {len(merged)} entries, "
            f"hash {merged.hash}")
    return ExitCode.OK
