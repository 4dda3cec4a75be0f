"""The service process the tests start (:class:`central.devdb.ServiceProcess`)."""

from __future__ import annotations

from pathlib import Path

from central.devdb import ServiceProcess as Service

ROOT = Path(__file__).resolve().parents[2]

__all__ = ["ROOT", "Service"]
