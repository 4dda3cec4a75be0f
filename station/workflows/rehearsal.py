"""Rehearsing with the simulated analyzer: the parcel's scenario sample under the laser.

A real analyzer measures whatever is under its probe; the simulator measures the sample its
scenario gives the parcel, once told which parcel it is. That message is simulator-only
(:mod:`driver.simulator.control`); a session asks for it here, and only when the analyzer
said it is simulated (``DeviceInfo.simulated``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from station._terminal import say

if TYPE_CHECKING:
    from driver.analyzer import Analyzer


def sample_placer(dev: Analyzer, err: TextIO) -> Callable[[str], None]:
    """A function that puts a parcel's scenario sample under the simulated laser; a parcel
    the scenario does not know is measured as the simulator's default sample, and a
    simulator that cannot be told (another dialect) measures what it measures (each said on
    ``err``)."""
    from driver.errors import DeviceRefusedError, NotSupportedError
    from driver.simulator.control import select_sample

    def place(item_id: str) -> None:
        try:
            select_sample(dev, item_id)
        except DeviceRefusedError as exc:
            say(f"simulator: no sample for {item_id} in its scenario ({exc}); it measures "
                "its default sample", err)
        except NotSupportedError as exc:
            say(f"simulator: cannot be told which sample is under the laser ({exc}); it "
                "measures its default sample", err)

    return place


__all__ = ["sample_placer"]
