"""Fault injection for the simulated analyzer, deterministic for a given seed.

A spec is ``name=value`` pairs separated by commas, e.g.
``corrupt=0.01,drop=0.001,delay-ms=50``. All faults act on what the *device* does:

=============  =========  ===================================================================
name           value      effect
=============  =========  ===================================================================
corrupt        prob/byte  flip one random bit of an outgoing byte
drop           prob/byte  drop an outgoing byte
delay-ms       ms         hold every reply this long before sending it
nack           prob/req   answer a request with a NACK (as if its CRC had failed)
busy           prob/req   answer a request with BUSY
garbage        prob/frm   send a burst of 1-64 random bytes before a frame
disconnect     prob/frm   drop the link while sending a data frame (cable pulled), then come
                          back after ``reconnect-ms``
reconnect-ms   ms         how long the port stays away after a disconnect (default 300)
reboot         prob/req   reboot on a request: silent for ``reboot-ms``, configuration and
                          scans lost, then an EV_BOOTED event
reboot-ms      ms         how long a reboot takes (default 400)
drift          cm⁻¹       fixed axis calibration error (self-test fails beyond tolerance)
battery        percent    initial battery level (low levels raise EV_LOW_BATTERY)
drain          percent    battery used per laser accumulation (default 0.01; 0 for soaks)
interlock      0/1        1 = laser interlock open (sample scans refused)
lie-identify   bytes      declare the identify document this long (a lying device; the data
                          sent are the true ones); 0 = tell the truth
lie-scan       bytes      declare every scan blob this long; 0 = tell the truth
lie-pixels     count      declare this many values in scan headers and send that many
                          (beyond the detector's pixels); 0 = tell the truth
lie-ms         ms         announce every scan as taking this long (its ticket); 0 = truth
=============  =========  ===================================================================
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, fields

import numpy as np

_NAMES = {
    "corrupt": "corrupt", "drop": "drop", "delay-ms": "delay_ms", "nack": "nack",
    "busy": "busy", "garbage": "garbage", "disconnect": "disconnect",
    "reconnect-ms": "reconnect_ms", "reboot": "reboot", "reboot-ms": "reboot_ms",
    "drift": "drift", "battery": "battery", "drain": "drain", "interlock": "interlock",
    "lie-identify": "lie_identify", "lie-scan": "lie_scan", "lie-pixels": "lie_pixels",
    "lie-ms": "lie_ms",
}
_DECLARED = {"lie-identify", "lie-scan", "lie-pixels", "lie-ms"}
"""Faults that replace a size the device declares: whole numbers that fit the u32 field."""
U32_MAX = 0xFFFFFFFF
MAX_LIE_PIXELS = 1 << 24
"""``lie-pixels`` makes the simulator send that many values: kept within its own memory."""
_PROBABILITIES = {"corrupt", "drop", "nack", "busy", "garbage", "disconnect", "reboot"}


@dataclass(frozen=True)
class FaultSpec:
    """Parsed fault settings (all off by default)."""

    corrupt: float = 0.0
    drop: float = 0.0
    delay_ms: float = 0.0
    nack: float = 0.0
    busy: float = 0.0
    garbage: float = 0.0
    disconnect: float = 0.0
    reconnect_ms: float = 300.0
    reboot: float = 0.0
    reboot_ms: float = 400.0
    drift: float = 0.0
    battery: float = 87.0
    drain: float = 0.01
    interlock: float = 0.0
    lie_identify: float = 0.0
    lie_scan: float = 0.0
    lie_pixels: float = 0.0
    lie_ms: float = 0.0

    @classmethod
    def parse(cls, spec: str | None) -> FaultSpec:
        """Parse ``"corrupt=0.01,drop=0.001"``.

        Raises
        ------
        ValueError
            Unknown name, missing ``=``, non-number, or a probability outside [0, 1]; the
            message quotes the offending item and the expected form.
        """
        values: dict[str, float] = {}
        for raw_item in (spec or "").split(","):
            item = raw_item.strip()
            if not item:
                continue
            name, eq, raw = item.partition("=")
            name = name.strip().lower()
            if not eq:
                raise ValueError(f"fault {item!r}: expected name=value")
            if name not in _NAMES:
                raise ValueError(f"unknown fault {name!r}; known: {', '.join(sorted(_NAMES))}")
            try:
                v = float(raw)
            except ValueError:
                raise ValueError(f"fault {item!r}: {raw!r} is not a number") from None
            if not math.isfinite(v):
                raise ValueError(f"fault {item!r}: {raw!r} is not a finite number")
            if name in _PROBABILITIES and not 0.0 <= v <= 1.0:
                raise ValueError(f"fault {item!r}: a probability must be within 0..1")
            if name not in _PROBABILITIES and name != "drift" and v < 0:
                raise ValueError(f"fault {item!r}: must not be negative")
            if name in _DECLARED and not (v.is_integer() and v <= U32_MAX):
                raise ValueError(f"fault {item!r}: a declared size must be a whole number "
                                 f"within 0..{U32_MAX}")
            if name == "lie-pixels" and v > MAX_LIE_PIXELS:
                raise ValueError(f"fault {item!r}: at most {MAX_LIE_PIXELS} values")
            values[_NAMES[name]] = v
        return cls(**values)

    def describe(self) -> str:
        """The non-default settings, as a spec string."""
        default = FaultSpec()
        inv = {v: k for k, v in _NAMES.items()}
        return ",".join(f"{inv[f.name]}={getattr(self, f.name):g}" for f in fields(self)
                        if getattr(self, f.name) != getattr(default, f.name))


class FaultInjector:
    """Applies a :class:`FaultSpec` with its own seeded random stream."""

    def __init__(self, spec: FaultSpec, seed: int) -> None:
        self.spec = spec
        self._rng = random.Random(seed)
        self._np = np.random.default_rng(seed)

    def chance(self, p: float) -> bool:
        """True with probability ``p``."""
        return p > 0 and self._rng.random() < p

    def mangle(self, data: bytes) -> bytes:
        """Apply corruption, drops and garbage to bytes about to go on the line."""
        s = self.spec
        out = bytearray()
        if self.chance(s.garbage):
            out += self._rng.randbytes(self._rng.randint(1, 64))
        if s.corrupt <= 0 and s.drop <= 0:
            return bytes(out) + data
        arr = np.frombuffer(data, dtype=np.uint8).copy()
        if s.corrupt > 0:
            hit = np.flatnonzero(self._np.random(arr.size) < s.corrupt)
            arr[hit] ^= (1 << self._np.integers(0, 8, hit.size)).astype(np.uint8)
        if s.drop > 0:
            arr = arr[self._np.random(arr.size) >= s.drop]
        return bytes(out) + arr.tobytes()
