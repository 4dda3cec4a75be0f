"""The vendor binary readers, in sniffing order (each has magic bytes of its own)."""

from __future__ import annotations

from types import ModuleType

from . import omnic, opus, spe, wdf

VENDOR_MODULES: tuple[ModuleType, ...] = (opus, omnic, wdf, spe)

__all__ = ["VENDOR_MODULES"]
