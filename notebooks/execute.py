"""Re-execute every notebook of this folder in place, storing its outputs and figures.

Usage::

    python notebooks/execute.py [NOTEBOOK ...]

The notebooks are committed *with* their outputs so that GitHub, Jupyter and the
docs site (mkdocs-jupyter, which shows stored outputs and never executes) show
the figures. The kernel imports the matchcore of this repository (``src/``) and
draws with matplotlib's inline backend, as in Jupyter.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"


def execute(path: Path, *, timeout: int = 600) -> object:
    """Execute the notebook at ``path`` in a fresh kernel and return it (not written)."""
    import nbclient
    import nbformat

    env_path = os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "MPLBACKEND")}
    os.environ["PYTHONPATH"] = env_path
    # The kernel's own inline backend: figures become image/png outputs.
    os.environ.pop("MPLBACKEND", None)
    try:
        nb = nbformat.read(path, as_version=4)
        client = nbclient.NotebookClient(
            nb, timeout=timeout, kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def main(argv: Sequence[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook here")
    args = parser.parse_args(argv)
    import nbformat

    paths = args.notebooks or sorted(HERE.glob("*.ipynb"))
    for path in paths:
        nb = execute(path)
        # Execution times and kernel ids would change every run: keep the diff small.
        for cell in nb.cells:
            cell.metadata.pop("execution", None)
        nbformat.write(nb, path)
        print(f"executed {path}", file=sys.stderr)
    return list(paths)


if __name__ == "__main__":
    main()
