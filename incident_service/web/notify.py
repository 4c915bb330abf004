"""Web pages: notification channels and routing rules (admin), undelivered messages, and my preferences."""
from __future__ import annotations

import uuid
from functools import partial

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from incident_service import timefmt
from incident_service.api_common import registry, request_now
from incident_service.auth.decorators import require
from incident_service.auth.models import User
from incident_service.auth.permissions import Permission
from incident_service.errors import DomainError
from incident_service.extensions import db
from incident_service.notify import channels as senders, schemas, service
from incident_service.notify.models import ChannelKind, EventKind
from incident_service.notify.settings import current_settings
from incident_service.web.notify_forms import EVENT_LABELS, ChannelForm, PreferenceForm, RuleForm, TestMessageForm
from incident_service.web.forms import has_errors, load, refuse
from incident_service.web.wording import refusal

bp = Blueprint("notify_web", __name__)


@bp.route("/admin/notify")
@require(Permission.admin_policies)
def channels():
    return render_template(
        "notify/index.html", channels=db.session.scalars(service.channels_query()).all(),
        rules=db.session.scalars(service.rules_query()).all(), summary=service.undelivered_summary(db.session),
        event_labels={k.value: v for k, v in EVENT_LABELS.items()},
        local=lambda value: timefmt.local(value, registry().zone), test_form=TestMessageForm(),
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
    return _save(form, data, service.create_channel, _("Channel added."), "notify/channel_form.html", channel=None)


@bp.route("/admin/notify/channels/<int:channel_id>", methods=["GET", "POST"])
@require(Permission.admin_policies)
def channel_edit(channel_id: int):
    channel = service.get_channel(session=db.session, channel_id=channel_id)
    form, data = _channel_form(channel)
    return _save(form, data, partial(service.update_channel, channel_id=channel_id), _("Channel saved."),
                 "notify/channel_form.html", channel=channel)


def _test_message(channel, recipient: str, now) -> senders.Outgoing:
    """A message that says it is a test, over exactly the channel's transport (the same as the outbox would use)."""
    settings = current_settings()
    password = settings.smtp.password if channel.from_config else channel.smtp_password
    transport = senders.Transport(
        kind=channel.kind, name=channel.name, smtp_host=channel.smtp_host, smtp_port=channel.smtp_port,
        smtp_security=channel.smtp_security.value if channel.smtp_security else "none", smtp_username=channel.smtp_username,
        smtp_password=password, from_address=channel.from_address, url=channel.url, secret=channel.secret,
        allowed_hosts=settings.webhook_allowed_hosts)
    stamp = timefmt.local(now, registry().zone)
    return senders.Outgoing(
        message_id=0, idempotency_key=str(uuid.uuid4()), recipient=recipient, attempt=1, sent_at=now,
        event_kind=EventKind.warning, subject=f"[測試 Test] {channel.name}",
        text_zh=f"這是通道「{channel.name}」的測試訊息（{stamp}），由 {current_user.username} 送出；無需處理。",
        text_en=f"This is a test message of channel \"{channel.name}\" ({stamp}), sent by {current_user.username}; nothing to do.",
        link=None, facts={"event": "test", "channel": channel.name}, transport=transport)


@bp.route("/admin/notify/channels/<int:channel_id>/test", methods=["POST"])
@require(Permission.admin_policies)
def channel_test(channel_id: int):
    """Send one test message now, over this channel, to you (email) or to its webhook; say what happened."""
    channel = service.get_channel(session=db.session, channel_id=channel_id)
    if not TestMessageForm().validate_on_submit():
        flash(_("The form expired: try again. (CSRF)"), "error")
        return redirect(url_for(".channels"))
    recipient = (current_user.email or "") if channel.kind == ChannelKind.email else f"channel:{channel.id}"
    if not recipient:
        flash(_("Your account has no e-mail address to send the test to. (NOTIFY-TEST)"), "error")
        return redirect(url_for(".channels"))
    try:
        senders.send(_test_message(channel, recipient, request_now()), timeout=current_settings().send_timeout)
    except senders.DeliveryFailed as failure:
        flash(_("The test message was not accepted: %(reason)s (NOTIFY-TEST)", reason=str(failure)), "error")
    else:
        flash(_("The test message was accepted by %(channel)s (to %(to)s).", channel=channel.name, to=recipient), "ok")
    return redirect(url_for(".channels"))


@bp.route("/admin/notify/channels/<int:channel_id>/delete", methods=["POST"])
@require(Permission.admin_policies)
def channel_delete(channel_id: int):
    try:
        service.delete_channel(session=db.session, channel_id=channel_id)
        flash(_("Channel removed."), "ok")
    except DomainError as error:
        db.session.rollback()
        flash(refusal(error), "error")
    return redirect(url_for(".channels"))


def _rule_form(rule=None) -> tuple[RuleForm, dict | None]:
    form = RuleForm(obj=rule)
    users = db.session.scalars(sa.select(User).where(User.is_active.is_(True)).order_by(User.username)).all()
    form.target_user_id.choices = [SelectChoice("", "—")] + [SelectChoice(u.id, u.username) for u in users]
    form.channel_id.choices = [SelectChoice("", _("— the default email —"))] + [
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
    return _save(form, data, service.create_rule, _("Routing rule added."), "notify/rule_form.html", rule=None)


@bp.route("/admin/notify/rules/<int:rule_id>", methods=["GET", "POST"])
@require(Permission.admin_policies)
def rule_edit(rule_id: int):
    rule = service.get_rule(session=db.session, rule_id=rule_id)
    form, data = _rule_form(rule)
    return _save(form, data, partial(service.update_rule, rule_id=rule_id), _("Routing rule saved."),
                 "notify/rule_form.html", rule=rule)


@bp.route("/admin/notify/rules/<int:rule_id>/delete", methods=["POST"])
@require(Permission.admin_policies)
def rule_delete(rule_id: int):
    service.delete_rule(session=db.session, rule_id=rule_id)
    flash(_("Routing rule removed."), "ok")
    return redirect(url_for(".channels"))


@bp.route("/admin/notify/messages/<int:message_id>/retry", methods=["POST"])
@require(Permission.admin_policies)
def message_retry(message_id: int):
    try:
        service.retry_message(session=db.session, message_id=message_id, now=request_now())
        flash(_("Message %(id)s will be sent again.", id=message_id), "ok")
    except DomainError as error:
        db.session.rollback()
        flash(refusal(error), "error")
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
                flash(_("Preferences saved."), "ok")
                return redirect(url_for(".preferences"))
    return render_template("notify/preferences.html", form=form, user=current_user), 422 if has_errors(form) else 200

