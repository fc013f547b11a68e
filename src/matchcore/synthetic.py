"""Synthetic districts for examples, tests and benchmarks.

:func:`tiny` is a fixed five-need district used in docstrings and tests.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["tiny"]


def tiny() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A fixed, hand-made district: 5 needs, 4 resources, positions in metres.

    Each unmet reason is represented: N4 has no compatible resource (no legal
    aid is offered) and N5 is out of reach at 2 km.

    Returns
    -------
    needs, resources : pandas.DataFrame

    Examples
    --------
    >>> from matchcore import synthetic
    >>> needs, resources = synthetic.tiny()
    >>> len(needs), len(resources)
    (5, 4)
    """
    needs = pd.DataFrame({
        "need_id": ["N1", "N2", "N3", "N4", "N5"],
        "category": ["elderly_care", "repair", "childcare", "legal_aid", "medical"],
        "demand": [2, 1, 3, 2, 1],
        "x": [0.0, 500.0, 1500.0, 300.0, 5000.0],
        "y": [0.0, 0.0, 500.0, 300.0, 5000.0],
        "community": ["东湖社区", "东湖社区", "西山社区", "西山社区", "南苑社区"],
        "grid": ["G1", "G1", "G2", "G2", "G3"],
        "priority": [5, 3, 4, 2, 3],
        "requester_kind": ["resident", "resident", "employee", "enterprise", "resident"],
        "description": ["独居老人助餐", "水管维修", "课后托管", "劳动合同咨询", "上门问诊"],
    })
    resources = pd.DataFrame({
        "resource_id": ["R1", "R2", "R3", "R4"],
        "category": ["elderly_care", "repair", "education", "medical"],
        "capacity": [3, 2, 2, 1],
        "x": [100.0, 400.0, 1400.0, 0.0],
        "y": [0.0, 100.0, 400.0, 100.0],
        "community": ["东湖社区", "东湖社区", "西山社区", "东湖社区"],
        "grid": ["G1", "G1", "G2", "G1"],
        "provider": ["东湖志愿服务队", "物业维修部", "社区学校", "社区卫生服务站"],
        "provider_kind": ["volunteer_team", "enterprise", "unit", "unit"],
        "partner_communities": ["西山社区", None, "东湖社区", None],
    })
    return needs, resources
