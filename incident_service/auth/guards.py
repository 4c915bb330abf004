"""Session rules for every request: idle and absolute time-outs, login before any page, security headers.

Session times are wall-clock seconds (``time.time()``), not the service's domain clock: tests move the domain
clock by hours to make deadlines fall due, and that must not log the test user out.
"""
from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from incident_service import clock
from incident_service.auth.displays import live_display
from incident_service.extensions import db

# Pages anyone may open (the login steps; static files; the API's own guard handles /api).
PUBLIC_WEB_ENDPOINTS = frozenset({"auth.login", "auth.mfa", "auth.mfa_setup", "auth.logout", "auth.display_start", "static"})
# What a wall display's session may open: the board (in wall mode) and its feed; nothing else.
DISPLAY_ENDPOINTS = frozenset({"reporting_web.board_page", "reporting_web.board_feed"})
DISPLAY_SESSION = "_display_id"
SWAGGER_UI_ENDPOINT = "api-docs.openapi_swagger_ui"
SWAGGER_UI_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                  "script-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'")


def start_session(user, *, keep_login_time: bool = False) -> None:
    """Stamp a fresh login (called right after ``login_user``), with the user's current session epoch: the
    server ends the session when the epoch moves on (logout anywhere, disabled, MFA reset, password change)."""
    now = time.time()
    if not keep_login_time or "_login_at" not in session:
        session["_login_at"] = now
    session["_last_seen"] = now
    session["_epoch"] = user.session_epoch
    session.permanent = True


def expire_idle_sessions() -> None:
    # ``g`` lives in the app context, which tests keep open across requests: start every request clean
    # (in production each request has its own context, and this does nothing).
    for key in ("actor_name", "actor_id", "actor_user", "session_expired", "session_ended", "denied_permission",
                "_login_user", "csrf_token"):
        g.pop(key, None)
    if "_user_id" not in session:
        return
    now = time.time()
    config = current_app.config
    login_at, last_seen = session.get("_login_at"), session.get("_last_seen")
    if (login_at is None or last_seen is None or now - last_seen > config["SESSION_IDLE_MINUTES"] * 60
            or now - login_at > config["SESSION_MAX_HOURS"] * 3600):
        logout_user()
        session.clear()
        g.session_expired = True
        return
    if not current_user.is_authenticated:  # the user loader refused it: ended on the server, or user disabled
        logout_user()
        session.clear()
        g.session_ended = True
        return
    session["_last_seen"] = now


def who_acts() -> None:
    if current_user.is_authenticated:
        g.actor_name, g.actor_id, g.actor_user = current_user.username, current_user.id, current_user._get_current_object()


def login_before_any_page():
    """Every page but the login steps needs a login; ``require`` then checks the permission."""
    endpoint = request.endpoint
    if endpoint is None or request.path.startswith("/api/") or endpoint in PUBLIC_WEB_ENDPOINTS:
        return None
    if current_user.is_authenticated:
        return None
    if DISPLAY_SESSION in session:
        return _display_only(endpoint)
    if g.get("session_expired"):
        flash(_("Your session ended after inactivity: log in again. (AUTH-440)"), "error")
    elif g.get("session_ended"):
        flash(_("Your session was ended (logged out, or your account changed): log in again. (AUTH-441)"), "error")
    # A form sent after the session ended goes back to its page after the login (its input is kept in the browser).
    return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else _form_page()))


def _form_page() -> str | None:
    """The local page a refused form was on (its Referer), so the login leads back to it."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc and referrer.netloc != request.host:
        return None
    return referrer.path + (f"?{referrer.query}" if referrer.query else "") if referrer.path.startswith("/") else None


def _display_only(endpoint: str):
    """A wall display's session: the board in wall mode and its feed while its key is not revoked."""
    display = live_display(session=db.session, display_id=session.get(DISPLAY_SESSION), now=clock.now())
    if display is None:
        session.clear()
        flash(_("This wall display's key was revoked: an admin makes a new one. (AUTH-DISPLAY)"), "error")
        return redirect(url_for("auth.login"))
    g.display, g.actor_name, g.actor_id = display, display.actor_name, None
    if endpoint not in DISPLAY_ENDPOINTS:
        return redirect(url_for("reporting_web.board_page", wall=1))
    if endpoint == "reporting_web.board_page" and request.args.get("wall") != "1":
        return redirect(url_for("reporting_web.board_page", wall=1))
    return None


def security_headers(response):
    config = current_app.config
    headers = response.headers
    csp = SWAGGER_UI_CSP if request.endpoint == SWAGGER_UI_ENDPOINT else config["CONTENT_SECURITY_POLICY"]
    headers.setdefault("Content-Security-Policy", csp)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.endpoint not in ("static", "docs_assets.asset"):
        headers.setdefault("Cache-Control", "no-store")  # records must not linger in shared browsers' caches
    return response


def register(app: Flask) -> None:
    app.before_request(expire_idle_sessions)
    app.before_request(who_acts)
    app.before_request(login_before_any_page)
    app.after_request(security_headers)
