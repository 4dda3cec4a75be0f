"""Mixture analysis: the non-negative combination of up to three library spectra that best
explains a query, keeping a component only when it improves the fit significantly.

Representation
--------------
The fit is done on the library's preprocessed vectors as they are (baseline-removed,
normalised, NOT derivative and NOT power-transformed), with negative values clipped to 0:
Raman and absorbance spectra add linearly in that space, which a derivative keeps but a
square-root (the ranking representation, :mod:`matcher.representation`) does not. The
non-negative weights absorb each vector's normalisation.

Algorithm
---------
1. First component: the best one-vector fit among the ``candidates`` best-ranked entries.
2. Greedy forward selection: with components ``S`` fitted, try every entry ``c`` of the
   ``pool`` best-ranked (a minor component rarely ranks high on the whole query) and
   solve the non-negative least squares on ``S ∪ {c}`` exactly (all subsets of ≤ 3
   columns through the Gram matrices, batched, so no iterative solver is needed).
3. Accept the best ``c`` only if (a) the residual sum of squares falls by at least
   ``min_rss_reduction`` (relative), (b) it stands out: the best alternative of another
   substance cuts it by at most ``max_runner_up_ratio`` as much, (c) its spectral share is
   at least ``min_share``, and (d) the composite HQI rises by at least ``min_hqi_gain``.
   A classical F-test is not used: neighbouring points of a preprocessed spectrum are
   strongly correlated, so its degrees of freedom would be grossly overstated and every
   component would pass. Rule (b) is what keeps pure samples pure: on 150 RRUFF query
   minerals (one mineral each, a different specimen from the library's) the best
   spurious second component cut the residual by a median 35 %, but its runner-up did
   almost as well (median ratio 0.9, 5th percentile 0.59), while in the real whenfung
   binary mixtures the true component stood out (ratios 0.01-0.33 for 8 of 10). The
   limit 0.55 (not 0.5) keeps a synthetic amphetamine + ethanol + pyridine mixture, where
   hydrogen-peroxide solution (aqueous, ethanol-like bands) is a 0.53 rival of ethanol.
   ``min_rss_reduction`` = 0.10 and this limit were set looking at the 10 real mixtures,
   so their recall figure is optimistic (see docs/accuracy.md).
   Rule (b) has one exception: when the rival leaves at least ``min_rival_residual_ratio``
   (2) times the residual sum of squares of the chosen component, the chosen one is kept.
   A minor component (a drug at 20-40 % of the signal in a diluent) cuts most of the
   residual, and a neighbour with overlapping bands cuts a good part too (ratio 0.6-0.7,
   rule (b) alone rejects it) but leaves 2-5 times the residual; the spurious fits of
   pure RRUFF minerals mostly leave a rival within 1.0-1.9 times (95th percentile 1.9).
   Measured in docs/accuracy.md ("Minor components"): on synthetic mixtures of the real
   whenfung standards this raises minor-component recall at 30-50 % shares, at a cost of
   0.5 point of spurious mixtures on the RRUFF queries.
4. Entries of the same substance are reported as one component
   (``merge_same_substance``): a library with several spectra per substance (RRUFF) lets
   two of them model one substance's band shape, which is not a mixture (a third of the
   RRUFF spurious mixtures were of this kind).

Reported: each component's spectral share (its part of the fitted signal's area: weight
× vector sum ÷ total), the composite HQI (``100·max(r, 0)²``, r the Pearson correlation of fit and
query), the unexplained residual fraction ``‖q − fit‖²/‖q‖²``, and whether the residual is
*structured* (still has a peak above ``residual_peak`` × the query's maximum and above
5 σ of the query's noise): "unexplained signal remains".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from .quality import noise_sigma

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]


class MixtureConfig(BaseModel):
    """How mixtures are searched and when a component is kept (recorded with results)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_components: int = Field(default=3, ge=1, le=3)
    candidates: int = Field(default=30, ge=1)
    """Best-ranked entries tried as the FIRST component."""
    pool: int = Field(default=300, ge=1)
    """Best-ranked entries tried as further components (and as their alternatives)."""
    max_runner_up_ratio: float = Field(default=0.55, ge=0.0, le=1.0)
    """The best alternative component of another substance may cut the residual by at most
    this fraction of what the chosen one cuts: a real component stands out, a spurious fit
    (band-shape mismatch of a pure sample) has many near-equal alternatives."""
    min_rival_residual_ratio: float = Field(default=2.0, ge=1.0)
    """... unless that rival leaves at least this many times the chosen one's residual sum of
    squares (an F-like ratio of the two fits): a component that explains the query far
    better than any alternative is kept even when the alternatives also cut a lot (a minor
    component of a mixture, whose bands a neighbour partly covers). 1e9 turns it off."""
    merge_same_substance: bool = True
    """Report entries of the same substance (``labels``) as ONE component (shares summed, the
    larger entry kept): two spectra of one substance fitted together model its band shape,
    not a mixture."""
    min_rss_reduction: float = Field(default=0.10, ge=0.0, le=1.0)
    """A new component must cut the residual sum of squares by this fraction."""
    min_share: float = Field(default=0.05, ge=0.0, le=1.0)
    """A component must carry at least this part of the fitted signal."""
    min_hqi_gain: float = Field(default=0.1, ge=0.0)
    """A new component must raise the composite HQI by this many points (0-100 scale)."""
    residual_peak: float = Field(default=0.10, gt=0.0)
    """Residual peak (÷ query maximum) above which the residual counts as structured."""


