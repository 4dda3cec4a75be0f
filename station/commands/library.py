"""``interdict library …``: build, inspect and extend substance library files.

Commands::

    interdict library build SOURCE -o LIB [--technique T] [--id ID] [--axis START:STOP:STEP]
                          [--pipeline default|none|FILE.json] [--min-coverage F]
    interdict library info LIB [--json]
    interdict library list LIB [--part ID] [--json]
    interdict library add LIB SPECTRUM --name NAME [--id ID] [--cas CAS] [--category C]
                          [--schedule S] [--technique T] [--source S] [--licence L]
                          [--excitation-nm NM] [--synthetic] [-o OUT]
    interdict library merge BASE USER -o OUT [--id ID]

``SOURCE`` is a folder of spectrum files (any format ``spectra.read`` takes) with an optional
``index.csv``: columns ``file,name`` and any of ``id,synonyms,cas,category,schedule,
technique,excitation_nm,source,licence,synthetic`` (empty cells take the defaults; synonyms
separated by ``;``). Without an index every file is an entry named after its stem. A file that
does not state its x unit (plain x,y text) is taken to be on the library's unit (Raman shift
for Raman, wavenumber for infrared); one that does not state its technique takes
``--technique``. The pipeline and axis default to the matcher's tuned defaults
(:mod:`matcher.defaults`).

Every command verifies what it opens: a library whose content does not give the content
hash its file records (an entry, a row or a value changed after it was written) is refused,
and so is a truncated or otherwise damaged file. ``add`` and ``merge`` write a new file
atomically (temporary file, flushed to disk, renamed; ``add`` replaces LIB unless ``-o``): a
failure leaves what was stored untouched, and a process that opened the old file keeps
what it verified.

Exit codes: 0 success; 1 error (unreadable or invalid file, entry or library — nothing was
written); 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station._terminal import say, shown

if TYPE_CHECKING:
    from matcher.library import EntryMeta, Library
    from spectra import Pipeline, Spectrum

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2


class _UsageError(Exception):
    """A bad option value (exit code 2)."""


def register(sub: Any) -> None:
    """Register ``library`` and its sub-commands."""
    p = sub.add_parser(
        "library", help="build, inspect and extend substance library files",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ls = p.add_subparsers(dest="library_command", metavar="ACTION", required=True)

    b = ls.add_parser("build", help="build a library file from a folder of spectra")
    b.add_argument("source", type=Path, help="folder of spectrum files (+ optional index.csv)")
    b.add_argument("-o", "--output", type=Path, required=True, help="library file to write")
    b.add_argument("--technique", default=None,
                   help="technique of the library (default: from the index or the files)")
    b.add_argument("--id", dest="library_id", default=None,
                   help="library id (default: the folder name)")
    b.add_argument("--axis", default=None, metavar="START:STOP:STEP",
                   help="library axis (default: the matcher's default for the technique)")
    b.add_argument("--pipeline", default="default",
                   help="'default' (the matcher's), 'none', or a Pipeline JSON file")
    b.add_argument("--min-coverage", type=float, default=None,
                   help="share of the axis every spectrum must cover (default 0.9)")
    b.set_defaults(func=_run(_build))

    i = ls.add_parser("info", help="summary of a library file")
    i.add_argument("library", type=Path)
    i.add_argument("--verify", action="store_true",
                   help="accepted for old scripts: the content hash is always verified")
    i.add_argument("--json", action="store_true", help="machine-readable output")
    i.set_defaults(func=_run(_info))

    li = ls.add_parser("list", help="the entries of a library file")
    li.add_argument("library", type=Path)
    li.add_argument("--part", default=None, help="which library of a multi-part file")
    li.add_argument("--json", action="store_true", help="one JSON object per line")
    li.set_defaults(func=_run(_list))

    a = ls.add_parser("add", help="add a user's own reference spectrum")
    a.add_argument("library", type=Path)
    a.add_argument("spectrum", type=Path, help="spectrum file (first spectrum in it)")
    a.add_argument("--name", required=True)
    a.add_argument("--id", dest="entry_id", default=None)
    a.add_argument("--cas", default=None)
    a.add_argument("--category", default="unknown",
                   help="controlled, precursor, cutting-agent, benign, hazardous, unknown")
    a.add_argument("--schedule", default=None)
    a.add_argument("--technique", default=None,
                   help="what the file holds, when it does not say")
    a.add_argument("--excitation-nm", type=float, default=None)
    a.add_argument("--source", default="")
    a.add_argument("--licence", default="")
    a.add_argument("--synthetic", action="store_true",
                   help="the spectrum is synthesised, not measured")
    a.add_argument("--part", default=None, help="which library of a multi-part file")
    a.add_argument("-o", "--output", type=Path, default=None,
                   help="write here instead of replacing LIB")
    a.set_defaults(func=_run(_add))

    m = ls.add_parser("merge", help="merge a user library into a base library")
    m.add_argument("base", type=Path)
    m.add_argument("user", type=Path)
    m.add_argument("-o", "--output", type=Path, required=True)
    m.add_argument("--id", dest="library_id", default=None,
                   help="id of the merged library (default: the base's)")
    m.set_defaults(func=_run(_merge))


def _run(action: Any) -> Any:
    """Wrap an action: typed errors become a message on stderr and exit code 1."""

    def run(args: argparse.Namespace) -> int:
        from matcher.library import LibraryError
        from spectra import SpectraError

        try:
            code: int = action(args)
            return code
        except _UsageError as exc:
            say(f"interdict library: {exc}", sys.stderr)
            return EXIT_USAGE
        except (LibraryError, SpectraError, ValueError, OSError) as exc:
            say(f"interdict library: error: {exc}", sys.stderr)
            return EXIT_ERROR

    return run


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
        raise _UsageError(f"--pipeline: cannot read {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise _UsageError(f"--pipeline: {path} is not a valid pipeline: {exc}") from exc


def _axis(spec: str | None, technique: str) -> Any:
    import numpy as np

    if spec is None:
        from matcher import defaults

        return defaults.axis_for(technique)
    try:
        start, stop, step = (float(v) for v in spec.split(":"))
    except ValueError:
        raise _UsageError(f"--axis: expected START:STOP:STEP, got {spec!r}") from None
    if not (step > 0 and stop > start):
        raise _UsageError(f"--axis: need STOP > START and STEP > 0, got {spec!r}")
    n = round((stop - start) / step) + 1
    return start + step * np.arange(n, dtype=np.float64)


def _folder_references(source: Path) -> Iterator[tuple[EntryMeta, Spectrum]]:
    """Entries of a folder: from its index.csv, else one per spectrum in each file."""
    import spectra
    from matcher.library import EntryMeta, slug
    from station.workflows.library import read_index

    if (source / "index.csv").is_file():
        yield from read_index(source)
        return
    files = sorted(
        f for f in source.iterdir() if f.is_file() and not f.name.startswith(".")
    )
    if not files:
        raise ValueError(f"{source}: no spectrum files")
    for f in files:
        found = spectra.read(f)
        for k, s in enumerate(found):
            stem = f.stem if len(found) == 1 else f"{f.stem}-{k + 1}"
            yield EntryMeta(name=stem, id=slug(stem), source=str(f)), s.replace(source=str(f))


def _with_units(
    refs: Iterator[tuple[EntryMeta, Spectrum]], technique: str | None
) -> tuple[list[tuple[EntryMeta, Spectrum]], str]:
    from matcher.library import default_x_unit
    from spectra import Technique, XUnit

    out = []
    techs: set[str] = set()
    for meta, raw in refs:
        s = raw
        tech = meta.technique or (s.technique if s.technique is not Technique.OTHER else None)
        given = tech or technique
        if given is None:
            raise _UsageError(
                f"{s.source}: the file does not say what was measured; give --technique "
                "or a technique column in index.csv"
            )
        t = Technique(given)
        techs.add(t.value)
        if s.technique is Technique.OTHER:
            s = s.replace(technique=t)
        if s.x_unit is XUnit.OTHER:
            s = s.replace(x_unit=default_x_unit(Technique(technique or t)))
        out.append((meta, s))
    if technique is None:
        if len(techs) != 1:
            raise _UsageError(
                f"the references are of several techniques ({', '.join(sorted(techs))}); "
                "build one library per technique with --technique"
            )
        technique = techs.pop()
    return out, technique


def _build(args: argparse.Namespace) -> int:
    from matcher.library import DEFAULT_MIN_COVERAGE, Library

    source: Path = args.source
    if not source.is_dir():
        raise _UsageError(f"SOURCE must be a folder of spectrum files: {source}")
    refs, technique = _with_units(_folder_references(source), args.technique)
    lib = Library.build(
        refs, pipeline=_pipeline(args.pipeline, technique), axis=_axis(args.axis, technique),
        technique=technique, library_id=args.library_id or source.resolve().name,
        min_coverage=args.min_coverage or DEFAULT_MIN_COVERAGE,
    )
    path = lib.save(args.output)
    say(f"{path}: {lib.id}, {len(lib)} entries, {lib.technique.value}, "
        f"{lib.axis.size} points {lib.axis[0]:g}..{lib.axis[-1]:g}, hash {lib.hash}")
    return EXIT_OK


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


def _info(args: argparse.Namespace) -> int:
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
        return EXIT_OK
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
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    from matcher.library import Library

    lib = Library.load(args.library, part=args.part)
    if args.json:
        for e in lib.entries:
            say(e.model_dump_json())  # JSON leaves C1 and bidi controls raw
        return EXIT_OK
    rows = [(shown(e.id), shown(e.name), shown(e.cas or ""), e.category.value,
             shown(e.schedule or ""),
             f"{e.excitation_nm:g}" if e.excitation_nm else "",
             "SYNTHETIC" if e.synthetic else "") for e in lib.entries]
    head = ("id", "name", "cas", "category", "schedule", "laser", "")
    widths = [max(len(str(r[c])) for r in [head, *rows]) for c in range(len(head))]
    for r in [head, *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
    return EXIT_OK


# -- extend ------------------------------------------------------------------------------


def _add(args: argparse.Namespace) -> int:
    import spectra
    from matcher.library import EntryMeta, LibrarySet
    from spectra import Technique, XUnit

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
        raise _UsageError(f"invalid entry: {exc}") from exc
    s = spectra.read(args.spectrum)[0].replace(source=str(args.spectrum))
    if s.technique is Technique.OTHER and meta.technique is None:
        s = s.replace(technique=lib.technique)
    if s.x_unit is XUnit.OTHER:
        s = s.replace(x_unit=lib.x_unit)
    bigger = lib.add(meta, s)
    parts = [bigger if p.id == lib.id else p for p in libs]
    out = LibrarySet(parts).save(args.output or args.library)
    e = bigger.entries[len(bigger) - 1]
    say(f"{out}: added {e.id} ({e.name}) to {bigger.id}; {len(bigger)} entries, "
        f"hash {bigger.hash}")
    return EXIT_OK


def _merge(args: argparse.Namespace) -> int:
    from matcher.library import Library

    base = Library.load(args.base)
    user = Library.load(args.user)
    merged = base.merge(user, library_id=args.library_id)
    out = merged.save(args.output)
    say(f"{out}: {merged.id}, {len(base)} + {len(user)} = {len(merged)} entries, "
        f"hash {merged.hash}")
    return EXIT_OK
