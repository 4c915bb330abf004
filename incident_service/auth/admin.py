"""Admin pages: users (create with roles, disable, enable, reset MFA with a one-time enrolment code) and API tokens
(for yourself or a service account; shown once; expiring, renewable; revocable)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from incident_service import clock, timefmt
from incident_service.api_common import registry
from incident_service.auth import displays, service, tokens
from incident_service.auth.decorators import require
from incident_service.auth.forms import ROLE_LABELS, ActionForm, DisplayCreateForm, TokenCreateForm, UserCreateForm
from incident_service.auth.models import User
from incident_service.auth.permissions import Permission
from incident_service.errors import DomainError
from incident_service.extensions import db, limiter

bp = Blueprint("auth_admin", __name__, url_prefix="/admin")


def _users_page(form: UserCreateForm, status: int = 200):
    users = db.session.scalars(service.users_query()).all()
    return render_template("auth/users.html", users=users, form=form, action=ActionForm(), role_labels=ROLE_LABELS), status


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
        flash(_("User %(user)s created. They enrol their authenticator at the first login.", user=user.username), "info")
    else:
        flash(_("User %(user)s created with the password %(password)s — pass it on now, it is not shown again.",
                user=user.username, password=password), "info")
    return redirect(url_for("auth_admin.users"))


def _user_action(user_id: int, change, done: str):
    if not ActionForm().validate_on_submit():
        flash(_("The form expired: try again. (CSRF)"), "error")
        return redirect(url_for("auth_admin.users")), 400
    user = change(user_id)
    flash(done % {"user": user.username}, "info")
    return redirect(url_for("auth_admin.users"))


@bp.post("/users/<int:user_id>/disable")
@require(Permission.admin_users)
def user_disable(user_id: int):
    if user_id == current_user.id:
        flash(_("You cannot disable your own account."), "error")
        return redirect(url_for("auth_admin.users"))
    return _user_action(user_id, lambda uid: service.set_active(session=db.session, user_id=uid, active=False,
                                                                now=clock.now()),
                        _("User %(user)s is disabled; their sessions and tokens stop working."))


@bp.post("/users/<int:user_id>/enable")
@require(Permission.admin_users)
def user_enable(user_id: int):
    return _user_action(user_id, lambda uid: service.set_active(session=db.session, user_id=uid, active=True,
                                                                now=clock.now()), _("User %(user)s is enabled again."))


@bp.post("/users/<int:user_id>/reset-mfa")
@require(Permission.admin_users)
def user_reset_mfa(user_id: int):
    def reset(uid: int) -> User:
        done = service.reset_mfa(session=db.session, user_id=uid, now=clock.now(),
                                 code_hours=current_app.config["MFA_RESET_CODE_HOURS"])
        flash(_("One-time enrolment code for %(user)s: %(code)s (valid until %(until)s; hand it over in person, it is not shown "
                "again).", user=done.user.username, code=done.code, until=timefmt.local(done.expires_at, registry().zone)), "info")
        return done.user

    return _user_action(user_id, reset, _("User %(user)s enrols a new authenticator at the next login; their sessions ended."))


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
        flash(_("The form expired: try again. (CSRF)"), "error")
        return redirect(url_for("auth_admin.tokens_list")), 400
    try:
        flash(change(), "info")
    except DomainError as error:
        db.session.rollback()
        flash(f"{_(error.message)} ({error.code})", "error")
    return redirect(url_for("auth_admin.tokens_list"))


@bp.post("/tokens/<int:token_id>/revoke")
@require(Permission.admin_users)
def token_revoke(token_id: int):
    def revoke() -> str:
        tokens.revoke_token(session=db.session, token_id=token_id, actor=current_user.username, now=clock.now())
        return _("The token is revoked.")

    return _token_action(revoke)


@bp.post("/tokens/<int:token_id>/renew")
@require(Permission.admin_users)
def token_renew(token_id: int):
    def renew() -> str:
        token = tokens.renew_token(session=db.session, token_id=token_id, now=clock.now(), by=_me(),
                                   days=current_app.config["API_TOKEN_DAYS"])
        return _("The token now expires at %(at)s.", at=timefmt.local(token.expires_at, registry().zone))

    return _token_action(renew)


# -- wall displays: read-only keys for the board's wall mode ------------------------------------------------

def _displays_page(form: DisplayCreateForm, status: int = 200, created: str | None = None):
    listed = db.session.scalars(displays.displays_query()).all()
    link = url_for("auth.display_start", token=created, _external=True) if created else None
    return render_template("auth/displays.html", displays=listed, form=form, action=ActionForm(), link=link), status


@bp.get("/displays")
@require(Permission.admin_users)
def displays_list():
    return _displays_page(DisplayCreateForm())


@bp.post("/displays")
@require(Permission.admin_users)
@limiter.limit(lambda: current_app.config["TOKEN_RATE_LIMIT"])
def display_create():
    form = DisplayCreateForm()
    if not form.validate_on_submit():
        return _displays_page(form, 422)
    try:
        _, plain = displays.create_display(session=db.session, name=form.name.data, created_by=current_user.username,
                                           now=clock.now())
    except DomainError as error:
        db.session.rollback()
        form.name.errors = [_(m) for ms in error.errors.values() for m in ms]
        return _displays_page(form, error.status)
    return _displays_page(DisplayCreateForm(formdata=None), 201, created=plain)


@bp.post("/displays/<int:display_id>/revoke")
@require(Permission.admin_users)
def display_revoke(display_id: int):
    if not ActionForm().validate_on_submit():
        flash(_("The form expired: try again. (CSRF)"), "error")
        return redirect(url_for("auth_admin.displays_list")), 400
    try:
        display = displays.revoke_display(session=db.session, display_id=display_id, actor=current_user.username, now=clock.now())
        flash(_("The key of %(name)s is revoked: that screen shows the login page now.", name=display.name), "info")
    except DomainError as error:
        db.session.rollback()
        flash(f"{_(error.message)} ({error.code})", "error")
    return redirect(url_for("auth_admin.displays_list"))
