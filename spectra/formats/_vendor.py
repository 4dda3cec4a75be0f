"""The vendor readers, in sniffing order (each recognises a signature of its own)."""

from __future__ import annotations

from types import ModuleType

from . import ocean, omnic, opus, perkinelmer, spe, wdf

VENDOR_MODULES: tuple[ModuleType, ...] = (opus, omnic, wdf, spe, perkinelmer, ocean)
"""Binaries first; the Ocean text exports last (a banner and a marker, then text)."""

__all__ = ["VENDOR_MODULES"]
