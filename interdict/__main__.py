"""``python -m interdict``: the ``interdict`` command (:func:`station.cli.main`)."""

from __future__ import annotations

import sys

from station.cli import main

if __name__ == "__main__":
    sys.exit(main())
