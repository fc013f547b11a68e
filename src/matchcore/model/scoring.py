"""Edge scores: a weighted sum of explainable components, each in [0, 1].

``type``      the taxonomy's affinity of the resource for the need;
``locality``  ``0.6 * exp(-distance / distance_scale)`` plus a place bonus of
              0.4 in the same grid, 0.2 in the same community;
``priority``  ``(priority - 1) / 4`` of the need (1 → 0, 5 → 1);
``partner``   1 when the resource has a co-building agreement (共建) with the
              need's community, else 0.

``score = Σ weight_k * component_k``. Every component is kept per edge so that
every match can be explained.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from ..checks import check_scalar
from ..errors import InputError
from .candidates import CandidateGraph
from .district import District

__all__ = ["COMPONENTS", "MAX_TOTAL", "Weights", "score_edges", "weighted_score"]

COMPONENTS: tuple[str, ...] = ("type", "locality", "priority", "partner")
#: The largest total of the weights (and the largest ``stickiness`` bonus):
#: every component is at most 1, so a score is at most the total plus the
#: bonus, 2e290, and a score times the units of a round (at most 2**53, about
#: 9.0e15) stays below 1.8e306, finite in float64.
MAX_TOTAL = 1e290


@dataclass(frozen=True)
class Weights:
    """Weights of the score components.

    Parameters
    ----------
    type : float, default 0.3
        Weight of category affinity.
    locality : float, default 0.4
        Weight of nearness and of sharing a grid or community.
    priority : float, default 0.2
        Weight of the need's urgency.
    partner : float, default 0.1
        Weight of a co-building agreement with the need's community.
    distance_scale : float, default 1000.0
        Metres over which the distance part of locality falls by a factor e.

    Notes
    -----
    Weights must be finite and >= 0, and not all zero, and their total at
    most :data:`MAX_TOTAL` (1e290): every component lies in [0, 1], so every
    score is at most the total, and a score times the most units a round may
    hold (2**53) stays finite. Weights of 1e308 are refused here rather than
    overflowing in the solver. They are not normalised: with the defaults
    (sum 1) scores lie in [0, 1]. Each is stored as a plain float.

    Examples
    --------
    >>> from matchcore import Weights
    >>> Weights(locality=0.5, type=0.3, priority=0.2, partner=0.0).total
    1.0
    """

    type: float = 0.3
    locality: float = 0.4
    priority: float = 0.2
    partner: float = 0.1
    distance_scale: float = 1000.0

    def __post_init__(self) -> None:
        bad = []
        for name in (*COMPONENTS, "distance_scale"):
            try:
                if name == "distance_scale":
                    value = check_scalar(self.distance_scale, name, "float", low=0,
                                         low_open=True, unit="metres")
                else:
                    value = check_scalar(getattr(self, name), name, "float", low=0)
            except InputError as err:
                bad.append(str(err))
            else:
                object.__setattr__(self, name, value)  # a plain float (frozen dataclass)
        if not bad and self.total == 0:
            bad.append("at least one weight must be > 0")
        elif not bad and self.total > MAX_TOTAL:
            bad.append(
                f"the weights' total must be at most {MAX_TOTAL:g}, so that a score "
                f"times the units of a round (at most 2**53) stays finite; got {self.total!r}"
            )
        if bad:
            raise InputError("invalid Weights: " + "; ".join(bad))

    @property
    def total(self) -> float:
        """The sum of the component weights (the largest possible score)."""
        return float(sum(getattr(self, name) for name in COMPONENTS))

    def as_dict(self) -> dict[str, float]:
        """The weights as a plain dict."""
        return asdict(self)


def score_edges(
    district: District, graph: CandidateGraph, weights: Weights
) -> tuple[np.ndarray, pd.DataFrame]:
    """Score every candidate edge (internal: trusts its input).

    Returns
    -------
    score : ndarray, shape (n_edges,)
    components : DataFrame, shape (n_edges, 4)
        Columns ``type``, ``locality``, ``priority``, ``partner``, each in [0, 1].
    """
    i, j = graph.need, graph.resource
    decay = np.exp(-graph.distance / weights.distance_scale)
    grid, comm = district.need_grid[i], district.need_community[i]  # gathered once
    same_grid = (grid >= 0) & (grid == district.resource_grid[j])
    same_comm = (comm >= 0) & (comm == district.resource_community[j])
    place = np.where(same_grid, 0.4, np.where(same_comm, 0.2, 0.0))
    locality = 0.6 * decay + place
    priority = (district.priority[i] - 1) / 4.0
    if len(district.partner_keys):
        key = j * (district.n_communities + 1) + comm
        partner = ((comm >= 0) & np.isin(key, district.partner_keys)).astype(float)
    else:
        partner = np.zeros(len(i))
    components = pd.DataFrame(
        {"type": graph.affinity, "locality": locality, "priority": priority, "partner": partner}
    )
    return weighted_score(components, weights), components


def weighted_score(components: pd.DataFrame, weights: Weights) -> np.ndarray:
    """``Σ weight_k * component_k`` per edge, shape ``(n_edges,)`` (internal).

    The one formula of :func:`score_edges`, so that components kept from an
    earlier round (:mod:`.reuse`) give bit for bit the scores of a cold round.

    Examples
    --------
    >>> import pandas as pd
    >>> parts = pd.DataFrame({"type": [1.0], "locality": [0.5], "priority": [0.0],
    ...                       "partner": [1.0]})
    >>> weighted_score(parts, Weights()).tolist()
    [0.6]
    """
    return (
        weights.type * components["type"].to_numpy()
        + weights.locality * components["locality"].to_numpy()
        + weights.priority * components["priority"].to_numpy()
        + weights.partner * components["partner"].to_numpy()
    )
