"""The wire protocols, without I/O: framing (bytes in, frames or typed frame errors out) and
message tables, for our ``interdict/1`` (:mod:`._frame`, :mod:`.messages`) and Ocean's OBP
(:mod:`.obp_frame`, :mod:`.obp_messages`).

Nothing here opens a port, waits, sleeps or reads a clock; a test drives it with any bytes in
any chunks. The conversations over a port (requests, retries, deadlines) are the sessions of
:mod:`driver.session`.
"""

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

__all__ = [
    "END",
    "MAX_PAYLOAD",
    "OVERHEAD",
    "START",
    "VERSION",
    "Flag",
    "Frame",
    "FrameDecoder",
    "FrameError",
    "FrameErrorKind",
    "encode_frame",
]
