"""The application the engine's jobs run in. APScheduler calls jobs by reference with plain arguments,
so the app cannot be passed to them: the engine binds it here once, and every job module looks it up.

Bound with it: whether the engine is stopping (a SIGTERM: jobs finish what they hold and start nothing new) and
whether it is the active engine (the one that runs the calendar jobs; every engine fires alerts and delivers)."""
from __future__ import annotations

import threading
from collections.abc import Callable

from flask import Flask

_APP: Flask | None = None
_STOPPING = threading.Event()
_IS_ACTIVE: Callable[[], bool] = lambda: True  # noqa: E731 - one engine alone (or a test) is the active one


def bind_engine_app(app: Flask, *, stopping: threading.Event | None = None,
                    is_active: Callable[[], bool] | None = None) -> None:
    global _APP, _STOPPING, _IS_ACTIVE
    _APP = app
    _STOPPING = stopping or threading.Event()
    _IS_ACTIVE = is_active or (lambda: True)


def current_engine_app() -> Flask:
    if _APP is None:
        raise RuntimeError("the clock engine has no application: start it with `flask --app wsgi scheduler`")
    return _APP


def engine_stopping() -> bool:
    return _STOPPING.is_set()


def engine_is_active() -> bool:
    return _IS_ACTIVE()
