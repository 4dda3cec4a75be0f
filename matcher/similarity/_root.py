"""Root-HQI: the identification's ranking representation as a score the search can bound."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ..representation import Representation
from ._base import F64
from ._correlation import HQI


class RootHQI(HQI):
    """HQI of the ranking representation (:class:`matcher.representation.Representation`).

    Each vector is clipped at 0, scaled to a maximum of 1, lowered by ``noise_floor`` noise σ,
    raised to ``power`` (a square root by default), then correlated as :class:`HQI` does.
    This is what :class:`matcher.identify.Identifier` ranks by; as a score object it runs
    through :class:`matcher.search.Searcher` (exact, pruned).

    Parameters
    ----------
    power
        Intensity exponent, in (0, 1].
    noise_floor
        Noise σ subtracted before the power (0: off).

    Notes
    -----
    The transform works per vector on the whole axis (its maximum and noise σ), so a mask
    selects points of the transformed vectors; it does not re-scale within the mask.

    Examples
    --------
    Two bands on a 200-point axis (a four-point vector is flat once the noise floor is
    subtracted, and a flat vector has no correlation):

    >>> import numpy as np
    >>> x = np.linspace(0.0, 1.0, 200)
    >>> a = np.exp(-((x - 0.3) / 0.02) ** 2) + 0.5 * np.exp(-((x - 0.7) / 0.02) ** 2)
    >>> score = RootHQI()
    >>> round(score.pair(a, 3.0 * a), 1)  # the same bands at three times the intensity
    100.0
    >>> round(score.pair(a, a[::-1]), 1)  # the same positions, the heights swapped
    87.2
    """

    name: ClassVar[str] = "root_hqi"
    transform_is_float32: ClassVar[bool] = True

    def __init__(self, power: float = 0.5, noise_floor: float = 4.0) -> None:
        self._rep = Representation(power=power, noise_floor=noise_floor)

    @classmethod
    def of(cls, representation: Representation) -> RootHQI:
        """The score of a ranking representation (its power and noise floor)."""
        return cls(power=representation.power, noise_floor=representation.noise_floor)

    def params(self) -> dict[str, float | int | str | bool]:
        """The configuration, for the record."""
        return {"power": self._rep.power, "noise_floor": self._rep.noise_floor}

    def transform(self, rows: F64) -> F64:
        """The ranking representation of each row, ``(n, D) -> (n, D)`` (computed in float32,
        as identification does, then widened)."""
        out: F64 = self._rep.transform(rows).astype(np.float64)
        return out
