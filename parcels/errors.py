"""Errors of :mod:`parcels`.

One root (:class:`ParcelsError`); each error also subclasses the builtin it refines, so a
caller that only knows ``ValueError`` or ``KeyError`` still catches it.
"""

from __future__ import annotations


class ParcelsError(Exception):
    """Root of every error raised by :mod:`parcels`."""


class InvalidItemIdError(ParcelsError, ValueError):
    """A UPU S10 item identifier is malformed or its check digit is wrong.

    Parameters
    ----------
    message
        What is wrong.
    item_id
        The identifier as received.
    position
        0-based position of the offending character, when one is to blame.
    expected
        What was expected there.
    got
        What was found there.
    """

    def __init__(
        self,
        message: str,
        *,
        item_id: str,
        position: int | None = None,
        expected: str | None = None,
        got: str | None = None,
    ) -> None:
        self.item_id = item_id
        self.position = position
        self.expected = expected
        self.got = got
        where = f" at position {position + 1}" if position is not None else ""
        super().__init__(f"invalid item id {item_id!r}{where}: {message}")


class ParcelNotFoundError(ParcelsError, KeyError):
    """No parcel (or inspection, or spectrum) with this identifier is stored."""

    def __init__(self, what: str, key: str) -> None:
        self.what = what
        self.key = key
        super().__init__(f"{what} {key!r} not found")

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0])


class UnsafeTextError(ParcelsError, ValueError):
    """Text to be stored holds a control, line-separator or bidirectional-control character.

    Like attrs's validator errors, the exception's arguments are the message, the field,
    what was expected and what was received (escaped, see :func:`parcels.text.escape`).

    Attributes
    ----------
    field
        Which value (``"actor"``, ``"note"``, ``"station"``...).
    expected
        What is accepted.
    received
        The value as received, escaped and quoted (cut when long).
    where
        The first offending character and its 1-based position.
    """

    def __init__(self, field: str, expected: str, received: str, where: str) -> None:
        self.field = field
        self.expected = expected
        self.received = received
        self.where = where
        super().__init__(f"{field} must be {expected}; got {received} ({where})",
                         field, expected, received)

    def __str__(self) -> str:
        return str(self.args[0])


class IllegalTransitionError(ParcelsError, ValueError):
    """A hold cannot go from its current state to the one asked for."""

    def __init__(self, item_id: str, current: str | None, target: str, allowed: list[str]) -> None:
        self.item_id = item_id
        self.current = current
        self.target = target
        self.allowed = allowed
        now = current if current is not None else "no hold"
        ok = ", ".join(allowed) if allowed else "none (final state)"
        super().__init__(
            f"{item_id}: cannot go from {now} to {target}; allowed from {now}: {ok}"
        )


class ConflictError(ParcelsError, ValueError):
    """A record with this identifier is already stored with different content."""


class DuplicateOriginalError(ParcelsError, ValueError):
    """A file with these bytes (this SHA-256) is already stored as an inspection's original:
    the same export taken in twice is recorded once.

    Attributes
    ----------
    sha256, inspection_id, item_id
        The stored file's hash, and the inspection and parcel it belongs to.
    """

    def __init__(self, sha256: str, inspection_id: str, item_id: str) -> None:
        self.sha256 = sha256
        self.inspection_id = inspection_id
        self.item_id = item_id
        super().__init__(f"a file with SHA-256 {sha256} is already stored: the original of "
                         f"inspection {inspection_id} of parcel {item_id}")


class SchemaVersionError(ParcelsError):
    """The database was written by a newer (or foreign) schema than this code knows."""


class IntegrityError(ParcelsError):
    """Stored evidence does not match its hash: the database was altered or corrupted."""


class StoreError(ParcelsError):
    """The database itself failed: not a database, locked by another writer past the wait,
    disk full, unreadable pages. The store wraps its backend's error (``sqlite3.Error``,
    a driver's) in this one, naming the database; the backend's error is the ``__cause__``."""


class DatabaseUnreachableError(StoreError, ConnectionError):
    """The database server cannot be reached, or refuses the connection (its address, the
    login, the database name), or stopped answering: nothing was read or written, or what
    was not acknowledged was rolled back."""


__all__ = [
    "ConflictError",
    "DatabaseUnreachableError",
    "DuplicateOriginalError",
    "IllegalTransitionError",
    "IntegrityError",
    "InvalidItemIdError",
    "ParcelNotFoundError",
    "ParcelsError",
    "SchemaVersionError",
    "StoreError",
    "UnsafeTextError",
]
