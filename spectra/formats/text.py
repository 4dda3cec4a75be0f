"""Placeholder until the format work lands."""

from __future__ import annotations

from pathlib import Path

from .._model import Spectrum

NAME = "csv"
EXTENSIONS: tuple[str, ...] = ()


def sniff(head: bytes) -> bool:
    """Not built yet."""
    return False


def read(path: Path) -> list[Spectrum]:
    """Not built yet."""
    raise NotImplementedError("text: not built yet")
