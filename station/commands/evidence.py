"""``interdict evidence export|verify``: one parcel's evidence as a zip a court can check."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from station._help import HelpFormatter
from station.commands._common import station_config
from station.commands._store import open_store_for, store_options, who_acts
from station.commands.audit import fingerprint
from station.exit_codes import ExitCode, epilog
from station.options import DeprecatedAlias

DESCRIPTION = """\
One parcel's evidence as a zip a laboratory or a court can check without the database: its
raw spectra (JCAMP-DX), records, results, device and library identity, the audit events
that logged them, the signed chain heads that prove those events, and the station's public
key (docs/records.md).

  interdict evidence export ITEM [-o ITEM.zip]       write the bundle; logged in the audit chain
  interdict evidence verify BUNDLE.zip [--trust FP]  check it, anywhere
"""


def _now() -> datetime:
    return datetime.now(UTC)


def register(sub: Any) -> None:
    """Register ``interdict evidence``."""
    p = sub.add_parser("evidence", help="evidence bundles: export one parcel's evidence as a "
                                        "zip, verify a bundle without the database",
                       description=DESCRIPTION,
                       formatter_class=HelpFormatter)
    es = p.add_subparsers(dest="evidence_command", metavar="ACTION", required=True)
    a = es.add_parser(
        "export", help="write ITEM's evidence bundle (raw spectra as JCAMP-DX, results, "
                       "device, library identity, audit events, signed head, public key)",
        description="Write one parcel's evidence bundle and log the export in the audit "
                    "chain.",
        epilog=epilog(ExitCode.OK, ExitCode.ERROR, ExitCode.PARCEL),
        formatter_class=HelpFormatter)
    a.add_argument("item_id", metavar="ITEM", help="UPU S10 item id")
    a.add_argument("-o", "--output", type=Path, metavar="FILE",
                   help="the zip to write (default: ITEM.zip)")
    store_options(a, writes=True)
    a.set_defaults(func=_export)
    v = es.add_parser(
        "verify", help="check a bundle: signatures, event hashes and links, records against "
                       "their events, spectra against their hashes",
        description="Check an evidence bundle without the database. Exit 6 when it does "
                    "not verify (the checks that failed are named).",
        epilog=epilog(ExitCode.OK, ExitCode.ERROR, ExitCode.NOT_VERIFIED),
        formatter_class=HelpFormatter)
    v.add_argument("bundle", type=Path, help="the bundle (.zip)")
    v.add_argument("--trust", action="append", default=[], metavar="FINGERPRINT",
                   type=fingerprint,
                   help="require the heads to be signed by this key (repeatable); the "
                        "fingerprint export printed")
    v.add_argument("--key", dest="trust", action=DeprecatedAlias, metavar="--trust",
                   type=fingerprint, help=argparse.SUPPRESS)
    v.add_argument("--json", action="store_true",
                   help="print the verification as JSON on stdout (for scripts)")
    v.set_defaults(func=_verify)


def _export(args: argparse.Namespace) -> ExitCode:
    from parcels.bundle import write_bundle
    from parcels.s10 import validate_item_id

    item = validate_item_id(args.item_id)
    out: Path = args.output or Path(f"{item}.zip")
    actor = who_acts(args)
    with open_store_for(args, write=True) as store:
        store.get_parcel(item)  # a clear error for an unknown parcel, before any file
        info = write_bundle(store, item, out, created_at=(args.clock or _now)(),
                            station=station_config(args).station)
        ev = store.record_export([item], actor=actor,
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
              f"interdict evidence verify {out} --trust {info['key_id']}")
    return ExitCode.OK


def _verify(args: argparse.Namespace) -> ExitCode:
    from parcels.bundle import verify_bundle

    verdict = verify_bundle(args.bundle, require_key=args.trust or None)
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
    return ExitCode.OK if verdict.ok else ExitCode.NOT_VERIFIED


__all__ = ["register"]
