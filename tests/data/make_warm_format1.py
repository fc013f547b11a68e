"""Regenerate ``warm_state_format1_tiny.npz``: a warm state in the archive layout of format 1.

Run it with the code that wrote format 1 (every candidate distance stored;
matchcore before format 2 recomputed them on load), for example::

    git worktree add --detach /tmp/f1 e046239   # the last commit writing format 1
    PYTHONPATH=/tmp/f1/src python tests/data/make_warm_format1.py
    git worktree remove /tmp/f1

``tests/test_ledger_warm.py`` decodes it with the current code and expects the
warm state of the same match, array for array.
"""

from __future__ import annotations

from pathlib import Path

import matchcore as mc
from matchcore.ledger.warm_codec import FORMAT, encode_warm_state
from matchcore.result import WarmState

if __name__ == "__main__":
    assert FORMAT == 1, f"this code writes format {FORMAT}, not 1"
    state = WarmState.of(mc.match(*mc.synthetic.tiny(), max_distance=2000))
    data = encode_warm_state(state)
    assert data is not None
    (Path(__file__).parent / "warm_state_format1_tiny.npz").write_bytes(data)
