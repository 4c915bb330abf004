"""Sentences that the domain says to people (why a figure cannot be computed yet, ...), kept translatable.

A ``Phrase`` is the English sentence itself (a ``str``: the API, the logs and the tests read it as before) that also
remembers its message id and values, so a web page can say it in the page's language. ``N_`` marks the message id
for ``pybabel extract`` (one of its default keywords) without the domain importing any translation machinery.
"""
from __future__ import annotations

from typing import Any


class Phrase(str):
    parts: tuple[tuple[str, dict[str, Any]], ...]

    def __new__(cls, msgid: str, /, **params: Any) -> Phrase:
        self = super().__new__(cls, msgid % params if params else msgid)
        self.parts = ((msgid, params),)
        return self


def join(*phrases: str | None) -> str | None:
    """Several sentences as one (``None`` and empty ones left out); each part stays translatable."""
    kept = [p for p in phrases if p]
    if not kept:
        return None
    joined = str.__new__(Phrase, " ".join(kept))
    joined.parts = tuple(part for p in kept for part in (getattr(p, "parts", None) or ((str(p), {}),)))
    return joined


N_ = Phrase
