"""Exit codes of the ``interdict`` command (being unified into one table)."""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_BUILT = 3
EXIT_DEVICE = 4
EXIT_PARCEL = 5
EXIT_ALERT = 10
EXIT_INCONCLUSIVE = 11
EXIT_INTERRUPTED = 130
EXIT_REJECTED_ROWS = 3
EXIT_TAMPERED = 4
