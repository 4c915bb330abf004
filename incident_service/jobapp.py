"""The application the engine's jobs run in. APScheduler calls jobs by reference with plain arguments,
so the app cannot be passed to them: the engine binds it here once, and every job module looks it up."""
from __future__ import annotations

from flask import Flask

_APP: Flask | None = None


def bind_engine_app(app: Flask) -> None:
    global _APP
    _APP = app


def current_engine_app() -> Flask:
    if _APP is None:
        raise RuntimeError("the clock engine has no application: start it with `flask --app wsgi scheduler`")
    return _APP
