"""The audit trail over the API (auditors), cursor-paged, newest first."""
from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from incident_service.api_common import SQLCursorPage, StrictSchema, UTCDateTimeField
from incident_service.audit.service import entries_query

blp = Blueprint("audit_api", __name__, url_prefix="/api/v1", description="The audit trail (auditors)")
AUDIT_ACTIONS = ["create", "update", "delete", "bulk_update", "bulk_delete", "read", "list", "export", "denied",
                 "login", "login_failed", "logout", "password_refused", "keys_rotate", "checkpoint"]


class AuditQuerySchema(StrictSchema):
    actor = ma.fields.String(validate=ma.validate.Length(max=80))
    record_type = ma.fields.String(validate=ma.validate.Length(max=80), metadata={"description": "a table name, e.g. incidents"})
    record_id = ma.fields.String(validate=ma.validate.Length(max=80))
    action = ma.fields.String(validate=ma.validate.OneOf(AUDIT_ACTIONS))
    since = UTCDateTimeField(metadata={"description": "entries at or after"})
    until = UTCDateTimeField(metadata={"description": "entries before"})


class AuditEntrySchema(ma.Schema):
    seq = ma.fields.Integer(metadata={"description": "position in the chain"})
    at = UTCDateTimeField()
    actor = ma.fields.String()
    actor_id = ma.fields.Integer(allow_none=True)
    action = ma.fields.String()
    record_type = ma.fields.String()
    record_id = ma.fields.String(allow_none=True)
    old_values = ma.fields.Dict(allow_none=True)
    new_values = ma.fields.Dict(allow_none=True)
    details = ma.fields.Dict(allow_none=True)
    prev_hash = ma.fields.String()
    hash = ma.fields.String(metadata={"description": "SHA-256 over the entry's canonical JSON and prev_hash"})


@blp.route("/audit-entries")
class AuditEntries(MethodView):
    @blp.arguments(AuditQuerySchema, location="query")
    @blp.response(200, AuditEntrySchema(many=True))
    @blp.paginate(SQLCursorPage)
    def get(self, args):
        """The audit trail, newest first (filter by actor, record, action, period)."""
        return entries_query(**args)
