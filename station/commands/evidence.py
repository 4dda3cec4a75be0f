"""``interdict evidence export|verify``: one parcel's evidence as a zip a court can check.

Commands::

    interdict evidence export ITEM [-o ITEM.zip]          write the bundle (see parcels.bundle)
    interdict evidence verify BUNDLE.zip [--key FP]       check it, without the database

``export`` takes the evidence-store options of ``interdict parcel`` (``--db``, ``--key FILE``,
``--config``, ``--by``) and logs the export in the audit chain. ``verify`` needs nothing but
the file; ``--key FINGERPRINT`` (repeatable) requires the heads to be signed by that key.

Exit codes: 0 exported / verified; 1 error (unknown parcel, unreadable file, not a bundle);
2 usage; 4 the bundle does NOT verify (the checks that failed are named).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from station.commands._store import (
    common_options,
    guard,
    open_store_for,
    station_config,
    who_acts,
)
from station.exit_codes import EXIT_OK, EXIT_TAMPERED


def register(sub: Any) -> None:
    """Register ``interdict evidence``."""
    p = sub.add_parser("evidence", help="evidence bundles: export one parcel's evidence as a "
                                        "zip, verify a bundle without the database",
                       description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    es = p.add_subparsers(dest="evidence_command", metavar="ACTION", required=True)
    common, actor = common_options()
    a = es.add_parser("export", parents=[common, actor],
                      help="write ITEM's evidence bundle (raw spectra as JCAMP-DX, results, "
                           "device, library identity, audit events, signed head, public key)")
    a.add_argument("item_id", metavar="ITEM")
    a.add_argument("-o", "--output", type=Path, help="default: ITEM.zip")
    a.add_argument("--json", action="store_true", help="machine-readable output")
    a.set_defaults(func=guard(_export))
    v = es.add_parser("verify", help="check a bundle: signatures, event hashes and links, "
                                     "records against their events, spectra against their "
                                     "hashes (exit 4 if not verified)")
    v.add_argument("bundle", type=Path)
    v.add_argument("--key", action="append", default=None, metavar="FINGERPRINT",
                   help="require the heads to be signed by this key (repeatable)")
    v.add_argument("--json", action="store_true", help="machine-readable output")
    v.set_defaults(func=guard(_verify))


def _export(args: argparse.Namespace) -> int:
    from parcels.bundle import write_bundle
    from parcels.s10 import validate_item_id

    item = validate_item_id(args.item_id)
    out: Path = args.output or Path(f"{item}.zip")
    with open_store_for(args, write=True) as store:
        store.get_parcel(item)  # a clear error for an unknown parcel, before any file
        info = write_bundle(store, item, out, created_at=datetime.now(UTC),
                            station=station_config(args).station)
        ev = store.record_export([item], actor=who_acts(args),
                                 destination=str(out.resolve()), content_digest=info["sha256"])
    summary = {"item_id": item, "bundle": str(out), "sha256": info["sha256"],
               "signed_head": info["anchor"], "key_id": info["key_id"],
               "export_event": ev.seq}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"evidence bundle of {item}: {out} (sha256 {info['sha256']})")
        print(f"  signed head {info['anchor']}")
        print(f"  station key {info['key_id']}")
        print(f"  export logged as audit event #{ev.seq}; check it anywhere with: "
              f"interdict evidence verify {out} --key {info['key_id']}")
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    from parcels.bundle import verify_bundle

    keys = None
    if args.key:
        keys = [k.strip().lower() for k in args.key]
        for k in keys:
            if len(k) != 64 or any(c not in "0123456789abcdef" for c in k):
                raise ValueError(f"--key must be a key fingerprint (64 hex digits), got {k!r}")
    verdict = verify_bundle(args.bundle, require_key=keys)
    if args.json:
        print(json.dumps(verdict.model_dump(mode="json"), indent=1))
    else:
        stream = sys.stdout if verdict.ok else sys.stderr
        for c in verdict.failures:
            print(f"  FAILED {c.what}: {c.detail}", file=stream)
        head = verdict.signed_head
        if head is not None:
            print(f"  signed head #{head.seq} {head.hash}", file=stream)
        print(verdict.message(), file=stream)
    return EXIT_OK if verdict.ok else EXIT_TAMPERED


__all__ = ["register"]
