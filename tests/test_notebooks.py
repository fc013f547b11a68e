"""Every notebook in notebooks/ executes from top to bottom without error and shows its figures.

The kernel draws with its inline backend (as in Jupyter: no ``matplotlib.use``
in the notebooks), so each figure becomes an ``image/png`` output. The
notebooks are committed with their outputs (``python notebooks/execute.py``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")

FOLDER = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))


def _execute_module():
    spec = importlib.util.spec_from_file_location("notebooks_execute", FOLDER / "execute.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _code_outputs(nb):
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]


def _images(nb) -> int:
    return sum("image/png" in out.get("data", {}) for out in _code_outputs(nb))


def _plots(nb) -> bool:
    return any(cell.cell_type == "code" and ("mc.plot." in cell.source or "plt." in cell.source)
               for cell in nb.cells)


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_draws_its_figures(path, monkeypatch):
    import matchcore

    # The kernel imports the same matchcore as the tests, installed or not.
    monkeypatch.syspath_prepend(str(Path(matchcore.__file__).resolve().parents[1]))
    module = _execute_module()
    monkeypatch.setattr(module, "SRC", Path(matchcore.__file__).resolve().parents[1])
    nb = module.execute(path)
    errors = [out for out in _code_outputs(nb) if out.get("output_type") == "error"]
    assert not errors
    if _plots(nb):
        assert _images(nb) >= 1, f"{path.name} plots but shows no figure"
    assert "matplotlib.use(" not in "".join(c.source for c in nb.cells)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebooks_carry_their_outputs(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), (
        f"{path.name} is not executed: run `python notebooks/execute.py`"
    )
    if _plots(nb):
        assert _images(nb) >= 1, f"{path.name}: its figures are not stored"


