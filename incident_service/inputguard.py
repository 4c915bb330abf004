"""Input no column, parser or page can take, refused with a 4xx for every endpoint alike, before a handler runs.

No input may produce a 5xx. What the schemas cannot see is checked here: a JSON body nested too deep (the
parser would recurse until it fails), a body that is not JSON, numbers the database cannot hold, NUL characters
and lone surrogates (PostgreSQL text cannot hold them), non-finite numbers, a garbage ``If-Match``, and query
parameters an endpoint does not document. Web pages get the same checks on their query strings (a page's form
fields are checked by the forms and the schemas they share with the API).
"""
from __future__ import annotations

import math
from typing import Any

from flask import Flask, Request, request

from incident_service.errors import error_response
from incident_service.textcheck import text_problem

INT32_MAX, INT64_MAX = 2**31 - 1, 2**63 - 1
MAX_DIGITS = 30  # longer digit strings are never a number we store (and int() of 4,300+ digits raises)
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def id_like(name: str) -> bool:
    return name == "id" or name.endswith(("_id", "_ids")) or name in ("page", "page_size")


def unstorable(name: str, value: Any) -> str | None:
    """Why the database could not take this value, if so: ids are 32-bit integers, other numbers 64-bit finite,
    and text holds no NUL character and no lone surrogate."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and abs(value) > (INT32_MAX if id_like(name) else INT64_MAX):
        return "Number too large."
    if isinstance(value, float) and not math.isfinite(value):
        return "Not a finite number."
    if isinstance(value, str):
        problem = text_problem(value, one_line=False)
        if problem:
            return problem
    return None


def query_value_problem(name: str, value: str) -> str | None:
    """A query-string value: one line of text; a number only as large as what it filters."""
    number = value.strip()
    if number.lstrip("+-").isdigit():
        if len(number) > MAX_DIGITS:
            return "Number too large."
        return unstorable(name, int(number))
    return text_problem(value, one_line=True)


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether JSON text nests arrays/objects deeper than ``limit`` (scanned, not parsed: parsing is the danger)."""
    depth, in_string, escaped = 0, False, False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def body_problem(request: Request, max_depth: int) -> tuple[int, str, str] | None:
    """(status, code, message) for a body that is not JSON, or is JSON too deep or not readable; else None."""
    if request.method not in WRITE_METHODS:
        return None
    body = request.get_data(cache=True)
    if not body.strip():
        return None
    if not request.is_json:
        return 415, "unsupported_media_type", "Send JSON (Content-Type: application/json)."
    if json_depth_exceeds(body, max_depth):
        return 400, "bad_request", f"The JSON body nests deeper than {max_depth} levels."
    if request.get_json(silent=True) is None and body.strip() != b"null":
        return 400, "bad_request", "The body is not valid JSON (UTF-8)."
    return None


def json_errors(value: Any) -> dict[str, list[str]]:
    """Every value (and key) of a parsed JSON body that no column could take, by its path."""
    errors: dict[str, list[str]] = {}
    stack = [("", "", value)]
    while stack:
        path, name, item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                where = f"{path}.{key}" if path else str(key)
                if problem := text_problem(str(key), one_line=True):
                    errors[where.encode("utf-8", "backslashreplace").decode("utf-8")] = [f"Field name: {problem}"]
                    continue
                stack.append((where, str(key), child))
        elif isinstance(item, list):
            stack.extend((f"{path}.{i}" if path else str(i), name, v) for i, v in enumerate(item))
        elif reason := unstorable(name, item):
            errors[path or "body"] = [reason]
    return errors


def query_errors(args, allowed: frozenset[str] | None) -> dict[str, list[str]]:
    """Query parameters: unknown ones (when the endpoint's documented set is known) and unstorable values."""
    errors: dict[str, list[str]] = {}
    for name, value in args.items(multi=True):
        shown = name.encode("utf-8", "backslashreplace").decode("utf-8")[:80]
        if allowed is not None and name not in allowed:
            errors[f"query.{shown}"] = ["Unknown parameter."]
        elif reason := query_value_problem(name, value):
            errors[f"query.{shown}"] = [reason]
    return errors


def if_match_problem(header: str | None) -> str | None:
    """``If-Match`` carries a version: ``"3"``, ``W/"3"``, ``3`` or ``*``; anything else is refused."""
    if header is None:
        return None
    raw = header.strip()
    if raw == "*":
        return None
    raw = raw.removeprefix("W/").strip('"')
    if raw.isdigit() and len(raw) <= 18:
        return None
    return 'Send the version you read, e.g. If-Match: "3".'


def refuse_bad_page_query():
    """A page's query string (filters, page numbers): one line of text, numbers the database can take."""
    if request.path.startswith("/api/"):
        return None  # the API guard checks these, with the endpoint's documented parameters
    errors = query_errors(request.args, None)
    if errors:
        return error_response(400, "bad_query", "The address holds a value this page cannot use.", errors)
    return None


def register(app: Flask) -> None:
    app.before_request(refuse_bad_page_query)
