"""Bulk work on every core, in order: the one process pool the packages share.

A bulk job (a library build from thousands of files, an AED import of a million rows) is a
sequence of independent pieces whose results must be used in their order. :func:`ordered_map`
runs them in worker processes and yields the results in the order of the pieces, holding at
most a few pieces per worker in flight, so memory does not grow with the job.

Workers are started with ``spawn`` (a fresh interpreter), never forked: a fork copies a
process that may hold threads (a progress bar's) and open database connections.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def ordered_map(fn: Callable[[T], R], items: Iterable[T], *, workers: int,
                ahead: int = 2) -> Generator[R, None, None]:
    """``fn(item)`` for every item, yielded in the order of ``items``.

    Parameters
    ----------
    fn
        A module-level function (it is pickled by name for the workers); it must not rely on
        state of this process.
    items
        Consumed lazily, as results are taken; each is pickled to a worker.
    workers
        1 runs ``fn`` here, one item at a time; more starts that many processes.
    ahead
        Items submitted per worker beyond the one whose result is awaited: memory holds at
        most ``ahead * workers + 1`` items and results.

    Returns
    -------
    generator
        The results, in order. An exception raised by ``fn`` is raised here, when its
        result's turn comes. Close it (``contextlib.closing``) when stopping early: the
        workers are then stopped at once and what was not started is cancelled.

    Raises
    ------
    ValueError
        ``workers`` or ``ahead`` below 1.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if ahead < 1:
        raise ValueError(f"ahead must be at least 1, got {ahead}")
    return _here(fn, items) if workers == 1 else _in_pool(fn, items, workers, ahead)


def _here(fn: Callable[[T], R], items: Iterable[T]) -> Generator[R, None, None]:
    for item in items:
        yield fn(item)


def _in_pool(fn: Callable[[T], R], items: Iterable[T], workers: int, ahead: int
             ) -> Generator[R, None, None]:
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        pending: deque[Future[R]] = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) > ahead * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


__all__ = ["ordered_map", "usable_cores"]
