"""Admin pages: users (create with roles, disable, enable, reset MFA with a one-time enrolment code) and API tokens
(for yourself or a service account; shown once; expiring, renewable; revocable)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from incident_service import clock
from incident_service.auth import service, tokens
from incident_service.auth.decorators import require
from incident_service.auth.forms import ActionForm, TokenCreateForm, UserCreateForm
from incident_service.auth.models import User
from incident_service.auth.permissions import Permission
from incident_service.errors import DomainError
from incident_service.extensions import db, limiter

bp = Blueprint("auth_admin", __name__, url_prefix="/admin")


def _users_page(form: UserCreateForm, status: int = 200):
    users = db.session.scalars(service.users_query()).all()
    return render_template("auth/users.html", users=users, form=form, action=ActionForm()), status


@bp.get("/users")
@require(Permission.admin_users)
def users():
    return _users_page(UserCreateForm())


@bp.post("/users")
@require(Permission.admin_users)
def user_create():
    form = UserCreateForm()
    if not form.validate_on_submit():
        return _users_page(form, 422)
    password = form.password.data or service.generate_password()
    try:
        user = service.create_user(session=db.session, username=form.username.data, password=password,
                                   roles=form.roles.data, now=clock.now(), display_name=form.display_name.data or None,
                                   email=form.email.data or None, service_account=form.service_account.data)
    except DomainError as error:
        for field, messages in error.errors.items():
            getattr(form, field, form.username).errors = list(messages)
        return _users_page(form, error.status)
    if form.password.data:
        flash(f"User {user.username} created. They enrol their authenticator at the first login.", "info")
    else:
        flash(f"User {user.username} created with the password {password} — pass it on now, it is not shown again.",
              "info")
    return redirect(url_for("auth_admin.users"))


def _user_action(user_id: int, change, done: str):
    if not ActionForm().validate_on_submit():
        flash("The form expired: try again. (CSRF)", "error")
        return redirect(url_for("auth_admin.users")), 400
    user = change(user_id)
    flash(done.format(user=user.username), "info")
    return redirect(url_for("auth_admin.users"))


@bp.post("/users/<int:user_id>/disable")
@require(Permission.admin_users)
def user_disable(user_id: int):
    if user_id == current_user.id:
        flash("You cannot disable your own account.", "error")
        return redirect(url_for("auth_admin.users"))
    return _user_action(user_id, lambda uid: service.set_active(session=db.session, user_id=uid, active=False,
                                                                now=clock.now()),
                        "User {user} is disabled; their sessions and tokens stop working.")


@bp.post("/users/<int:user_id>/enable")
@require(Permission.admin_users)
def user_enable(user_id: int):
    return _user_action(user_id, lambda uid: service.set_active(session=db.session, user_id=uid, active=True,
                                                                now=clock.now()), "User {user} is enabled again.")


@bp.post("/users/<int:user_id>/reset-mfa")
@require(Permission.admin_users)
def user_reset_mfa(user_id: int):
    def reset(uid: int) -> User:
        done = service.reset_mfa(session=db.session, user_id=uid, now=clock.now(),
                                 code_hours=current_app.config["MFA_RESET_CODE_HOURS"])
        flash(f"One-time enrolment code for {done.user.username}: {done.code} (valid until "
              f"{done.expires_at.isoformat(timespec='minutes')}; hand it over in person, it is not shown again).", "info")
        return done.user

    return _user_action(user_id, reset, "User {user} enrols a new authenticator at the next login; their sessions ended.")


def _me() -> User:
    return db.session.get(User, current_user.id)


def _token_form() -> TokenCreateForm:
    """Tokens for yourself or for a service account: an admin never holds a token acting as another person."""
    form = TokenCreateForm()
    me = _me()
    accounts = db.session.scalars(sa.select(User).where(User.is_active.is_(True), User.is_service_account.is_(True))
                                  .order_by(User.username)).all()
    form.user_id.choices = [SelectChoice(me.id, f"{me.username} — you ({', '.join(me.roles)})")] + [
        SelectChoice(u.id, f"{u.username} — service account ({', '.join(u.roles)})") for u in accounts if u.id != me.id]
    return form


def _tokens_page(form: TokenCreateForm, status: int = 200, created: str | None = None):
    listed = db.session.scalars(tokens.tokens_query()).unique().all()
    return render_template("auth/tokens.html", tokens=listed, form=form, action=ActionForm(), created=created,
                           now=clock.now(), days=current_app.config["API_TOKEN_DAYS"]), status


@bp.get("/tokens")
@require(Permission.admin_users)
def tokens_list():
    return _tokens_page(_token_form())


@bp.post("/tokens")
@require(Permission.admin_users)
@limiter.limit(lambda: current_app.config["TOKEN_RATE_LIMIT"])
def token_create():
    form = _token_form()
    if not form.validate_on_submit():
        return _tokens_page(form, 422)
    user = service.get_user(session=db.session, user_id=form.user_id.data)
    try:
        _, plain = tokens.create_token(session=db.session, user=user, name=form.name.data, actor=_me(),
                                       created_by=current_user.username, now=clock.now(),
                                       days=current_app.config["API_TOKEN_DAYS"])
    except DomainError as error:
        db.session.rollback()
        for field, messages in error.errors.items():
            getattr(form, field, form.name).errors = list(messages)
        return _tokens_page(form, error.status)
    return _tokens_page(_token_form(), 201, created=plain)


def _token_action(change):
    """A button on the tokens page: CSRF-checked; a refusal is flashed with its code."""
    if not ActionForm().validate_on_submit():
        flash("The form expired: try again. (CSRF)", "error")
        return redirect(url_for("auth_admin.tokens_list")), 400
    try:
        flash(change(), "info")
    except DomainError as error:
        db.session.rollback()
        flash(f"{error.message} ({error.code})", "error")
    return redirect(url_for("auth_admin.tokens_list"))


@bp.post("/tokens/<int:token_id>/revoke")
@require(Permission.admin_users)
def token_revoke(token_id: int):
    def revoke() -> str:
        tokens.revoke_token(session=db.session, token_id=token_id, actor=current_user.username, now=clock.now())
        return "The token is revoked."

    return _token_action(revoke)


@bp.post("/tokens/<int:token_id>/renew")
@require(Permission.admin_users)
def token_renew(token_id: int):
    def renew() -> str:
        token = tokens.renew_token(session=db.session, token_id=token_id, now=clock.now(), by=_me(),
                                   days=current_app.config["API_TOKEN_DAYS"])
        return f"The token now expires at {token.expires_at.isoformat(timespec='minutes')}."

    return _token_action(renew)
