"""Statistics: hold compliance (held ÷ requested, by period) and positivity by origin and
declared category."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from .records import HoldState
from .store.base import Store

Period = Literal["day", "week", "month", "all"]


def period_key(when: datetime, period: Period) -> str:
    """``2026-11-20`` (day), ``2026-W47`` (ISO week), ``2026-11`` (month) or ``all``."""
    if period == "day":
        return when.strftime("%Y-%m-%d")
    if period == "week":
        y, w, _ = when.isocalendar()
        return f"{y}-W{w:02d}"
    if period == "month":
        return when.strftime("%Y-%m")
    if period == "all":
        return "all"
    raise ValueError(f"period must be day, week, month or all, got {period!r}")


class ComplianceRow(BaseModel):
    """Hold compliance of one period (holds counted in the period they were requested)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    period: str
    requested: int
    held: int
    """Requests that were met: the parcel was held (whatever happened next)."""
    not_found: int
    """Still not found."""
    open: int
    """Still waiting (requested, neither held nor reported not found)."""
    rate: float | None
    """``held / requested``; None when nothing was requested."""


class PositivityRow(BaseModel):
    """Share of inspected parcels that raised an alert, for one origin or category."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    inspected: int
    """Parcels with at least one inspection."""
    positive: int
    """Of those, parcels whose current result of any inspection raised an alert."""
    rate: float | None
    verdicts: dict[str, int]
    """Current verdicts of their inspections, counted."""


def hold_compliance(
    store: Store, *, period: Period = "month", since: datetime | None = None,
    until: datetime | None = None,
) -> list[ComplianceRow]:
    """Held ÷ requested for each period, oldest first, plus nothing else.

    Parameters
    ----------
    store
        The evidence store.
    period
        Grouping of the request dates.
    since, until
        Only holds requested in ``[since, until)``.
    """
    acc: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for f in store.hold_facts(since=since, until=until):
        a = acc[period_key(f.requested_at, period)]
        a[0] += 1
        a[1] += f.held_at is not None
        a[2] += f.state is HoldState.NOT_FOUND
        a[3] += f.state is HoldState.REQUESTED
    return [
        ComplianceRow(period=k, requested=a[0], held=a[1], not_found=a[2], open=a[3],
                      rate=a[1] / a[0] if a[0] else None)
        for k, a in sorted(acc.items())
    ]


def positivity(
    store: Store, *, by: Literal["origin", "category"] = "origin",
    since: datetime | None = None, until: datetime | None = None,
) -> list[PositivityRow]:
    """Positivity of inspected parcels by origin country or declared category.

    Parameters
    ----------
    store
        The evidence store.
    by
        ``origin`` (country) or ``category`` (CN22/CN23 category).
    since, until
        Only parcels received in ``[since, until)``.
    """
    inspected: dict[str, int] = defaultdict(int)
    positive: dict[str, int] = defaultdict(int)
    verdicts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for f in store.inspection_facts(since=since, until=until):
        key = f.origin_country if by == "origin" else f.category
        inspected[key] += 1
        positive[key] += f.alert
        for v in f.verdicts:
            verdicts[key][v.value] += 1
    return [
        PositivityRow(key=k, inspected=n, positive=positive[k], rate=positive[k] / n,
                      verdicts=dict(sorted(verdicts[k].items())))
        for k, n in sorted(inspected.items())
    ]


__all__ = ["ComplianceRow", "Period", "PositivityRow", "hold_compliance", "period_key",
           "positivity"]
