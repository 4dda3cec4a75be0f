"""Errors of the matcher: one root, each error also the builtin it refines.

>>> from matcher.errors import MatcherError, MatcherInputError
>>> issubclass(MatcherInputError, ValueError) and issubclass(MatcherInputError, MatcherError)
True

:class:`MatcherError` is the root of every error :mod:`matcher` raises on purpose, the
library's (:class:`matcher.library.LibraryError`) and the learned model's included. Each
subclass also subclasses the builtin it refines (as attrs does), so a caller written against
``ValueError`` or ``KeyError`` keeps working.
"""

from __future__ import annotations


class MatcherError(Exception):
    """Root of every error raised by :mod:`matcher`."""


class MatcherInputError(MatcherError, ValueError):
    """An argument a score, a search or an identification cannot use (shape, finiteness,
    range, an option's value)."""


class UnknownNameError(MatcherError, KeyError):
    """A name (a score, a model's network) that is not known; the message lists the known."""

    def __str__(self) -> str:
        # KeyError quotes its argument; the message here is a sentence
        return str(self.args[0]) if self.args else ""


__all__ = ["MatcherError", "MatcherInputError", "UnknownNameError"]
