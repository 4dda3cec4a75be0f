"""Reporting periods: the one definition of how an instant falls into a day, week or month
(every store's statistics, in Python or in SQL, must give these keys)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

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


__all__ = ["Period", "period_key"]
