"""Sessions: the conversations of each wire protocol over a port.

A dialect (:class:`Dialect`) opens a :class:`DialectSession` on a
:class:`~driver.transport.Transport`; the session sends requests, waits for replies within
deadlines, retries, and turns replies into the driver's models. This is where the driver's
I/O and timing live; the framing and message tables they use are :mod:`driver.protocol`,
which has none. The :class:`~driver.analyzer.Analyzer` talks to these two protocols only,
so a vendor protocol is a new module here implementing them.
"""

from ._dialect import Dialect, DialectSession, LinkOptions
from .interdict_v1 import DIALECT as INTERDICT_V1
from .interdict_v1 import ScanLostError, V1Session
from .obp import DIALECT as OBP
from .obp import ObpSession

DIALECTS: dict[str, Dialect] = {INTERDICT_V1.name: INTERDICT_V1, OBP.name: OBP}
"""Known dialects by name, in the order a probe tries them; a vendor dialect registers itself
here."""

__all__ = [
    "DIALECTS",
    "INTERDICT_V1",
    "OBP",
    "Dialect",
    "DialectSession",
    "LinkOptions",
    "ObpSession",
    "ScanLostError",
    "V1Session",
]
