"""Progress bars for long work (library build, batch identify, AED import, audit verify).

One library draws them (tqdm), on standard error, only when standard error is a terminal
and ``--quiet`` was not given: a log file, a pipe or a script's ``--json`` on standard output
never sees a bar. The work itself only calls a :class:`spectra.Progress` (``(done, total)``);
it never imports tqdm.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO, TypeVar

if TYPE_CHECKING:
    from spectra import Progress

T = TypeVar("T")


def quiet_option(parser: argparse.ArgumentParser) -> None:
    """``--quiet``: no progress bar."""
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bar (it is drawn only when stderr is a terminal)")


def wanted(args: argparse.Namespace, stream: TextIO | None = None) -> bool:
    """Whether to draw: ``stream`` (stderr) is a terminal and ``--quiet`` was not given."""
    s = stream or sys.stderr
    return not getattr(args, "quiet", False) and bool(getattr(s, "isatty", lambda: False)())


def _silent(done: int, total: int, /) -> None:
    """A :class:`spectra.Progress` that draws nothing."""


@contextmanager
def bar(label: str, *, unit: str, enabled: bool, scale: bool = False,
        stream: TextIO | None = None) -> Iterator[Progress]:
    """A progress bar as a :class:`spectra.Progress` for the duration of the block.

    Parameters
    ----------
    label
        What is being done ("library build").
    unit
        What is counted ("file", "row", "B"...).
    enabled
        Draw at all (see :func:`wanted`); otherwise the callable does nothing.
    scale
        Show large counts with SI prefixes (bytes).
    stream
        Where to draw (standard error by default).
    """
    if not enabled:
        yield _silent
        return
    from tqdm import tqdm

    with tqdm(desc=label, unit=unit, unit_scale=scale, file=stream or sys.stderr,
              dynamic_ncols=True, leave=False) as t:

        def update(done: int, total: int, /) -> None:
            if total and t.total != total:
                t.total = total
            t.update(done - t.n)

        yield update


__all__ = ["bar", "quiet_option", "wanted"]
