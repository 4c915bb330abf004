"""Login and logout pages, and who is acting in each request."""
from __future__ import annotations

from flask import Blueprint, Flask, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from incident_service.auth import service
from incident_service.auth.forms import LoginForm
from incident_service.auth.models import User
from incident_service.extensions import db, login_manager

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    # Only local paths: an open redirect would let a phishing link bounce through our login page.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = service.get_user_by_name(db.session, form.username.data)
        if user and user.is_active and service.password_matches(user, form.password.data):
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        flash("User name or password is wrong. (AUTH-401)", "error")
    status = 200 if request.method == "GET" else (422 if form.errors else 401)
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    return redirect(url_for("auth.login"))


def register(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"

    @login_manager.user_loader
    def _load(user_id: str) -> User | None:
        user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
        return user if user and user.is_active else None

    @app.before_request
    def _who_acts() -> None:
        if current_user.is_authenticated:
            g.actor_name, g.actor_id = current_user.username, current_user.id

    app.register_blueprint(bp)
