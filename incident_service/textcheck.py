"""What text the service accepts: one-line fields (titles, names, references) hold no line breaks or control
characters, and no text holds NUL or a lone surrogate (PostgreSQL cannot store them; mail headers, CSV cells and
logs must not be split or steered by a value). The API's fields, the web forms and the services share these rules.
"""
from __future__ import annotations

from wtforms import ValidationError

LINE_BREAKS = frozenset("\r\n\v\f\x85\u2028\u2029")
TEXT_CONTROLS_ALLOWED = frozenset("\t\r\n")

NUL = "Text may not contain NUL characters."
SURROGATE = "Text may not contain invalid Unicode (a lone surrogate)."
LINE_BREAK = "Give one line: no line breaks."
CONTROL = "Text may not contain control characters."


def text_problem(value: str, *, one_line: bool) -> str | None:
    """Why ``value`` is refused, or None. Multi-line text may hold tabs and line breaks, nothing else below space."""
    for ch in value:
        code = ord(ch)
        if code == 0:
            return NUL
        if 0xD800 <= code <= 0xDFFF:
            return SURROGATE
        if one_line and ch in LINE_BREAKS:
            return LINE_BREAK
        if code < 0x20 or code == 0x7F:
            if one_line or ch not in TEXT_CONTROLS_ALLOWED:
                return CONTROL
        elif one_line and 0x80 <= code < 0xA0:
            return CONTROL
    return None


def one_line(value: str, *, limit: int | None = None) -> str:
    """A value made safe for one line of a header, subject or log: control characters become spaces."""
    cleaned = "".join(" " if (ord(ch) < 0x20 or ord(ch) == 0x7F or ch in LINE_BREAKS or 0xD800 <= ord(ch) <= 0xDFFF
                              or 0x80 <= ord(ch) < 0xA0) else ch for ch in value)
    cleaned = " ".join(cleaned.split())
    return cleaned[:limit] if limit else cleaned


# -- the same rules as WTForms validators, for the web forms ---------------------------------------------------

class OneLine:
    """A one-line text field: no line breaks, control characters, NUL or invalid Unicode."""

    def __call__(self, form, field) -> None:
        if isinstance(field.data, str) and (problem := text_problem(field.data, one_line=True)):
            raise ValidationError(problem)


class NoNul:
    """Free text (or a password): no NUL or invalid Unicode; tabs and line breaks are fine."""

    def __call__(self, form, field) -> None:
        if isinstance(field.data, str) and (problem := text_problem(field.data, one_line=False)):
            raise ValidationError(problem)
