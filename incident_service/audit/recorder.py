"""What goes into the trail, without other packages doing anything.

Changes: SQLAlchemy session events see every insert, update and delete of every model (and bulk UPDATE or
DELETE statements that changed rows: a claim that found nothing to do leaves no entry) and keep them, with old
and new values, until the commit, which chains them. Secrets never enter: every encrypted column (and any a
model names in ``__audit_redact__``) shows only as "[redacted]", i.e. that it was set or changed.
Reads: after each request, a successful GET of an incident record (API or web page under ``/incidents/<id>``,
a deadline or a remediation), of a list of incident records (``INCIDENT_LISTS``; the same list read again by the
same person within ``AUDIT_READ_COALESCE_SECONDS`` is recorded once), of any export (an answer sent as an
attachment, or an endpoint whose name says export), and every refusal (403) of a logged-in user, is recorded
and committed.

Who: the request's actor (``g.actor_name``, set by the auth layer); outside a request, ``AUDIT_ACTOR`` from the
config, else "engine" in the clock engine's process, else "system".
"""
from __future__ import annotations

import logging
import re
from datetime import timedelta
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, has_app_context, has_request_context, request
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy.orm import Session

from incident_service import clock
from incident_service.audit import chain
from incident_service.audit.chain import PendingEntry
from incident_service.audit.models import AuditEntry
from incident_service.database import EncryptedText, jsonable
from incident_service.jobapp import current_engine_app
from incident_service.extensions import db
from incident_service.errors import SHORT_MESSAGES, error_response

log = logging.getLogger(__name__)

PENDING = "audit_pending"
AUDIT_TABLES = frozenset({"audit_entries", "audit_chain_head"})
# Liveness pings every few seconds are not records: auditing them would bury the trail.
NOT_AUDITED = AUDIT_TABLES | {"engine_heartbeats"}
REDACTED = "[redacted]"
INCIDENT_RECORD = re.compile(r"^(?:/api/v1)?/incidents/<(?:\w+:)?(\w+)>")
# Single records that belong to an incident: (rule pattern, record type).
INCIDENT_PARTS = (
    (re.compile(r"^(?:/api/v1)?/deadlines/<(?:\w+:)?(\w+)>$"), "deadlines"),
    (re.compile(r"^(?:/api/v1)?/remediations/<(?:\w+:)?(\w+)>$"), "remediations"),
)
# Lists of incident records, by endpoint. The board's feed (polled every 5 s by each open board) counts too: its
# repeats within the coalescing window are one entry per person.
INCIDENT_LISTS = frozenset({
    "incidents.Incidents", "reporting.Deadlines", "incidents.VendorHistory", "reporting.Notifications",
    "notify.Messages", "incidents_web.incident_list", "vendors_web.vendor_page", "reporting_web.board_page",
    "reporting_web.board_feed",
})


def who() -> tuple[str, int | None, dict | None]:
    """(actor, user id, request details) for an entry written now."""
    if has_request_context():
        name, user_id = getattr(g, "actor_name", "anonymous"), getattr(g, "actor_id", None)
        return name, user_id, {"method": request.method, "path": request.path, "ip": request.remote_addr}
    if has_app_context():
        if current_app.config.get("AUDIT_ACTOR"):
            return current_app.config["AUDIT_ACTOR"], None, None

        try:
            if current_engine_app() is current_app._get_current_object():
                return "engine", None, None
        except RuntimeError:
            pass
    return "system", None, None


def _pending(session: Session) -> list[PendingEntry]:
    return session.info.setdefault(PENDING, [])


def add(session: Session, *, action: str, record_type: str, record_id: Any = None, old: dict | None = None,
        new: dict | None = None, details: dict | None = None, actor: str | None = None,
        actor_id: int | None = None) -> None:
    """Queue one entry; the session's next commit chains it. ``actor`` overrides who acts (e.g. the user a login
    is for, before the login makes them the request's actor)."""
    current, current_id, request_details = who()
    actor, actor_id = (actor, actor_id) if actor is not None else (current, current_id)
    merged = {**(request_details or {}), **(details or {})} or None
    _pending(session).append(PendingEntry(at=clock.now(), actor=actor, actor_id=actor_id, action=action,
                                          record_type=record_type, record_id=record_id, old_values=old,
                                          new_values=new, details=merged))


