"""Web pages: notification channels and routing rules (admin), undelivered messages, and my preferences."""
from __future__ import annotations

from functools import partial

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from incident_service import timefmt
from incident_service.api_common import registry, request_now
from incident_service.auth.decorators import require
from incident_service.auth.models import User
from incident_service.auth.permissions import Permission
from incident_service.errors import DomainError
from incident_service.extensions import db
from incident_service.notify import schemas, service
from incident_service.web.notify_forms import EVENT_LABELS, ChannelForm, PreferenceForm, RuleForm
from incident_service.web.forms import has_errors, load, refuse

bp = Blueprint("notify_web", __name__)


@bp.route("/admin/notify")
@require(Permission.admin_policies)
def channels():
    return render_template(
        "notify/index.html", channels=db.session.scalars(service.channels_query()).all(),
        rules=db.session.scalars(service.rules_query()).all(), summary=service.undelivered_summary(db.session),
        event_labels={k.value: v for k, v in EVENT_LABELS.items()},
        local=lambda value: timefmt.local(value, registry().zone),
    )


def _channel_form(channel=None):
    form = ChannelForm(obj=channel)
    if not form.is_submitted():
        # Credentials never go back to the browser: the boxes start empty, and empty keeps what is stored.
        form.smtp_password.data, form.secret.data, form.url.data = "", "", ""
    if not form.validate_on_submit():
        return form, None
    names = ("is_active", "is_default") if channel is not None and channel.from_config else ChannelForm.FIELDS
    schema = schemas.ChannelUpdateSchema() if channel else schemas.ChannelCreateSchema()
    data = load(form, schema, names)
    if data is not None:
        data.pop("version", None)  # the page edits what it just read
        for secret in service.SECRET_FIELDS:  # write-only: an empty box keeps what is stored
            if data.get(secret) is None:
                data.pop(secret, None)
    return form, data


def _save(form, data, save, done: str, template: str, **context):
    """Call the service with the form's values; on success back to the list, else the form with the reasons."""
    if data is not None:
        try:
            save(session=db.session, data=data, now=request_now())
        except DomainError as error:
            refuse(form, error)
        else:
            flash(done, "ok")
            return redirect(url_for(".channels"))
    return render_template(template, form=form, **context), 422 if has_errors(form) else 200


@bp.route("/admin/notify/channels/new", methods=["GET", "POST"])
@require(Permission.admin_policies)
def channel_new():
    form, data = _channel_form()
    return _save(form, data, service.create_channel, "Channel added. 已新增通道。", "notify/channel_form.html", channel=None)


@bp.route("/admin/notify/channels/<int:channel_id>", methods=["GET", "POST"])
@require(Permission.admin_policies)
def channel_edit(channel_id: int):
    channel = service.get_channel(session=db.session, channel_id=channel_id)
    form, data = _channel_form(channel)
    return _save(form, data, partial(service.update_channel, channel_id=channel_id), "Channel saved. 已儲存。",
                 "notify/channel_form.html", channel=channel)


@bp.route("/admin/notify/channels/<int:channel_id>/delete", methods=["POST"])
@require(Permission.admin_policies)
def channel_delete(channel_id: int):
    try:
        service.delete_channel(session=db.session, channel_id=channel_id)
        flash("Channel removed. 已刪除通道。", "ok")
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    return redirect(url_for(".channels"))


def _rule_form(rule=None) -> tuple[RuleForm, dict | None]:
    form = RuleForm(obj=rule)
    users = db.session.scalars(sa.select(User).where(User.is_active.is_(True)).order_by(User.username)).all()
    form.target_user_id.choices = [SelectChoice("", "—")] + [SelectChoice(u.id, u.username) for u in users]
    form.channel_id.choices = [SelectChoice("", "— default email —")] + [
        SelectChoice(c.id, f"{c.name} ({c.kind.value})") for c in db.session.scalars(service.channels_query())]
    if rule is not None and not form.is_submitted():
        form.clocks.data = ", ".join(rule.clocks or [])
    if not form.validate_on_submit():
        return form, None
    schema = schemas.RuleUpdateSchema() if rule else schemas.RuleCreateSchema()
    data = load(form, schema, RuleForm.FIELDS)
    if data is not None:
        data.pop("version", None)
        data["clocks"] = [c.strip() for c in (form.clocks.data or "").split(",") if c.strip()]
    return form, data


@bp.route("/admin/notify/rules/new", methods=["GET", "POST"])
@require(Permission.admin_policies)
def rule_new():
    form, data = _rule_form()
    return _save(form, data, service.create_rule, "Routing rule added. 已新增規則。", "notify/rule_form.html", rule=None)


@bp.route("/admin/notify/rules/<int:rule_id>", methods=["GET", "POST"])
@require(Permission.admin_policies)
def rule_edit(rule_id: int):
    rule = service.get_rule(session=db.session, rule_id=rule_id)
    form, data = _rule_form(rule)
    return _save(form, data, partial(service.update_rule, rule_id=rule_id), "Routing rule saved. 已儲存。",
                 "notify/rule_form.html", rule=rule)


@bp.route("/admin/notify/rules/<int:rule_id>/delete", methods=["POST"])
@require(Permission.admin_policies)
def rule_delete(rule_id: int):
    service.delete_rule(session=db.session, rule_id=rule_id)
    flash("Routing rule removed. 已刪除規則。", "ok")
    return redirect(url_for(".channels"))


@bp.route("/admin/notify/messages/<int:message_id>/retry", methods=["POST"])
@require(Permission.admin_policies)
def message_retry(message_id: int):
    try:
        service.retry_message(session=db.session, message_id=message_id, now=request_now())
        flash(f"Message {message_id} will be sent again. 將重新傳送。", "ok")
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    return redirect(url_for(".channels"))


@bp.route("/notify/preferences", methods=["GET", "POST"])
@require(Permission.read)
def preferences():
    pref = service.get_preference(session=db.session, user_id=current_user.id)
    form = PreferenceForm(obj=pref)
    active = db.session.scalars(service.channels_query()).all()
    form.channel_ids.choices = [SelectChoice(c.id, f"{c.name} ({c.kind.value})") for c in active if c.is_active]
    if form.validate_on_submit():
        data = load(form, schemas.PreferenceSchema(), ("channel_ids", "quiet_from", "quiet_to"))
        if data is not None:
            try:
                service.set_preference(session=db.session, user_id=current_user.id, now=request_now(), **data)
            except DomainError as error:
                refuse(form, error)
            else:
                flash("Preferences saved. 已儲存通知偏好。", "ok")
                return redirect(url_for(".preferences"))
    return render_template("notify/preferences.html", form=form, user=current_user), 422 if has_errors(form) else 200

