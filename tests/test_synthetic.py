"""synthetic.tiny() is fixed: docstrings and tests rely on its exact values."""

from __future__ import annotations

import hashlib

import pandas as pd

import matchcore as mc


def digest(frame: pd.DataFrame) -> str:
    return hashlib.sha256(frame.to_json(orient="split", force_ascii=False).encode()).hexdigest()


def test_tiny_never_changes():
    needs, resources = mc.synthetic.tiny()
    assert needs.shape == (5, 10) and resources.shape == (4, 10)
    assert needs["demand"].tolist() == [2, 1, 3, 2, 1]
    assert needs["priority"].tolist() == [5, 3, 4, 2, 3]
    assert resources["capacity"].tolist() == [3, 2, 2, 1]
    assert digest(needs) == digest(mc.synthetic.tiny()[0])  # a fresh copy each call
    needs.loc[0, "demand"] = 99
    assert mc.synthetic.tiny()[0].loc[0, "demand"] == 2
