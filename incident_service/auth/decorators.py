"""Guards for web views: log in first, then hold the permission."""
from __future__ import annotations

from functools import wraps

from flask import abort, g, redirect, request, url_for
from flask_login import current_user

from incident_service.auth.permissions import Permission, user_can


def actor_can(permission: Permission) -> bool:
    """Whether whoever acts in this request (an API token's user, else the logged-in user) holds the permission:
    for rules that depend on the request's content, such as recording a backdated filing."""
    return user_can(g.get("actor_user") or current_user, permission)


def require(permission: Permission, *, display: bool = False):
    """Web view guard: not logged in → the login page; logged in without the permission → 403. ``display``: a wall
    display's session (``g.display``, set by the auth guards for the board's endpoints only) may open it too.

    The permission is kept on the view (``required_permission``), so the role-matrix test can find every
    guarded page and a page without a guard shows up.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if display and not current_user.is_authenticated and g.get("display") is not None:
                return view(*args, **kwargs)
            if not current_user.is_authenticated:
                return redirect(url_for("auth.login", next=request.full_path))
            if not user_can(current_user, permission):
                g.denied_permission = permission.value
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_permission = permission
        return wrapped

    return decorator
