"""Categories of community needs and resources, and how well they fit.

A :class:`Taxonomy` gives the *affinity* of a resource category for a need
category: 1 for the same category, a partial value for related ones, 0 when
the resource cannot serve the need at all (no candidate edge is built).
"""

from __future__ import annotations

import json
import numbers
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..categories import DEFAULT_CATEGORIES, category_key, default_category_map
from ..errors import InputError

__all__ = ["DEFAULT_CATEGORIES", "Taxonomy"]

# (need category, resource category, affinity) pairs of the default taxonomy;
# each pair is used in both directions unless it appears twice.
_DEFAULT_RELATED: tuple[tuple[str, str, float], ...] = (
    ("elderly_care", "medical", 0.6),
    ("elderly_care", "disability_support", 0.7),
    ("elderly_care", "cleaning", 0.4),
    ("elderly_care", "psychological_support", 0.4),
    ("elderly_care", "community_service", 0.5),
    ("disability_support", "medical", 0.6),
    ("disability_support", "community_service", 0.5),
    ("childcare", "education", 0.6),
    ("childcare", "community_service", 0.4),
    ("education", "culture_sport", 0.4),
    ("education", "employment", 0.3),
    ("repair", "cleaning", 0.3),
    ("repair", "community_service", 0.4),
    ("cleaning", "environment", 0.6),
    ("cleaning", "community_service", 0.4),
    ("legal_aid", "psychological_support", 0.3),
    ("legal_aid", "employment", 0.3),
    ("medical", "psychological_support", 0.5),
    ("employment", "community_service", 0.3),
    ("culture_sport", "venue", 0.5),
    ("environment", "safety_patrol", 0.3),
    ("environment", "community_service", 0.4),
    ("safety_patrol", "community_service", 0.4),
)


