"""Login (password, then TOTP; enrolment at the first login), logout, changing one's password, and registration
of the auth area. Every login, failed login (unknown names too) and logout is in the audit trail."""
from __future__ import annotations

import logging
import time
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from markupsafe import Markup

from incident_service import clock
from incident_service.audit import recorder
from incident_service.auth import admin, displays, guards, mfa, service
from incident_service.auth.decorators import require
from incident_service.auth.forms import CodeForm, EnrolForm, LoginForm, PasswordChangeForm
from incident_service.auth.models import User
from incident_service.auth.permissions import Permission
from incident_service.auth.service import LoginFailed
from incident_service.errors import ValidationFailed
from incident_service.extensions import db, limiter, login_manager
from incident_service.textcheck import one_line

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)
PENDING_SECONDS = 300  # between the password and the code


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _lock_settings() -> dict:
    return {"max_failures": current_app.config["LOGIN_MAX_FAILURES"],
            "lock_minutes": current_app.config["LOGIN_LOCK_MINUTES"]}


MAX_NEXT = 2000


def _safe_next(target: str | None) -> str:
    """Only a local path (``/…``): an open redirect would let a phishing link bounce through our login page.

    Refused, whatever a browser would make of them: schemes and hosts (``https://x``, ``//x``), backslashes
    (``/\\x``, which browsers read as ``//x``), and any whitespace or control character (``/\t/x`` loses its tab).
    """
    if not target or len(target) > MAX_NEXT or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ch.isspace() or ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return "/"
    return urlunsplit(("", "", parts.path, parts.query, parts.fragment))


def _audit_login(action: str, *, user: User | None = None, username: str | None = None, reason: str | None = None,
                 step: str | None = None) -> None:
    """A login, failed login or logout in the trail (committed here: it must not depend on what follows)."""
    details = {"username": one_line(username or (user.username if user else ""), limit=80)}
    if reason:
        details["reason"] = one_line(reason, limit=200)
    if step:
        details["step"] = step
    if user is not None:
        recorder.add(db.session, action=action, record_type="users", record_id=user.id, details=details,
                     actor=user.username, actor_id=user.id)
    else:
        recorder.add(db.session, action=action, record_type="users", details=details)
    db.session.commit()


def _refused(failure: LoginFailed, template: str, *, username: str | None = None, step: str, **context):
    log.info("login refused: %s (from %s)", failure.reason, request.remote_addr)
    db.session.rollback()
    _audit_login("login_failed", username=username, reason=failure.reason, step=step)
    flash(_(failure.message), "error")  # one message for every refusal (AUTH-401), or the unreadable key's (AUTH-KEY)
    return render_template(template, **context), 401


def _signed_in(user: User, next_url: str | None):
    session.clear()  # nothing from before the login survives it
    login_user(user)
    guards.start_session(user)
    _audit_login("login", user=user)
    return redirect(_safe_next(next_url))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        now = clock.now()
        try:
            user = service.check_password(session=db.session, username=form.username.data,
                                          password=form.password.data, now=now, **_lock_settings())
        except LoginFailed as failure:
            return _refused(failure, "auth/login.html", username=form.username.data, step="password", form=form)
        if current_app.config["MFA_REQUIRED"] or user.mfa_enrolled:
            session["_mfa_user"], session["_mfa_started"] = user.id, time.time()
            session["_mfa_epoch"] = user.session_epoch
            session["_mfa_next"] = _safe_next(request.args.get("next"))
            return redirect(url_for("auth.mfa" if user.mfa_enrolled else "auth.mfa_setup"))
        service.login_without_second_factor(session=db.session, user=user, now=now)
        return _signed_in(user, request.args.get("next"))
    return render_template("auth/login.html", form=form), 422 if form.errors else 200


def _pending_user() -> User | None:
    user_id, started = session.get("_mfa_user"), session.get("_mfa_started", 0)
    if not user_id or time.time() - started > PENDING_SECONDS:
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.is_active or session.get("_mfa_epoch") != user.session_epoch:
        return None  # disabled, reset or logged out everywhere since the password step
    return user


def _back_to_login():
    flash(_("Log in with your password first. (AUTH-440)"), "error")
    return redirect(url_for("auth.login"))


