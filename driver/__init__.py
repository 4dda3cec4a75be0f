"""The analyzer driver: transport (any pyserial URL), wire protocol, Analyzer API, simulator.

Rooms: :mod:`driver.transport` (ports), :mod:`driver.protocol` (framing, messages,
dialects), :mod:`driver.analyzer` (the :class:`Analyzer` facade),
:mod:`driver.capabilities` (device profiles as data), :mod:`driver.discovery`,
:mod:`driver.simulator` (the simulated analyzer), :mod:`driver.errors`.
"""

from .analyzer import Analyzer
from .capabilities import PROFILES, Capabilities, DeviceInfo, TechniqueCaps
from .errors import (
    AcquisitionAbortedError,
    AnalyzerError,
    AnalyzerTimeoutError,
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

__all__ = [
    "PROFILES",
    "AcquisitionAbortedError",
    "Analyzer",
    "AnalyzerError",
    "AnalyzerTimeoutError",
    "Capabilities",
    "Configuration",
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
