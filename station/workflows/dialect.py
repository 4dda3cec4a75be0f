"""Which protocol the analyzer speaks: the station's ``dialect`` setting made a driver
dialect, probing the port when it is ``auto``.

One place for ``scan``, ``watch`` (each connection and reconnection) and ``acquire``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from station.errors import DeviceError

if TYPE_CHECKING:
    from driver.session import Dialect


def resolve_dialect(url: str, name: str, *, timeout_s: float = 0.5) -> Dialect:
    """The driver dialect named ``name`` (``interdict/1``, ``obp``), or for ``auto`` the
    first that answers identify at ``url`` (:func:`driver.discovery.probe`).

    Raises
    ------
    DeviceError
        ``auto`` and no dialect answered (each one's problem named), or an unknown name.
    """
    from driver.discovery import probe
    from driver.session import DIALECTS

    if name == "auto":
        found = probe(url, timeout_s=timeout_s)
        if found.dialect is None:
            raise DeviceError(f"no analyzer answered at {url} in any dialect: "
                              f"{found.problem}",
                              hint="check the URL, the cable and that the analyzer is on; "
                                   "interdict devices probes the ports")
        name = found.dialect
    dialect = DIALECTS.get(name)
    if dialect is None:
        raise DeviceError(f"dialect {name!r} is not known",
                          hint=f"use auto or one of {', '.join(DIALECTS)}")
    return dialect


__all__ = ["resolve_dialect"]