@dataclass(frozen=True)
class MixtureFit:
    """The fitted combination: library row indices, weights and figures."""

    indices: tuple[int, ...]
    weights: tuple[float, ...]
    shares: tuple[float, ...]
    composite_hqi: float
    residual_fraction: float
    structured_residual: bool
    single_hqi: float
    """Composite HQI of the best single component (for comparison)."""


def hqi(a: F64, b: F64) -> float:
    """HQI of two vectors: ``100·max(r, 0)²``, r their mean-centred (Pearson) correlation.

    Parameters
    ----------
    a, b : (D,) arrays

    Returns
    -------
    float
    """
    ac = a - a.mean()
    bc = b - b.mean()
    den = float(np.sqrt(np.dot(ac, ac) * np.dot(bc, bc)))
    if den <= 0:
        return 0.0
    r = float(np.clip(np.dot(ac, bc) / den, 0.0, 1.0))
    return 100.0 * r * r


def _nnls_batched(gram: F64, h: F64) -> tuple[F64, F64]:
    """Exact NNLS for ≤ 3 columns, for a batch of problems at once, via Gram matrices.

    Minimises ``‖q − Bw‖²`` subject to ``w ≥ 0`` for each problem ``b``, given
    ``gram[b] = BᵀB`` and ``h[b] = Bᵀq``. Every subset of columns is solved unconstrained
    (batched); the best feasible one is the answer, so the result is exact.

    Parameters
    ----------
    gram : (C, k, k) array
    h : (C, k) array

    Returns
    -------
    w : (C, k) array
        The weights.
    obj : (C,) array
        ``wᵀGw − 2wᵀh`` at the optimum (add ‖q‖² for the residual sum of squares).
    """
    c, k = h.shape
    best_w = np.zeros((c, k))
    best_obj = np.zeros(c)
    for r in range(1, k + 1):
        for sub in combinations(range(k), r):
            idx = list(sub)
            hs = h[:, idx]  # (C,r)
            if r == 1:
                g = gram[:, idx[0], idx[0]]
                ok = g > 0
                w = (hs[:, 0] / np.where(ok, g, 1.0))[:, None]
            elif r == 2:  # Cramer's rule, vectorised
                a = gram[:, idx[0], idx[0]]
                b = gram[:, idx[0], idx[1]]
                d = gram[:, idx[1], idx[1]]
                det = a * d - b * b
                ok = det > 1e-12 * np.maximum(a * d, 1e-300)
                safe = np.where(ok, det, 1.0)
                w = np.stack([(d * hs[:, 0] - b * hs[:, 1]) / safe,
                              (a * hs[:, 1] - b * hs[:, 0]) / safe], axis=1)
            else:
                g = gram[:, idx][:, :, idx]  # (C,r,r)
                with np.errstate(all="ignore"):
                    try:
                        w = np.asarray(np.linalg.solve(g, hs[:, :, None])[:, :, 0],
                                       dtype=np.float64)
                        ok = np.all(np.isfinite(w), axis=1)
                    except np.linalg.LinAlgError:  # a singular one in the batch: one by one
                        w = np.zeros_like(hs)
                        ok = np.zeros(c, dtype=bool)
                        for i in range(c):
                            try:
                                w[i] = np.linalg.solve(g[i], hs[i])
                                ok[i] = True
                            except np.linalg.LinAlgError:
                                pass
            obj = -np.einsum("ij,ij->i", w, hs)  # at the optimum wᵀGw = wᵀh
            ok = ok & np.all(w >= 0, axis=1) & (obj < best_obj)
            if np.any(ok):
                best_obj[ok] = obj[ok]
                nw = np.zeros((int(ok.sum()), k))
                nw[:, idx] = w[ok]
                best_w[ok] = nw
    return best_w, best_obj


