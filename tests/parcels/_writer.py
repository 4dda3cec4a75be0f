"""A writer process for the concurrency and crash tests.

``python -m tests.parcels._writer DB ITEM[,ITEM...] COUNT SEED`` (DB: a SQLite file or a
``postgresql://`` URL) adds COUNT inspections
(COUNT < 0: until killed), cycling over the items, and prints each inspection id on its own
line right after its transaction committed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from parcels.store import SQLiteStore, Store, open_store

from .builders import DEVICE, KEY, identification, spectrum


def write(db: str, items: list[str], count: int, seed: int, out: Callable[[str], None]) -> None:
    """Add ``count`` inspections (forever if negative); ``out`` each id after its commit."""
    spectra = [spectrum(seed * 1000 + k, n=1800) for k in range(8)]
    ident = identification()
    opened: Store = (open_store(db, signer=KEY) if "://" in db
                     else SQLiteStore(db, synchronous="NORMAL", signer=KEY))
    with opened as store:
        out("ready")
        k = 0
        while count < 0 or k < count:
            ins = store.add_inspection(items[k % len(items)], spectra[k % len(spectra)], ident,
                                       operator=f"writer-{seed}", station="test",
                                       device=DEVICE)
            out(ins.inspection_id)
            k += 1


def main(argv: list[str]) -> int:
    write(argv[0], argv[1].split(","), int(argv[2]), int(argv[3]),
          lambda line: print(line, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
