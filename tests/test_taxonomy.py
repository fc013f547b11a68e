"""Taxonomy: defaults, exact, custom tables (Chinese headers too), matrix, to_frame."""

from __future__ import annotations

import pandas as pd

import matchcore as mc
from matchcore.model.taxonomy import DEFAULT_CATEGORIES


def test_default_is_symmetric_and_names_every_category():
    tax = mc.Taxonomy.default()
    for (a, b), v in tax.affinities.items():
        assert 0 < v <= 1
        assert tax.affinity(b, a) == v
    assert set(tax.names) == set(DEFAULT_CATEGORIES)
    for c in DEFAULT_CATEGORIES:
        assert tax.affinity(c, c) == 1.0


def test_from_frame_with_chinese_headers_and_to_frame():
    frame = pd.DataFrame({"需求类别": ["repair"], "资源类别": [" cleaning "], "affinity": ["0.5"]})
    tax = mc.Taxonomy.from_frame(frame)
    assert tax.affinity("repair", "cleaning") == 0.5
    assert tax.to_frame().values.tolist() == [["repair", "cleaning", 0.5]]


def test_matrix():
    tax = mc.Taxonomy({("a", "b"): 0.25})
    assert tax.matrix(["a", "b"], ["a", "b", "c"]).tolist() == [[1.0, 0.25, 0.0],
                                                              [0.0, 1.0, 0.0]]
    assert tax.matrix([], ["a"]).shape == (0, 1)


def test_category_words_and_closed_vocabularies():
    tax = mc.Taxonomy.default()
    assert tax.is_closed and tax.categories == frozenset(DEFAULT_CATEGORIES)
    words = tax.category_map()
    assert words["养老服务"] == words["助老"] == words["elderly_care"] == "elderly_care"
    # A taxonomy of pairs gets the default words of its own categories only, plus its own.
    pairs = mc.Taxonomy({("repair", "cleaning"): 0.5}, {"repair": "维修"}, aliases={"修": "repair"})
    assert not pairs.is_closed  # names only some of its categories: no warnings about others
    assert set(pairs.category_map().values()) == {"repair", "cleaning"}
    assert pairs.category_map()["修"] == "repair"
    assert mc.Taxonomy.exact().category_map() == {}
    # Aliases survive the options' JSON round trip.
    opts = mc.MatchOptions(taxonomy=pairs)
    assert mc.MatchOptions.from_dict(opts.to_dict()).taxonomy == pairs


def test_bad_aliases():
    import pytest

    with pytest.raises(mc.InputError, match="taxonomy aliases must map non-empty words"):
        mc.Taxonomy({}, aliases={"": "repair"})
