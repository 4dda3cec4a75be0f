"""Simulator-only controls: what an officer's hands do, sent as messages.

The simulated analyzer understands two messages a real analyzer refuses (``UNKNOWN_MESSAGE``):
put a scenario sample under the laser, and press the trigger button. They belong to the
rehearsal, not to the :class:`~driver.Analyzer` API a station drives real devices with, so
they live here, beside the simulator, and take an open Analyzer. (The trigger can also be
pressed from outside the link: ``kill -USR1 <simulator pid>``.)

>>> from driver import Analyzer                      # doctest: +SKIP
>>> with Analyzer(url) as dev:                       # doctest: +SKIP
...     if dev.identify().simulated:
...         select_sample(dev, "CP118543022IN")
...         press_trigger(dev)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..errors import NotSupportedError

if TYPE_CHECKING:
    from ..analyzer import Analyzer
    from ..session import DialectSession


@runtime_checkable
class SimulatorLink(Protocol):
    """A dialect session that carries the simulator's rehearsal messages (interdict/1 and
    the OBP dialect both do; a real device refuses them as unknown messages)."""

    def select_sample(self, sample_id: str) -> None: ...

    def press_trigger(self) -> None: ...


def _simulator_link(session: DialectSession) -> SimulatorLink:
    if not isinstance(session, SimulatorLink):
        raise NotSupportedError("simulator controls are not part of this analyzer's protocol")
    return session


def select_sample(dev: Analyzer, sample_id: str) -> None:
    """Put ``sample_id`` (e.g. a parcel id) of the simulator's scenario under the laser.

    Raises
    ------
    DeviceRefusedError
        ``UNKNOWN_MESSAGE`` from a real device, ``NO_SUCH_SAMPLE`` if not in the scenario.
    NotSupportedError
        The analyzer speaks another protocol.
    """
    dev._run(lambda s: _simulator_link(s).select_sample(sample_id))


def press_trigger(dev: Analyzer) -> None:
    """Press the simulated analyzer's trigger button, as an officer would.

    Raises
    ------
    DeviceRefusedError
        ``UNKNOWN_MESSAGE`` from a real device.
    NotSupportedError
        The analyzer speaks another protocol.
    """
    dev._run(lambda s: _simulator_link(s).press_trigger())


__all__ = ["press_trigger", "select_sample"]