# -- changes -----------------------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def secret_keys(mapper) -> frozenset[str]:
    """A model's attributes that never enter the trail: every encrypted column, and those it names itself."""
    encrypted = {attr.key for attr in mapper.column_attrs if any(isinstance(c.type, EncryptedText) for c in attr.columns)}
    return frozenset(encrypted | set(getattr(mapper.class_, "__audit_redact__", ())))


def _value(obj: Any, key: str, value: Any) -> Any:
    return REDACTED if key in secret_keys(sa.inspect(obj).mapper) and value is not None else jsonable(value)


def _identity(state) -> str | None:
    # A row just inserted has its key values but no identity yet while the flush runs (after_flush).
    identity = state.identity or state.mapper.primary_key_from_instance(state.obj())
    return ",".join(str(part) for part in identity) if identity and None not in identity else None


def _snapshot(obj: Any, state) -> dict[str, Any]:
    loaded = state.dict
    return {attr.key: _value(obj, attr.key, loaded[attr.key]) for attr in state.mapper.column_attrs if attr.key in loaded}


def _changes(obj: Any, state) -> tuple[dict, dict]:
    old, new = {}, {}
    ignored = getattr(obj, "__audit_ignore__", ())
    for attr in state.mapper.column_attrs:
        if attr.key in ignored:
            continue
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        before = history.deleted[0] if history.deleted else None
        after = history.added[0] if history.added else None
        if jsonable(before) != jsonable(after):
            old[attr.key], new[attr.key] = _value(obj, attr.key, before), _value(obj, attr.key, after)
    for rel in state.mapper.relationships:
        if rel.secondary is None:
            continue  # one-to-many changes show on the child's foreign key
        history = state.attrs[rel.key].history
        if history.added or history.deleted:
            keep = list(history.unchanged or ())
            ids = lambda objs: sorted(_identity(sa.inspect(o)) or "" for o in objs)  # noqa: E731
            old[rel.key] = ids(keep + list(history.deleted or ()))
            new[rel.key] = ids(keep + list(history.added or ()))
    return old, new


def _after_flush(session: Session, flush_context) -> None:
    for obj in session.new:
        state = sa.inspect(obj)
        table = state.mapper.local_table.name
        if table not in NOT_AUDITED:
            add(session, action="create", record_type=table, record_id=_identity(state), new=_snapshot(obj, state))
    for obj in session.dirty:
        state = sa.inspect(obj)
        table = state.mapper.local_table.name
        if table in NOT_AUDITED or not session.is_modified(obj):
            continue
        old, new = _changes(obj, state)
        if new:
            add(session, action="update", record_type=table, record_id=_identity(state), old=old, new=new)
    for obj in session.deleted:
        state = sa.inspect(obj)
        table = state.mapper.local_table.name
        if table not in NOT_AUDITED:
            add(session, action="delete", record_type=table, record_id=_identity(state), old=_snapshot(obj, state))


def _rows_changed(result) -> tuple[Any, int]:
    """(the result to hand back, how many rows the statement changed)."""
    if isinstance(result, sa.CursorResult) and not result.returns_rows:
        return result, max(result.rowcount or 0, 0)
    frozen = result.freeze()  # UPDATE … RETURNING: count the rows, hand back an identical result
    return frozen(), len(frozen.data)


def _do_orm_execute(execute_state):
    if not (execute_state.is_update or execute_state.is_delete):
        return None
    statement = execute_state.statement
    table = getattr(statement.table, "name", str(statement.table))
    if table in NOT_AUDITED:
        return None
    result, changed = _rows_changed(execute_state.invoke_statement())
    if not changed:  # e.g. the engine's claim with nothing due: nothing happened, nothing to record
        return result
    mapper = execute_state.bind_mapper
    hidden = secret_keys(mapper) if mapper is not None else frozenset()
    compiled = statement.compile(dialect=execute_state.session.get_bind().dialect)
    params = {**compiled.params, **(execute_state.parameters if isinstance(execute_state.parameters, dict) else {})}
    add(execute_state.session, action="bulk_update" if execute_state.is_update else "bulk_delete", record_type=table,
        new={k: REDACTED if k.rsplit("_", 1)[0] in hidden or k in hidden else jsonable(v) for k, v in params.items()},
        details={"statement": str(compiled)[:2000], "rows": changed})
    return result


