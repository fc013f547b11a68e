"""Every docstring Example in the package runs (numpydoc examples are doctests)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import matchcore

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(matchcore.__path__, prefix="matchcore.")
    if not m.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    failures, _ = doctest.testmod(
        module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    assert failures == 0
