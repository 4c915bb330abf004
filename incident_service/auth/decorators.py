"""Guards for web views: log in first, then hold the permission."""
from __future__ import annotations

from functools import wraps

from flask import abort, redirect, request, url_for
from flask_login import current_user

from incident_service.auth.permissions import Permission, user_can


def require(permission: Permission):
    """Web view guard: not logged in → the login page; logged in without the permission → 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return redirect(url_for("auth.login", next=request.full_path))
            if not user_can(current_user, permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
