"""Statistics: hold compliance (held ÷ requested, by period) and positivity by origin and
declared category."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from .periods import Period, period_key
from .store.base import Store


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
    until: datetime | None = None, facility: str | None = None,
) -> list[ComplianceRow]:
    """Held ÷ requested for each period, oldest first, plus nothing else.

    Parameters
    ----------
    store
        The evidence store (it counts: in Python from its facts, or in SQL).
    period
        Grouping of the request dates.
    since, until
        Only holds requested in ``[since, until)``.
    facility
        Only parcels of this facility (all when None).
    """
    return [
        ComplianceRow(period=c.period, requested=c.requested, held=c.held,
                      not_found=c.not_found, open=c.open,
                      rate=c.held / c.requested if c.requested else None)
        for c in store.compliance_counts(period=period, since=since, until=until,
                                         facility=facility)
    ]


def positivity(
    store: Store, *, by: Literal["origin", "category"] = "origin",
    since: datetime | None = None, until: datetime | None = None,
    facility: str | None = None,
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
    facility
        Only parcels of this facility (all when None).
    """
    return [
        PositivityRow(key=c.key, inspected=c.inspected, positive=c.positive,
                      rate=c.positive / c.inspected, verdicts=dict(sorted(c.verdicts.items())))
        for c in store.positivity_counts(by=by, since=since, until=until, facility=facility)
    ]


__all__ = ["ComplianceRow", "Period", "PositivityRow", "hold_compliance", "period_key",
           "positivity"]
