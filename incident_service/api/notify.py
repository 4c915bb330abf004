"""REST endpoints for delivery: channels and routing rules (admin), preferences, the outbox and retries."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from incident_service.api_common import SQLCursorPage, actor, expected_version, request_now
from incident_service.errors import DomainError
from incident_service.extensions import db
from incident_service.notify import schemas, service

blp = Blueprint("notify", __name__, url_prefix="/api/v1/notify",
                description="Delivering warnings: channels, routing rules, preferences and the outbox")


class LoginRequired(DomainError):
    status = 401
    code = "unauthorized"


@blp.route("/channels")
class Channels(MethodView):
    @blp.response(200, schemas.ChannelSchema(many=True))
    @blp.paginate(SQLCursorPage)
    def get(self):
        """Delivery channels (secrets are never returned)."""
        return service.channels_query()

    @blp.arguments(schemas.ChannelCreateSchema)
    @blp.response(201, schemas.ChannelSchema)
    def post(self, data):
        """Add an email (SMTP) or webhook (generic, Teams, Slack) channel."""
        return service.create_channel(session=db.session, data=data, now=request_now())


@blp.route("/channels/<int:channel_id>")
class ChannelById(MethodView):
    @blp.response(200, schemas.ChannelSchema)
    def get(self, channel_id):
        """One channel."""
        return service.get_channel(session=db.session, channel_id=channel_id)

    @blp.arguments(schemas.ChannelUpdateSchema)
    @blp.response(200, schemas.ChannelSchema)
    def patch(self, data, channel_id):
        """Change a channel; a secret left out is kept. Send the `version` you read (or If-Match)."""
        version = expected_version(data)
        return service.update_channel(session=db.session, channel_id=channel_id, data=data, now=request_now(),
                                      expected_version=version)

    @blp.response(204)
    def delete(self, channel_id):
        """Remove a channel that never carried a message (otherwise disable it: 409)."""
        service.delete_channel(session=db.session, channel_id=channel_id)


@blp.route("/rules")
class Rules(MethodView):
    @blp.response(200, schemas.RuleSchema(many=True))
    @blp.paginate(SQLCursorPage)
    def get(self):
        """Routing rules: who else hears which events, by clock and severity."""
        return service.rules_query()

    @blp.arguments(schemas.RuleCreateSchema)
    @blp.response(201, schemas.RuleSchema)
    def post(self, data):
        """Add a routing rule (e.g. the security officer's mailbox hears every `missed` deadline)."""
        return service.create_rule(session=db.session, data=data, now=request_now())


@blp.route("/rules/<int:rule_id>")
class RuleById(MethodView):
    @blp.response(200, schemas.RuleSchema)
    def get(self, rule_id):
        """One routing rule."""
        return service.get_rule(session=db.session, rule_id=rule_id)

    @blp.arguments(schemas.RuleUpdateSchema)
    @blp.response(200, schemas.RuleSchema)
    def patch(self, data, rule_id):
        """Change a routing rule; send the `version` you read (or If-Match)."""
        version = expected_version(data)
        return service.update_rule(session=db.session, rule_id=rule_id, data=data, now=request_now(),
                                   expected_version=version)

    @blp.response(204)
    def delete(self, rule_id):
        """Remove a routing rule."""
        service.delete_rule(session=db.session, rule_id=rule_id)


def _preference_answer(pref):
    return {"user_id": pref.user_id, "channel_ids": pref.channel_ids, "quiet_from": pref.quiet_from, "quiet_to": pref.quiet_to}


def _me() -> int:
    user_id = actor()[1]
    if user_id is None:
        raise LoginRequired("Log in first.")
    return user_id


@blp.route("/preferences/me")
class MyPreference(MethodView):
    @blp.response(200, schemas.PreferenceSchema)
    def get(self):
        """Your channels and quiet hours."""
        return _preference_answer(service.get_preference(session=db.session, user_id=_me()))

    @blp.arguments(schemas.PreferenceSchema)
    @blp.response(200, schemas.PreferenceSchema)
    def put(self, data):
        """Choose your channels and quiet hours (escalations ignore quiet hours)."""
        return _preference_answer(service.set_preference(session=db.session, user_id=_me(), now=request_now(), **data))


@blp.route("/preferences/<int:user_id>")
class UserPreference(MethodView):
    @blp.response(200, schemas.PreferenceSchema)
    def get(self, user_id):
        """A user's channels and quiet hours (admin)."""
        return _preference_answer(service.get_preference(session=db.session, user_id=user_id))

    @blp.arguments(schemas.PreferenceSchema)
    @blp.response(200, schemas.PreferenceSchema)
    def put(self, data, user_id):
        """Set a user's channels and quiet hours (admin)."""
        return _preference_answer(service.set_preference(session=db.session, user_id=user_id, now=request_now(), **data))


@blp.route("/messages")
class Messages(MethodView):
    @blp.arguments(schemas.MessageQuerySchema, location="query")
    @blp.response(200, schemas.MessageSchema(many=True))
    @blp.paginate(SQLCursorPage)
    def get(self, args):
        """The outbox, newest first: one message per recipient and channel, with its state and attempts."""
        return service.messages_query(**args)


@blp.route("/messages/<int:message_id>")
class MessageById(MethodView):
    @blp.response(200, schemas.MessageSchema)
    def get(self, message_id):
        """One outbox message."""
        return service.get_message(session=db.session, message_id=message_id)


@blp.route("/messages/<int:message_id>/retry")
class RetryMessage(MethodView):
    @blp.response(200, schemas.MessageSchema)
    def post(self, message_id):
        """Try an undelivered message again with a fresh set of attempts (409 unless it is undelivered)."""
        return service.retry_message(session=db.session, message_id=message_id, now=request_now())


@blp.route("/summary")
class Summary(MethodView):
    @blp.response(200, schemas.DeliverySummarySchema)
    def get(self):
        """Undelivered and pending counts, and the latest undelivered messages."""
        return service.undelivered_summary(db.session)
