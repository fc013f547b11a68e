"""The ``matchcore`` command: :mod:`.main` (demo, match, generate, validate, explain),
:mod:`.ledger` (``matchcore ledger ...``) and :mod:`.common` (what they share)."""

from __future__ import annotations

from .main import build_parser, main

__all__ = ["build_parser", "main"]
