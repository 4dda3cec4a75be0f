"""``interdict stats``: hold compliance and positivity by origin and declared category."""

from __future__ import annotations

import argparse
from typing import Any

from station._help import HelpFormatter
from station.commands._common import dump_json, when
from station.commands._store import open_store_for, store_options
from station.exit_codes import ExitCode, epilog


def register(sub: Any) -> None:
    """Register ``stats``."""
    p = sub.add_parser(
        "stats", help="hold compliance and positivity by origin and category",
        description="Hold compliance (held / requested, by request date, per period) and "
                    "positivity (inspected parcels with an alert) by origin country and by "
                    "declared category.",
        epilog=epilog(ExitCode.OK, ExitCode.ERROR),
        formatter_class=HelpFormatter)
    store_options(p)
    p.add_argument("--period", choices=("day", "week", "month", "all"), default="month",
                   help="the hold-compliance period (default month)")
    p.add_argument("--from", dest="since", metavar="DATE", type=when("--from"),
                   help="from this day or ISO 8601 instant")
    p.add_argument("--to", dest="until", metavar="DATE", type=when("--to", end=True),
                   help="up to this day (included whole) or instant")
    p.set_defaults(func=_stats)


def _stats(args: argparse.Namespace) -> ExitCode:
    from parcels.stats import hold_compliance, positivity

    since, until = args.since, args.until
    with open_store_for(args) as store:
        comp = hold_compliance(store, period=args.period, since=since, until=until)
        by_origin = positivity(store, by="origin", since=since, until=until)
        by_cat = positivity(store, by="category", since=since, until=until)
    if args.json:
        dump_json({"hold_compliance": [r.model_dump(mode="json") for r in comp],
               "positivity_by_origin": [r.model_dump(mode="json") for r in by_origin],
               "positivity_by_category": [r.model_dump(mode="json") for r in by_cat]})
        return ExitCode.OK

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:.1f}%"

    print("hold compliance (held / requested, by request date)")
    print(f"  {'period':<10} {'requested':>9} {'held':>6} {'not found':>9} {'open':>6} "
          f"{'rate':>7}")
    for c in comp:
        print(f"  {c.period:<10} {c.requested:>9} {c.held:>6} {c.not_found:>9} {c.open:>6} "
              f"{pct(c.rate):>7}")
    for title, rows in (("origin", by_origin), ("declared category", by_cat)):
        print(f"positivity by {title} (inspected parcels with an alert)")
        for r in rows:
            print(f"  {r.key:<17} {r.positive:>5} / {r.inspected:<5} {pct(r.rate):>7}  "
                  + " ".join(f"{k}={v}" for k, v in r.verdicts.items()))
    return ExitCode.OK