def fit_mixture(
    query: F64,
    basis: F32 | F64,
    ranked: NDArray[np.intp],
    config: MixtureConfig | None = None,
    labels: Sequence[str] | None = None,
) -> MixtureFit | None:
    """Fit up to ``max_components`` library vectors to a query with non-negative weights.

    Parameters
    ----------
    query : (D,) array
        The query in the mixture representation (see module notes).
    basis : (N, D) array
        Library vectors in the same representation (rows clipped at 0 here).
    ranked : (M,) int array
        Library rows by decreasing ranking score (at least ``pool`` long, or all).
    config
        Selection rules; defaults to :class:`MixtureConfig()`.
    labels : sequence of N str, optional
        Substance name of every library row: alternatives of the same substance as a
        chosen component do not count against it (see ``max_runner_up_ratio``).

    Returns
    -------
    MixtureFit or None
        None when the query is empty (all zeros) or no candidate gets a positive weight.
    """
    cfg = config if config is not None else MixtureConfig()
    q = np.maximum(np.asarray(query, dtype=np.float64), 0.0)
    qq = float(np.dot(q, q))
    if qq <= 0 or ranked.size == 0:
        return None
    pool = np.asarray(ranked[: cfg.pool])
    # big products in float32 (the library's precision), small systems in float64
    P = np.maximum(np.asarray(basis[pool], dtype=np.float32), np.float32(0.0))  # (M,D)
    q32 = q.astype(np.float32)
    h_all = (P @ q32).astype(np.float64)  # (M,D)@(D,) -> (M,)
    nn_all = np.einsum("ij,ij->i", P, P).astype(np.float64)  # (M,)
    valid = nn_all > 0

    # one component: w = h/‖b‖², RSS = qq − h²/‖b‖²
    cand = np.arange(min(cfg.candidates, pool.size))
    gain1 = np.where(valid[cand] & (h_all[cand] > 0),
                     h_all[cand] ** 2 / np.where(valid[cand], nn_all[cand], 1.0), -1.0)
    if np.max(gain1) <= 0:
        return None
    chosen = [int(cand[int(np.argmax(gain1))])]
    w = np.array([h_all[chosen[0]] / nn_all[chosen[0]]])
    rss = qq - float(np.max(gain1))
    fit = w[0] * P[chosen[0]].astype(np.float64)
    cur_hqi = hqi(q, fit)
    single = cur_hqi

    while len(chosen) < cfg.max_components:
        trial = np.array([c for c in range(pool.size) if c not in chosen and valid[c]],
                         dtype=np.intp)
        if trial.size == 0:
            break
        m = len(chosen)
        g_all = (P @ P[chosen].T).astype(np.float64)  # (M,D)@(D,m) -> (M,m)
        g_ss = g_all[chosen]  # (m,m)
        g_sc = g_all[trial]  # (C,m)
        gram = np.empty((trial.size, m + 1, m + 1))
        gram[:, :m, :m] = g_ss
        gram[:, :m, m] = g_sc
        gram[:, m, :m] = g_sc
        gram[:, m, m] = nn_all[trial]
        hb = np.concatenate([np.tile(h_all[chosen], (trial.size, 1)), h_all[trial][:, None]],
                            axis=1)  # (C,m+1)
        wb, objb = _nnls_batched(gram, hb)
        red = (rss - (qq + objb)) / rss if rss > 0 else np.zeros(trial.size)  # (C,)
        j = int(np.argmax(red))
        new_rss, c, wi = qq + float(objb[j]), int(trial[j]), wb[j]
        # the component must stand out: the best alternative of ANOTHER substance may cut the
        # residual by at most max_runner_up_ratio as much (spurious fits have many equals)
        if labels is not None:
            taken = {labels[int(pool[i])] for i in (*chosen, c)}
            other = np.array([labels[int(pool[t])] not in taken for t in trial])
        else:
            other = trial != c
        runner_up = 0.0  # the best rival's relative reduction
        rivals = np.flatnonzero(other)[np.argsort(-red[other])][:5]
        if rivals.size and new_rss > 0:
            # an alternative that still helps ON TOP of c is another component, not a rival
            cols = np.array([[*chosen, c, int(trial[a])] for a in rivals])  # (R,m+2)
            Pc = P[cols]  # (R,m+2,D)
            gram3 = np.einsum("rid,rjd->rij", Pc, Pc).astype(np.float64)
            _, obj3 = _nnls_batched(gram3, h_all[cols])
            extra = (new_rss - (qq + obj3)) / new_rss
            rival = rivals[extra < cfg.min_rss_reduction]
            runner_up = float(red[rival[0]]) if rival.size else 0.0
        if (red[j] > 0 and runner_up > cfg.max_runner_up_ratio * float(red[j])
                and rss * (1.0 - runner_up) < cfg.min_rival_residual_ratio * new_rss):
            break
        if wi[-1] <= 0 or rss <= 0 or (rss - new_rss) / rss < cfg.min_rss_reduction:
            break
        idx = [*chosen, c]
        new_fit = wi @ P[idx].astype(np.float64)
        areas = wi * P[idx].sum(axis=1)
        shares = areas / areas.sum()
        new_hqi = hqi(q, new_fit)
        if float(np.min(shares[wi > 0])) < cfg.min_share or new_hqi - cur_hqi < cfg.min_hqi_gain:
            break
        keep = wi > 0  # a re-fit may drop an earlier component to zero
        chosen = [i for i, k in zip(idx, keep, strict=True) if k]
        w = wi[keep]
        rss, fit, cur_hqi = new_rss, new_fit, new_hqi

    areas = w * P[chosen].sum(axis=1)
    shares = areas / areas.sum()
    if labels is not None and cfg.merge_same_substance and len(chosen) > 1:
        groups: dict[str, list[int]] = {}
        for p, i in enumerate(chosen):
            groups.setdefault(labels[int(pool[i])], []).append(p)
        if len(groups) < len(chosen):  # one component per substance, the larger entry kept
            keep_p = [max(ps, key=lambda p: float(shares[p])) for ps in groups.values()]
            shares = np.array([sum(float(shares[p]) for p in ps) for ps in groups.values()])
            chosen = [chosen[p] for p in keep_p]
            w = w[keep_p]
    resid = q - fit
    sigma = noise_sigma(q)
    structured = bool(np.max(resid) > max(cfg.residual_peak * float(np.max(q)), 5.0 * sigma))
    return MixtureFit(
        indices=tuple(int(pool[i]) for i in chosen),
        weights=tuple(float(x) for x in w),
        shares=tuple(float(s) for s in shares),
        composite_hqi=cur_hqi,
        residual_fraction=max(0.0, rss / qq),
        structured_residual=structured,
        single_hqi=single,
    )


__all__ = ["MixtureConfig", "MixtureFit", "fit_mixture", "hqi"]
