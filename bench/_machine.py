"""One line that says which machine a benchmark ran on (every figure is printed with it)."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo``, else what :mod:`platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def describe(**versions: str) -> str:
    """CPU, cores (usable to this process), OS, Python, ``versions`` (e.g. ``numpy="2.1"``)
    and the load average at the start: the machine is often shared with other jobs."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    parts = [cpu_model(), f"{os.cpu_count()} logical cores ({usable} usable)",
             f"{platform.system()} {platform.release()}",
             f"Python {platform.python_version()}",
             *(f"{k} {v}" for k, v in versions.items()),
             f"load average {load:.2f} at start"]
    return "; ".join(parts)