@dataclass(frozen=True)
class Taxonomy:
    """Affinities between need categories and resource categories.

    Parameters
    ----------
    affinities : mapping of (need category, resource category) to float
        Affinity in [0, 1] of a resource of the second category for a need of
        the first. The same category always has affinity 1 unless set here;
        pairs not listed are 0 (incompatible).
    names : mapping of str to str, optional
        Display names (e.g. Chinese) of categories.
    aliases : mapping of str to str, optional
        Other words for categories, ``{word: category}``. Validation
        (:func:`matchcore.read_needs` and friends, given this taxonomy)
        rewrites a cell that is a word, a display name or a category (compared
        by :func:`~matchcore.categories.category_key`: NFKC, case, spaces) to
        the category. The default Chinese names and synonyms of
        :data:`~matchcore.categories.CATEGORY_ALIASES` apply to every default
        category this taxonomy has; ``aliases`` adds to them and wins.

    Notes
    -----
    A taxonomy's *categories* are those of its ``names``, its ``affinities``
    and the targets of its ``aliases``. A taxonomy without any
    (:meth:`exact`) is open: any category is accepted as written. Only a
    taxonomy whose ``names`` name all its categories (:attr:`is_closed`, as
    the default) warns about a category outside them.

    Examples
    --------
    >>> from matchcore import Taxonomy
    >>> tax = Taxonomy.default()
    >>> tax.affinity("elderly_care", "medical")
    0.6
    >>> tax.affinity("repair", "repair")
    1.0
    >>> Taxonomy({("repair", "cleaning"): 0.5}).affinity("cleaning", "repair")
    0.0
    >>> tax.category_map()["养老"]
    'elderly_care'
    """

    affinities: Mapping[tuple[str, str], float] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        bad = [
            f"({a!r}, {b!r}): {v!r}"
            for (a, b), v in self.affinities.items()
            # Booleans are not numbers: True is not an affinity of 1.
            if not (isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))
                    and 0.0 <= float(v) <= 1.0)
        ]
        if bad:
            raise InputError(
                "taxonomy affinities must be numbers from 0 to 1; got " + ", ".join(bad[:20])
            )
        bad = [
            f"{k!r}: {v!r}"
            for k, v in self.aliases.items()
            if not (isinstance(k, str) and isinstance(v, str) and k.strip() and v.strip())
        ]
        if bad:
            raise InputError(
                "taxonomy aliases must map non-empty words to categories (str); got "
                + ", ".join(bad[:20])
            )

    @property
    def categories(self) -> frozenset[str]:
        """The categories this taxonomy knows (empty: an open taxonomy).

        Examples
        --------
        >>> sorted(Taxonomy({("repair", "cleaning"): 0.5}).categories)
        ['cleaning', 'repair']
        """
        cats = set(self.names)
        for a, b in self.affinities:
            cats.update((a, b))
        cats.update(self.aliases.values())
        return frozenset(cats)

    @property
    def is_closed(self) -> bool:
        """Whether ``names`` names every category, so that others are reported.

        Such a taxonomy (the default one) declares its vocabulary: validation
        warns about a category outside it. One that only lists related pairs,
        or names some of its categories only, also serves categories it does
        not mention (identical ones match), so validation does not warn.

        Examples
        --------
        >>> Taxonomy.default().is_closed, Taxonomy({("repair", "cleaning"): 0.5}).is_closed
        (True, False)
        """
        return bool(self.names) and set(self.names) >= self.categories

    def category_map(self) -> dict[str, str]:
        """Every word of this taxonomy's categories: ``{category_key(word): category}``.

        The default words of the default categories it has, its display
        names, its ``aliases`` and the categories themselves (in that order of
        precedence, the last winning). Empty for an open taxonomy.

        Examples
        --------
        >>> Taxonomy({("repair", "cleaning"): 0.5}).category_map()["保洁"]
        'cleaning'
        >>> Taxonomy.exact().category_map()
        {}
        """
        cats = self.categories
        out = default_category_map(cats)
        for cat, name in self.names.items():
            out[category_key(str(name))] = cat
        for word, cat in self.aliases.items():
            out[category_key(word)] = cat
        for cat in cats:
            out[category_key(cat)] = cat
        return out

    @classmethod
    def default(cls) -> Taxonomy:
        """The default community taxonomy (symmetric related pairs).

        Examples
        --------
        >>> Taxonomy.default().affinity("childcare", "education")
        0.6
        """
        aff: dict[tuple[str, str], float] = {}
        for a, b, v in _DEFAULT_RELATED:
            aff[(a, b)] = v
            aff.setdefault((b, a), v)
        return cls(aff, dict(DEFAULT_CATEGORIES))

    @classmethod
    def exact(cls) -> Taxonomy:
        """A taxonomy in which only identical categories are compatible.

        Examples
        --------
        >>> Taxonomy.exact().affinity("medical", "elderly_care")
        0.0
        """
        return cls({}, {})

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, symmetric: bool = False) -> Taxonomy:
        """Build from a frame with columns ``need_category``, ``resource_category``, ``affinity``.

        Parameters
        ----------
        frame : pandas.DataFrame
            One row per related pair.
        symmetric : bool, default False
            Also add each pair in the other direction (unless listed).

        Examples
        --------
        >>> import pandas as pd
        >>> t = Taxonomy.from_frame(pd.DataFrame({"need_category": ["a"],
        ...     "resource_category": ["b"], "affinity": [0.5]}), symmetric=True)
        >>> t.affinity("b", "a")
        0.5
        """
        need_col = {"need_category", "需求类别"} & set(frame.columns)
        res_col = {"resource_category", "资源类别"} & set(frame.columns)
        if not need_col or not res_col or "affinity" not in frame.columns:
            raise InputError(
                "a taxonomy table needs columns need_category, resource_category and "
                f"affinity; got {list(frame.columns)}"
            )
        nc, rc = need_col.pop(), res_col.pop()
        aff: dict[tuple[str, str], float] = {}
        problems = []
        for pos, (a, b, v) in enumerate(zip(frame[nc], frame[rc], frame["affinity"])):
            try:
                val = float(v)
            except (TypeError, ValueError):
                val = float("nan")
            if not 0.0 <= val <= 1.0:
                problems.append(f"row {pos + 1}: affinity must be from 0 to 1; got {v!r}")
                continue
            aff[(str(a).strip(), str(b).strip())] = val
        if problems:
            raise InputError("bad taxonomy table:\n  - " + "\n  - ".join(problems[:20]))
        if symmetric:
            for (a, b), v in list(aff.items()):
                aff.setdefault((b, a), v)
        return cls(aff)

    @classmethod
    def from_file(cls, path: str | os.PathLike, *, symmetric: bool = False) -> Taxonomy:
        """Read a taxonomy from CSV/Excel (see :meth:`from_frame`) or JSON.

        JSON is either a list of ``{"need_category", "resource_category",
        "affinity"}`` records or ``{"need category": {"resource category": affinity}}``.

        Examples
        --------
        >>> import json, tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "tax.json"
        >>> _ = p.write_text(json.dumps({"repair": {"cleaning": 0.5}}))
        >>> Taxonomy.from_file(p).affinity("repair", "cleaning")
        0.5
        """
        p = Path(path)
        if p.suffix.lower() == ".json":
            from ..io import decode_text

            data = json.loads(decode_text(p.read_bytes(), str(p)))
            if isinstance(data, dict):
                rows = [
                    {"need_category": a, "resource_category": b, "affinity": v}
                    for a, inner in data.items()
                    for b, v in inner.items()
                ]
                return cls.from_frame(pd.DataFrame(rows, columns=[
                    "need_category", "resource_category", "affinity"]), symmetric=symmetric)
            return cls.from_frame(pd.DataFrame(data), symmetric=symmetric)
        from ..io import read_table

        frame, _ = read_table(p)
        return cls.from_frame(frame, symmetric=symmetric)

    def affinity(self, need_category: str, resource_category: str) -> float:
        """Affinity of a resource category for a need category, in [0, 1]."""
        value = self.affinities.get((need_category, resource_category))
        if value is not None:
            return float(value)
        return 1.0 if need_category == resource_category else 0.0

    def matrix(
        self, need_categories: Iterable[str], resource_categories: Iterable[str]
    ) -> np.ndarray:
        """Affinity matrix, shape ``(n_need_categories, n_resource_categories)``.

        Examples
        --------
        >>> Taxonomy.default().matrix(["repair"], ["repair", "venue"]).tolist()
        [[1.0, 0.0]]
        """
        rows = list(need_categories)
        cols = list(resource_categories)
        return np.array(
            [[self.affinity(a, b) for b in cols] for a in rows], dtype=float
        ).reshape(len(rows), len(cols))

    def to_frame(self) -> pd.DataFrame:
        """The related pairs as a frame (need_category, resource_category, affinity)."""
        rows = sorted((a, b, float(v)) for (a, b), v in self.affinities.items())
        return pd.DataFrame(rows, columns=["need_category", "resource_category", "affinity"])