@bp.route("/login/mfa", methods=["GET", "POST"], endpoint="mfa")
@limiter.limit(_login_limit, methods=["POST"])
def mfa_view():
    user = _pending_user()
    if user is None:
        return _back_to_login()
    if not user.mfa_enrolled:
        return redirect(url_for("auth.mfa_setup"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            used_recovery = mfa.verify_second_factor(session=db.session, user=user, code=form.code.data,
                                                     now=clock.now(), **_lock_settings())
        except LoginFailed as failure:
            return _refused(failure, "auth/mfa.html", username=user.username, step="code", form=form)
        next_url = session.get("_mfa_next")
        response = _signed_in(user, next_url)
        if used_recovery:
            flash(_("You used a recovery code; %(n)s are left. (AUTH-RECOVERY)", n=len(user.recovery_codes)), "warning")
        return response
    return render_template("auth/mfa.html", form=form), 422 if form.errors else 200


@bp.route("/login/mfa/setup", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def mfa_setup():
    user = _pending_user()
    if user is None:
        return _back_to_login()
    if user.mfa_enrolled:
        return redirect(url_for("auth.mfa"))
    secret = session.get("_mfa_new_secret") or mfa.new_secret()
    session["_mfa_new_secret"] = secret
    form = EnrolForm()
    if form.validate_on_submit():
        try:
            codes = mfa.enroll(session=db.session, user=user, secret=secret, code=form.code.data, now=clock.now(),
                               reset_code=form.reset_code.data, **_lock_settings())
        except LoginFailed as failure:
            return _refused(failure, "auth/mfa_setup.html", username=user.username, step="enrolment",
                            **_setup_context(user, secret, form))
        next_url = _safe_next(session.get("_mfa_next"))
        _signed_in(user, next_url)
        return render_template("auth/recovery_codes.html", codes=codes, next_url=next_url)
    return render_template("auth/mfa_setup.html", **_setup_context(user, secret, form)), 422 if form.errors else 200


def _setup_context(user: User, secret: str, form: EnrolForm) -> dict:
    uri = mfa.provisioning_uri(secret, username=user.username, issuer=current_app.config["MFA_ISSUER"])
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return {"form": form, "qr_svg": Markup(mfa.qr_svg(uri)), "secret": grouped, "user": user,
            "needs_reset_code": mfa.needs_reset_code(user)}


@bp.route("/logout", methods=["POST"])
def logout():
    """Ends this session and every other session of the user (their session epoch moves on)."""
    if current_user.is_authenticated:
        user = db.session.get(User, current_user.id)
        service.end_sessions(db.session, user.id)
        db.session.commit()
        _audit_login("logout", user=db.session.get(User, user.id))
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.get("/display/<token>")
@limiter.limit(_login_limit)
def display_start(token: str):
    """A wall screen opens its link once: the key becomes a display session (read-only, the wall board only) and
    leaves the address bar."""
    display = displays.live_display(session=db.session, presented=token, now=clock.now())
    if display is None:
        log.info("display: invalid or revoked key from %s", request.remote_addr)
        return render_template("errors/error.html", status=403, code="AUTH-DISPLAY",
                               message=_("This wall display's key is not valid or was revoked."), errors={}), 403
    if current_user.is_authenticated:
        logout_user()
    session.clear()
    session[guards.DISPLAY_SESSION] = display.id
    session.permanent = True
    recorder.add(db.session, action="login", record_type="display_tokens", record_id=display.id,
                 details={"display": display.name}, actor=display.actor_name)
    db.session.commit()
    return redirect(url_for("reporting_web.board_page", wall=1))


@bp.route("/account/password", methods=["GET", "POST"])
@require(Permission.read)
@limiter.limit(_login_limit, methods=["POST"])
def change_password():
    """Your own password: the current one, and a code from your authenticator when you have one. Every other
    session of yours ends; this one goes on."""
    user = db.session.get(User, current_user.id)
    form = PasswordChangeForm()
    if form.validate_on_submit():
        now, settings = clock.now(), _lock_settings()
        try:
            if service.is_locked(user, now) or not service.password_matches(user, form.current_password.data):
                if not service.is_locked(user, now):
                    service.note_failure(db.session, user, now=now, **settings)
                    db.session.commit()
                raise LoginFailed(f"password change: wrong current password for {user.username} (or locked)")
            if user.mfa_enrolled:
                mfa.check_totp(session=db.session, user=user, code=form.code.data or "", now=now, **settings)
            service.set_password(session=db.session, user=user, password=form.new_password.data, now=now)
        except LoginFailed as failure:
            log.info("password change refused: %s (from %s)", failure.reason, request.remote_addr)
            db.session.rollback()
            _audit_login("password_refused", user=user, reason=failure.reason)
            form.current_password.errors = [_(failure.message)]
            return render_template("auth/password.html", form=form, user=user), 401
        except ValidationFailed as error:
            db.session.rollback()
            form.new_password.errors = [m for ms in error.errors.values() for m in ms]
            return render_template("auth/password.html", form=form, user=user), 422
        guards.start_session(db.session.get(User, user.id), keep_login_time=True)
        flash(_("Your password is changed; your other sessions are logged out."), "info")
        return redirect(url_for("auth.change_password"))
    status = 422 if form.errors else 200
    return render_template("auth/password.html", form=form, user=user), status


def register(app: Flask) -> None:
    if app.config.get("PRODUCTION") and not app.config.get("MFA_REQUIRED"):
        raise RuntimeError("MFA_REQUIRED cannot be turned off in production.")
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=app.config["SESSION_MAX_HOURS"])
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"

    @login_manager.user_loader
    def _load(user_id: str) -> User | None:
        user = db.session.get(User, int(user_id)) if user_id.isdigit() and len(user_id) < 10 else None
        # A session from before the user's last logout, disabling, MFA reset or password change is over.
        if user is None or not user.is_active or session.get("_epoch") != user.session_epoch:
            return None
        return user

    guards.register(app)

    app.register_blueprint(bp)
    app.register_blueprint(admin.bp)
