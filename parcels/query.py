"""Queries over the store, and the parsing of the dates and filters people type."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from matcher.results import Verdict

from .records import HoldState, ParcelQuery, ParcelSummary
from .store.base import Store


def parse_when(text: str, *, end: bool = False) -> datetime:
    """A date or an ISO 8601 instant → an aware UTC datetime.

    Parameters
    ----------
    text
        ``2026-11-20`` (a day, UTC) or ``2026-11-20T08:15:00Z`` / ``…+01:00``.
    end
        For a bare day, return the start of the *next* day, so that ``--to 2026-11-20``
        includes the whole of the 20th (ranges are half-open).

    Raises
    ------
    ValueError
        If the text is neither, or is a naive date-time (no timezone).
    """
    t = text.strip()
    try:
        if len(t) == 10:
            d = date.fromisoformat(t)
            start = datetime(d.year, d.month, d.day, tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        dt = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"not a date (YYYY-MM-DD) or ISO 8601 date-time: {text!r}") from exc
    if dt.tzinfo is None:
        raise ValueError(f"date-time {text!r} has no timezone (add Z or +hh:mm)")
    return dt.astimezone(UTC)


def find_parcels(
    store: Store,
    *,
    item_ids: list[str] | None = None,
    hold_state: HoldState | str | None = None,
    verdict: Verdict | str | None = None,
    alert: bool | None = None,
    origin_country: str | None = None,
    received_from: datetime | None = None,
    received_to: datetime | None = None,
    limit: int | None = None,
) -> list[ParcelSummary]:
    """Parcels matching every given filter (see :class:`ParcelQuery`).

    Raises
    ------
    pydantic.ValidationError
        A filter value is invalid (unknown state or verdict, bad item id or country).
    """
    q = ParcelQuery.model_validate({
        "item_ids": None if item_ids is None else tuple(item_ids),
        "hold_state": hold_state, "verdict": verdict, "alert": alert,
        "origin_country": origin_country, "received_from": received_from,
        "received_to": received_to, "limit": limit,
    })
    return store.find(q)


__all__ = ["find_parcels", "parse_when"]
