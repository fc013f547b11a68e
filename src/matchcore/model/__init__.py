"""The model of a round: the lists as arrays, candidates, scores and the flow problem.

:mod:`.district` maps ids to indices once (:class:`District`), :mod:`.taxonomy`
says which categories serve which, :mod:`.candidates` builds the bipartite
candidate graph, :mod:`.scoring` scores its edges and :mod:`.problem` compiles
them into the transportation problem and its flow networks.
"""

from __future__ import annotations

from .candidates import CandidateGraph, build_candidates
from .district import District, to_district
from .problem import FlowNetwork, TransportProblem
from .scoring import COMPONENTS, Weights, score_edges
from .taxonomy import DEFAULT_CATEGORIES, Taxonomy

__all__ = [
    "COMPONENTS",
    "DEFAULT_CATEGORIES",
    "CandidateGraph",
    "District",
    "FlowNetwork",
    "Taxonomy",
    "TransportProblem",
    "Weights",
    "build_candidates",
    "score_edges",
    "to_district",
]