def _before_commit(session: Session) -> None:
    session.flush()  # the last changes, so their entries are queued before the chain is written
    entries = session.info.pop(PENDING, None)
    if entries:
        chain.append(session, entries)


def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING, None)


_listening = False


def listen() -> None:
    """Attach the session events once per process (every app shares Flask-SQLAlchemy's Session class)."""
    global _listening
    if _listening:
        return
    sa.event.listen(FlaskSession, "after_flush", _after_flush)
    sa.event.listen(FlaskSession, "do_orm_execute", _do_orm_execute)
    sa.event.listen(FlaskSession, "before_commit", _before_commit)
    sa.event.listen(FlaskSession, "after_rollback", _after_rollback)
    _listening = True


# -- reads and refusals -------------------------------------------------------------------------------------

def _query() -> str:
    return request.query_string.decode("utf-8", "replace")[:500]


def _is_export(response: Response, endpoint: str) -> bool:
    """Any answer sent as a file to keep (CSV, XLSX, any future pack), or an endpoint named as an export."""
    disposition = response.headers.get("Content-Disposition", "")
    return disposition.lower().startswith("attachment") or "export" in endpoint.lower()


def _request_entry(response: Response) -> dict | None:
    endpoint = request.endpoint or ""
    rule = request.url_rule.rule if request.url_rule else ""
    args = request.view_args or {}
    if request.method != "GET":
        return None
    if _is_export(response, endpoint):
        return {"action": "export", "record_type": endpoint, "record_id": next(iter(args.values()), None),
                "details": {"query": _query()} if request.query_string else None}
    match = INCIDENT_RECORD.match(rule)
    if match:
        return {"action": "read", "record_type": "incidents", "record_id": args.get(match.group(1)),
                "details": {"endpoint": endpoint}}
    for pattern, record_type in INCIDENT_PARTS:
        if part := pattern.match(rule):
            return {"action": "read", "record_type": record_type, "record_id": args.get(part.group(1)),
                    "details": {"endpoint": endpoint}}
    if endpoint in INCIDENT_LISTS:
        return {"action": "list", "record_type": endpoint, "record_id": next(iter(args.values()), None),
                "details": {"query": _query()}}
    return None


def _recently_recorded(session: Session, entry: dict) -> bool:
    """The same list, read by the same person, is already in the trail from the last few minutes."""
    window = current_app.config.get("AUDIT_READ_COALESCE_SECONDS", 0)
    if entry["action"] != "list" or not window:
        return False
    actor = getattr(g, "actor_name", "anonymous")
    since = clock.now() - timedelta(seconds=window)
    recent = session.execute(
        sa.select(AuditEntry.record_id, AuditEntry.details).where(
            AuditEntry.actor == actor, AuditEntry.action == "list", AuditEntry.record_type == entry["record_type"],
            AuditEntry.at >= since).order_by(AuditEntry.seq.desc()).limit(20)
    ).all()
    record_id = None if entry["record_id"] is None else str(entry["record_id"])
    return any(r.record_id == record_id and (r.details or {}).get("query") == entry["details"]["query"] for r in recent)


def record_request(response: Response) -> Response:
    if response.status_code == 403 and getattr(g, "actor_id", None) is not None:
        entry = {"action": "denied", "record_type": request.endpoint or request.path,
                 "record_id": next(iter((request.view_args or {}).values()), None),
                 "details": {"permission": getattr(g, "denied_permission", None)}}
    elif 200 <= response.status_code < 300:
        entry = _request_entry(response)
    else:
        entry = None
    if entry is None:
        return response

    try:
        if _recently_recorded(db.session, entry):
            return response
        add(db.session, **entry)
        db.session.commit()
    except Exception:  # noqa: BLE001 - an unrecorded read must not be served
        db.session.rollback()
        log.exception("audit: could not record %s %s", request.method, request.path)

        return error_response(500, "audit_unavailable", SHORT_MESSAGES[500])
    return response


def register(app: Flask) -> None:
    listen()
    app.after_request(record_request)
