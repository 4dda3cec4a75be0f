"""The progress protocol: how long work tells its caller how far it has come.

Lower layers (a library build, an AED import, an audit verification, a driver acquisition)
take an optional callable of this shape and call it now and then; they never import a
progress library or write to a terminal. The station turns the calls into a progress bar.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """``progress(done, total)``: ``done`` units of ``total`` are finished.

    Units are the caller's (files, rows, bytes, events); ``total`` is 0 while it is not
    known. Calls may be frequent: a receiver that draws is expected to rate-limit itself.

    >>> seen = []
    >>> def record(done: int, total: int) -> None:
    ...     seen.append((done, total))
    >>> tell: Progress = record
    >>> tell(3, 10); seen
    [(3, 10)]
    """

    def __call__(self, done: int, total: int, /) -> None:
        """Report that ``done`` of ``total`` units are finished."""


__all__ = ["Progress"]
