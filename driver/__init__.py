"""The analyzer driver: transport (any pyserial URL), wire protocol, Analyzer API, simulator.

Rooms: :mod:`driver.transport` (ports), :mod:`driver.protocol` (framing and message
tables, no I/O), :mod:`driver.session` (each dialect's conversation over a port: requests,
retries, deadlines), :mod:`driver.analyzer` (the :class:`Analyzer` facade),
:mod:`driver.capabilities` (device profiles as data), :mod:`driver.discovery`,
:mod:`driver.simulator` (the simulated analyzer), :mod:`driver.errors`.

Names are imported on first use, so that the simulator process starts without loading the
spectrum core.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .analyzer import Analyzer
    from .capabilities import PROFILES, Capabilities, DeviceInfo, TechniqueCaps
    from .errors import (
        AcquisitionAbortedError,
        AnalyzerError,
        AnalyzerTimeoutError,
        DeclaredSizeError,
        DeviceBusyError,
        DeviceRefusedError,
        LinkError,
        NotAnAnalyzerError,
        NotSupportedError,
        PortBusyError,
        ProtocolError,
        TransferError,
    )
    from .models import Configuration, DeviceStatus, SelfTestReport

_WHERE = {
    "Analyzer": "analyzer",
    "PROFILES": "capabilities", "Capabilities": "capabilities", "DeviceInfo": "capabilities",
    "TechniqueCaps": "capabilities",
    "Configuration": "models", "DeviceStatus": "models", "SelfTestReport": "models",
    **dict.fromkeys((
        "AcquisitionAbortedError", "AnalyzerError", "AnalyzerTimeoutError", "DeclaredSizeError",
        "DeviceBusyError", "DeviceRefusedError", "LinkError", "NotAnAnalyzerError",
        "NotSupportedError", "PortBusyError", "ProtocolError", "TransferError"), "errors"),
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'driver' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


__all__ = [
    "PROFILES",
    "AcquisitionAbortedError",
    "Analyzer",
    "AnalyzerError",
    "AnalyzerTimeoutError",
    "Capabilities",
    "Configuration",
    "DeclaredSizeError",
    "DeviceBusyError",
    "DeviceInfo",
    "DeviceRefusedError",
    "DeviceStatus",
    "LinkError",
    "NotAnAnalyzerError",
    "NotSupportedError",
    "PortBusyError",
    "ProtocolError",
    "SelfTestReport",
    "TechniqueCaps",
    "TransferError",
]
