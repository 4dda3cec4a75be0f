"""Re-identification: run a stored raw spectrum again (e.g. against a newer library) and
record the answer as a new result linked to the previous one; the original stays."""

from __future__ import annotations

from collections.abc import Callable

from spectra import Spectrum

from .records import AnyIdentification, Result
from .store.base import Store

Identify = Callable[[Spectrum], AnyIdentification]
"""Whatever computes an identification from a raw spectrum (the station wires the matcher)."""


def reidentify(
    store: Store, inspection_id: str, identify: Identify, *, recorded_by: str,
    note: str | None = None,
) -> Result:
    """Re-run an inspection's stored raw spectrum and record the new result.

    Parameters
    ----------
    store
        The evidence store.
    inspection_id
        The inspection whose raw spectrum is re-examined.
    identify
        Called with the stored raw spectrum (its content hash already checked against the
        one recorded at the scan); returns the new identification.
    recorded_by
        Who asked for it (audit log).
    note
        Why (e.g. "library 2027.01 adds nitazenes").

    Returns
    -------
    Result
        The new result (kind ``reidentification``, ``based_on`` the previous latest).

    Raises
    ------
    ParcelNotFoundError
        Unknown inspection.
    IntegrityError
        The stored spectrum no longer matches its hash: nothing is re-identified.
    """
    inspection = store.get_inspection(inspection_id)
    spectrum = store.get_spectrum(inspection.spectrum_hash)
    return store.add_result(inspection_id, identify(spectrum), recorded_by=recorded_by,
                            note=note)


__all__ = ["Identify", "reidentify"]
