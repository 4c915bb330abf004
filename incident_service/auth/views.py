"""Login (password, then TOTP; enrolment at the first login), logout, and registration of the auth area."""
from __future__ import annotations

import logging
import time
from datetime import timedelta

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from markupsafe import Markup

from incident_service import clock
from incident_service.auth import api_guard, guards, mfa, service
from incident_service.auth.forms import CodeForm, LoginForm
from incident_service.auth.models import User
from incident_service.auth.service import LoginFailed
from incident_service.extensions import db, limiter, login_manager

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)
PENDING_SECONDS = 300  # between the password and the code


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _lock_settings() -> dict:
    return {"max_failures": current_app.config["LOGIN_MAX_FAILURES"],
            "lock_minutes": current_app.config["LOGIN_LOCK_MINUTES"]}


def _safe_next(target: str | None) -> str:
    # Only local paths: an open redirect would let a phishing link bounce through our login page.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _refused(failure: LoginFailed, template: str, **context):
    log.info("login refused: %s (from %s)", failure.reason, request.remote_addr)
    flash(failure.message, "error")
    return render_template(template, **context), 401


def _signed_in(user: User, next_url: str | None):
    session.clear()  # nothing from before the login survives it
    login_user(user)
    guards.start_session()
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
            return _refused(failure, "auth/login.html", form=form)
        if current_app.config["MFA_REQUIRED"] or user.mfa_enrolled:
            session["_mfa_user"], session["_mfa_started"] = user.id, time.time()
            session["_mfa_next"] = request.args.get("next")
            return redirect(url_for("auth.mfa" if user.mfa_enrolled else "auth.mfa_setup"))
        service.login_without_second_factor(session=db.session, user=user, now=now)
        return _signed_in(user, request.args.get("next"))
    return render_template("auth/login.html", form=form), 422 if form.errors else 200


def _pending_user() -> User | None:
    user_id, started = session.get("_mfa_user"), session.get("_mfa_started", 0)
    if not user_id or time.time() - started > PENDING_SECONDS:
        return None
    user = db.session.get(User, user_id)
    return user if user is not None and user.is_active else None


def _back_to_login():
    flash("Log in with your password first. (AUTH-440)", "error")
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
            return _refused(failure, "auth/mfa.html", form=form)
        next_url = session.get("_mfa_next")
        response = _signed_in(user, next_url)
        if used_recovery:
            flash(f"You used a recovery code; {len(user.recovery_codes)} are left. (AUTH-RECOVERY)", "warning")
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
    form = CodeForm()
    if form.validate_on_submit():
        try:
            codes = mfa.enroll(session=db.session, user=user, secret=secret, code=form.code.data, now=clock.now(),
                               **_lock_settings())
        except LoginFailed as failure:
            return _refused(failure, "auth/mfa_setup.html", **_setup_context(user, secret, form))
        next_url = _safe_next(session.get("_mfa_next"))
        _signed_in(user, next_url)
        return render_template("auth/recovery_codes.html", codes=codes, next_url=next_url)
    return render_template("auth/mfa_setup.html", **_setup_context(user, secret, form)), 422 if form.errors else 200


def _setup_context(user: User, secret: str, form: CodeForm) -> dict:
    uri = mfa.provisioning_uri(secret, username=user.username, issuer=current_app.config["MFA_ISSUER"])
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return {"form": form, "qr_svg": Markup(mfa.qr_svg(uri)), "secret": grouped, "user": user}


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


def register(app: Flask) -> None:
    if app.config.get("PRODUCTION") and not app.config.get("MFA_REQUIRED"):
        raise RuntimeError("MFA_REQUIRED cannot be turned off in production.")
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=app.config["SESSION_MAX_HOURS"])
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"

    @login_manager.user_loader
    def _load(user_id: str) -> User | None:
        user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
        return user if user and user.is_active else None

    guards.register(app)
    api_guard.register(app)
    from incident_service.auth import admin

    app.register_blueprint(bp)
    app.register_blueprint(admin.bp)
