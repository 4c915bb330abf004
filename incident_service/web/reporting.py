"""Web pages of the reporting area: the supervisor's live board and its feed, and the policies page."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired

from incident_service.api_common import registry, request_now
from incident_service.auth.decorators import require
from incident_service.auth.permissions import Permission
from incident_service.extensions import db
from incident_service.reporting import board
from incident_service.reporting.duties import board_duties
from incident_service.reporting.policy import PolicyError, parse_policy
from incident_service.vendors.access import open_findings
from incident_service.vendors.models import Vendor
from incident_service.web.common import alert_reach

bp = Blueprint("reporting_web", __name__)
POLL_SECONDS = 5
MAX_POLICY_BYTES = 64 * 1024


def _filters() -> dict:
    vendor_id = request.args.get("vendor_id", type=int)
    min_severity = request.args.get("min_severity", type=int)
    return {"vendor_id": vendor_id, "min_severity": min_severity if min_severity in (1, 2, 3, 4) else None}


def _board(filters: dict) -> dict:
    now = request_now()
    rows = board.board_rows(session=db.session, registry=registry(), now=now, **filters)
    today = now.astimezone(registry().zone).date()
    return {"rows": rows, "counts": board.band_counts(rows), "server_now": now, "reach": alert_reach(now),
            "duties": board_duties(db.session, now=now, vendor_id=filters.get("vendor_id")),
            "findings": open_findings(db.session, today=today, vendor_id=filters.get("vendor_id"))}


def wall_rows(rows: list[board.BoardRow]) -> list[board.BoardRow]:
    """One row per incident: its nearest running clock (the rows come overdue first, then by time left)."""
    seen, out = set(), []
    for row in rows:
        if row.seconds_left is None or row.incident_id in seen:
            continue
        seen.add(row.incident_id)
        out.append(row)
    return out


@bp.route("/board")
@require(Permission.read, display=True)
def board_page():
    if request.args.get("wall") == "1":
        now = request_now()
        rows = board.board_rows(session=db.session, registry=registry(), now=now)
        return render_template("reporting/wall.html", rows=wall_rows(rows), server_now=now, reach=alert_reach(now),
                               poll_seconds=POLL_SECONDS, feed_url=url_for(".board_feed"))
    filters = _filters()
    vendors = db.session.execute(sa.select(Vendor.id, Vendor.name).order_by(Vendor.name)).all()
    feed_url = url_for(".board_feed", **{k: v for k, v in filters.items() if v})
    return render_template("reporting/board.html", **_board(filters), filters=filters, vendors=vendors,
                           poll_seconds=POLL_SECONDS, feed_url=feed_url, wall_url=url_for(".board_page", wall=1))


@bp.route("/board/feed")
@require(Permission.read, display=True)
def board_feed():
    """The board's rows as JSON with the server's now, for the page's poll every few seconds; 304 when nothing
    changed but the time (the page counts down by itself)."""
    now = request_now()
    rows = board.board_rows(session=db.session, registry=registry(), now=now, **_filters())
    body, etag = board.feed(rows, now=now, undelivered=alert_reach(now))
    if etag in request.if_none_match:
        response = Response(status=304)
    else:
        response = jsonify(body)
    response.set_etag(etag)  # the page sends it back itself (the answer is never stored: no-store)
    return response


class PolicyCheckForm(FlaskForm):
    policy_file = FileField(_l("Policy file (TOML)"), validators=[FileRequired()])


@bp.route("/admin/policies", methods=["GET", "POST"])
@require(Permission.admin_policies)
def policies():
    """The loaded policies and their clocks; and a check of a policy file before it is installed."""
    reg = registry()
    form = PolicyCheckForm()
    checked, problem = None, None
    if form.validate_on_submit():
        raw = form.policy_file.data.read(MAX_POLICY_BYTES + 1)
        name = form.policy_file.data.filename or "<upload>"
        if len(raw) > MAX_POLICY_BYTES:
            problem = f"{name}: larger than {MAX_POLICY_BYTES // 1024} KB."
        else:
            try:
                checked = parse_policy(raw.decode("utf-8"), source=name)
            except UnicodeDecodeError:
                problem = f"{name}: not UTF-8 text."
            except PolicyError as exc:
                problem = str(exc)
    status = 422 if problem or (form.is_submitted() and form.errors) else 200
    return render_template("reporting/policies.html", policies=[reg.get(k) for k in reg.keys()], form=form,
                           checked=checked, problem=problem), status
