"""MkDocs hook: render the Sphinx roles of numpydoc docstrings in the API reference.

mkdocstrings renders ``:func:`read_needs``` as the text ``:func:`` followed by
``<code>read_needs</code>``. This hook drops the role, honours the ``~`` prefix (show
the last component only) and, for a dotted ``matchcore`` name, lets mkdocs-autorefs
link it when the object is documented (an *optional* reference: no warning otherwise).
"""

from __future__ import annotations

import html
import re
from typing import Any

_ROLE = re.compile(r":(?:func|class|meth|attr|data|mod|obj|exc):<code>(~?)([^<]+)</code>")


def _replace(match: re.Match[str]) -> str:
    tilde, target = match.group(1), html.unescape(match.group(2)).strip()
    shown = target.rsplit(".", 1)[-1] if tilde else target
    code = f"<code>{html.escape(shown)}</code>"
    if target.startswith("matchcore."):
        return f'<autoref identifier="{html.escape(target)}" optional>{code}</autoref>'
    return code


def on_page_content(html_text: str, **kwargs: Any) -> str:
    """Replace every ``:role:<code>target</code>`` in a page's HTML."""
    return _ROLE.sub(_replace, html_text)
