"""GET /api/v1/health: is the database reachable, and is a clock engine alive?"""
from __future__ import annotations

from datetime import timedelta

import marshmallow as ma
import sqlalchemy as sa
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from incident_service.api_common import UTCDateTimeField, request_now
from incident_service.extensions import db
from incident_service.notify.schemas import DeliveryHealthSchema
from incident_service.notify.service import delivery_health
from incident_service.engine.models import EngineHeartbeat, EngineRole
from incident_service.reporting.models import AlertState, DeadlineAlert

blp = Blueprint("health", __name__, url_prefix="/api/v1", description="Service health (no login needed)")


class EngineSchema(ma.Schema):
    engine_id = ma.fields.String()
    role = ma.fields.String(metadata={"description": "active: runs the calendar jobs (vendor duties, other clocks' scan, "
                                                     "audit checkpoints) besides firing and delivering; standby: fires "
                                                     "and delivers, and becomes active when the active engine stops"})
    hostname = ma.fields.String()
    pid = ma.fields.Integer()
    last_heartbeat = UTCDateTimeField()
    seconds_since_heartbeat = ma.fields.Integer()


class SchedulerSchema(ma.Schema):
    status = ma.fields.String(metadata={"description": "ok, stale or never_started"})
    engine_id = ma.fields.String(allow_none=True)
    last_heartbeat = UTCDateTimeField(allow_none=True)
    seconds_since_heartbeat = ma.fields.Integer(allow_none=True)
    engines_alive = ma.fields.Integer()
    active_engine_id = ma.fields.String(allow_none=True, metadata={"description": "the live engine that is active"})
    engines_standby = ma.fields.Integer(metadata={"description": "live engines standing by"})
    engines = ma.fields.List(ma.fields.Nested(EngineSchema), metadata={"description": "the live engines, latest beat first"})
    pending_alerts_overdue = ma.fields.Integer(metadata={"description": "alert instants due over 60 s ago and not yet fired"})


class HealthSchema(ma.Schema):
    status = ma.fields.String()
    database = ma.fields.String()
    scheduler = ma.fields.Nested(SchedulerSchema)
    delivery = ma.fields.Nested(DeliveryHealthSchema, metadata={"description": "undelivered: given up after the retry limit"})


def scheduler_health(now) -> dict:
    stale_after = current_app.config["SCHEDULER_STALE_SECONDS"]
    beats = db.session.scalars(
        sa.select(EngineHeartbeat).where(EngineHeartbeat.stopped_at.is_(None)).order_by(EngineHeartbeat.last_beat_at.desc())
    ).all()
    lagging = db.session.scalar(
        sa.select(sa.func.count()).select_from(DeadlineAlert).where(
            DeadlineAlert.state == AlertState.scheduled, DeadlineAlert.fire_at < now - timedelta(seconds=60)
        )
    )
    if not beats:
        return {"status": "never_started", "engine_id": None, "last_heartbeat": None, "seconds_since_heartbeat": None,
                "engines_alive": 0, "active_engine_id": None, "engines_standby": 0, "engines": [],
                "pending_alerts_overdue": lagging}
    latest = beats[0]
    age = int((now - latest.last_beat_at).total_seconds())
    # A killed engine's row looks alive until its heartbeat is stale; the engine that took over beat since.
    alive = [b for b in beats if (now - b.last_beat_at).total_seconds() <= stale_after]
    active = next((b for b in alive if b.role == EngineRole.active), None)
    return {"status": "ok" if age <= stale_after else "stale", "engine_id": latest.engine_id,
            "last_heartbeat": latest.last_beat_at, "seconds_since_heartbeat": age, "engines_alive": len(alive),
            "active_engine_id": active.engine_id if active else None,
            "engines_standby": sum(b.role == EngineRole.standby for b in alive),
            "engines": [{"engine_id": b.engine_id, "role": b.role.value, "hostname": b.hostname, "pid": b.pid,
                         "last_heartbeat": b.last_beat_at,
                         "seconds_since_heartbeat": int((now - b.last_beat_at).total_seconds())} for b in alive],
            "pending_alerts_overdue": lagging}


@blp.route("/health")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=HealthSchema, description="the database is unreachable")
    def get(self):
        """Database reachability and the clock engine's last heartbeat."""
        try:
            db.session.execute(sa.text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any failure means the database is not usable
            current_app.logger.exception("health: database check failed")
            db.session.rollback()
            return {"status": "degraded", "database": "unreachable", "scheduler": {"status": "unknown", "engines_alive": 0}}, 503
        now = request_now()
        scheduler = scheduler_health(now)
        delivery = delivery_health(db.session)
        status = "ok" if scheduler["status"] == "ok" and not scheduler["pending_alerts_overdue"] else "degraded"
        status = "degraded" if delivery["undelivered"] else status
        return {"status": status, "database": "ok", "scheduler": scheduler, "delivery": delivery}
