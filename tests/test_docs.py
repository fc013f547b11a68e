"""The documentation site builds with ``mkdocs build --strict``, and its Python examples run.

The build needs the docs toolchain of the ``dev`` extra (mkdocs, mkdocs-material,
mkdocstrings-python); the test is skipped when mkdocs is not installed. The API
reference is read from ``src/`` by griffe (``paths: [src]`` in mkdocs.yml), without
importing matchcore.

Every ```` ```python ```` block of a guide runs, in page order and in one namespace per
page, in a fresh folder (output is shown in ```` ```text ```` blocks, which are not
checked).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

GUIDES = [
    "index.md",
    "tutorial.md",
    "how-to/chinese-headers.md",
    "how-to/weights.md",
    "how-to/explain.md",
    "how-to/compare-policies.md",
    "how-to/ledger.md",
    "how-to/many-streets.md",
    "how-to/policies.md",
    "how-to/governance.md",
]

_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _blocks(page: str) -> list[str]:
    return _BLOCK.findall((DOCS / page).read_text(encoding="utf-8"))


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None, reason="mkdocs not installed")
def test_site_builds_strict(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, encoding="utf-8", timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert out.returncode == 0, f"mkdocs build --strict failed:\n{out.stderr}\n{out.stdout}"
    assert (tmp_path / "index.html").is_file()
    reference = (tmp_path / "reference" / "matching" / "index.html").read_text(encoding="utf-8")
    assert "solve_assignment" in reference and "MatchResult" in reference
    model = (tmp_path / "explanation" / "model" / "index.html").read_text(encoding="utf-8")
    assert 'class="arithmatex"' in model


def test_every_guide_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = sorted(
        str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md") if "_hooks" not in p.parts
    )
    missing = [p for p in pages if p not in nav]
    assert not missing, f"pages missing from the nav of mkdocs.yml: {missing}"


@pytest.mark.parametrize("page", GUIDES)
def test_guide_examples_run(page, tmp_path, monkeypatch):
    blocks = _blocks(page)
    assert blocks, f"{page} has no Python example"
    source = "\n".join(blocks)
    if "xlsx" in source:
        pytest.importorskip("openpyxl")
    if "mc.plot" in source:
        matplotlib = pytest.importorskip("matplotlib")
        matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for k, code in enumerate(blocks, 1):
        try:
            exec(compile(code, f"{page} (python block {k})", "exec"), namespace)
        except Exception as err:  # pragma: no cover - the message is the point
            pytest.fail(f"{page}, python block {k} failed: {err!r}\n{code}")
    if "mc.plot" in source:
        import matplotlib.pyplot as plt

        plt.close("all")
