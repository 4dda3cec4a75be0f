"""The wire protocol: I/O-free framing, message tables, and dialects behind one interface."""

from ._dialect import Dialect, DialectSession, LinkOptions
from ._frame import (
    END,
    MAX_PAYLOAD,
    OVERHEAD,
    START,
    VERSION,
    Flag,
    Frame,
    FrameDecoder,
    FrameError,
    FrameErrorKind,
    encode_frame,
)
from .interdict_v1 import DIALECT as INTERDICT_V1
from .obp import DIALECT as OBP

DIALECTS: dict[str, Dialect] = {INTERDICT_V1.name: INTERDICT_V1, OBP.name: OBP}
"""Known dialects by name, in the order a probe tries them; a vendor dialect registers itself
here."""

__all__ = [
    "DIALECTS",
    "END",
    "INTERDICT_V1",
    "MAX_PAYLOAD",
    "OBP",
    "OVERHEAD",
    "START",
    "VERSION",
    "Dialect",
    "DialectSession",
    "Flag",
    "Frame",
    "FrameDecoder",
    "FrameError",
    "FrameErrorKind",
    "LinkOptions",
    "encode_frame",
]
