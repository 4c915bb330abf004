"""What every web page shares: language, times in the firm's zone, the role-aware navigation, the start page."""
from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlencode

import sqlalchemy as sa

from flask import Blueprint, Flask, current_app, has_request_context, jsonify, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_babel import refresh
from flask_login import current_user
from werkzeug.routing import BuildError

from incident_service import timefmt
from incident_service.api_common import registry
from incident_service.auth.decorators import require
from incident_service.auth.permissions import Permission, user_can
from incident_service.extensions import babel, db
from incident_service.notify.models import Channel, NotifyEvent
from incident_service.notify.service import undelivered_count
from incident_service.web import wording

LANGUAGES = {"zh_TW": "繁體中文", "en": "English"}
DEFAULT_LOCALE = "zh_TW"

bp = Blueprint("web", __name__)

# The navigation: (endpoint candidates, label, permission). Candidates let a page built by another area
# appear as soon as it exists, without this module knowing its exact name in advance.
NAV = [
    (("reporting_web.board_page",), _l("Board"), Permission.read),
    (("incidents_web.report",), _l("Report an incident"), Permission.incident_write),
    (("incidents_web.incident_list",), _l("Incidents"), Permission.read),
    (("vendors_web.vendor_list",), _l("Vendors"), Permission.read),
    (("duties_web.duty_list",), _l("Vendor duties"), Permission.read),
    (("audit.entries", "audit.trail"), _l("Audit trail"), Permission.audit_read),
    (("api-docs.openapi_swagger_ui",), _l("API docs"), Permission.read),
]
ADMIN_NAV = [
    (("vendors_web.admin_vendors",), _l("Vendors, contracts, systems"), Permission.admin_vendors),
    (("auth_admin.users", "auth.users"), _l("Users"), Permission.admin_users),
    (("auth_admin.tokens_list", "auth.tokens"), _l("API tokens"), Permission.admin_users),
    (("reporting_web.policies",), _l("Reporting policies"), Permission.admin_policies),
    (("notify_web.channels", "notify.channels"), _l("Notification channels"), Permission.admin_policies),
    (("auth_admin.displays_list",), _l("Wall displays"), Permission.admin_users),
]
AUTOSAVE_SENT = "_autosave_sent"


def select_locale() -> str:
    chosen = session.get("lang")
    return chosen if chosen in LANGUAGES else DEFAULT_LOCALE


def firm_zone():
    return registry().zone


def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time as the firm's clock shows it."""
    return timefmt.local(value, firm_zone(), fmt)


def iso_local(value: str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An ISO 8601 string (as the service's figures carry times) in the firm's zone."""
    if not value:
        return ""
    return localtime(datetime.fromisoformat(value.replace("Z", "+00:00")), fmt)


def countdown(seconds: int | None) -> str:
    """``H:MM:SS`` (days as ``Nd H:MM:SS``), with a minus sign once overdue; the board's JS writes the same."""
    if seconds is None:
        return ""
    sign = "-" if seconds < 0 else ""
    days, rest = divmod(abs(int(seconds)), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{sign}{days}d {clock}" if days else f"{sign}{clock}"


def lang_url(code: str) -> str:
    """This page again, in another language (a query parameter works on every page, the login page too)."""
    args = request.args.to_dict(flat=False)
    args["lang"] = [code]
    return request.path + "?" + urlencode(args, doseq=True)


def first_url(*endpoints: str, **values) -> str | None:
    """The URL of the first endpoint that exists (pages of other areas may not be built yet)."""
    for endpoint in endpoints:
        if endpoint in current_app.view_functions:
            try:
                return url_for(endpoint, **values)
            except BuildError:
                continue
    return None


def _links(entries) -> list[tuple[str, str]]:
    out = []
    for endpoints, label, permission in entries:
        url = first_url(*endpoints)
        if url and user_can(current_user, permission):
            out.append((url, str(label)))
    return out


def undelivered_messages() -> int:
    """Messages that could not be delivered: the board shows a banner while there are any."""
    return undelivered_count(session=db.session)


UNROUTED_WINDOW = timedelta(hours=24)


def alert_reach(now: datetime) -> dict:
    """Whether warnings reach anyone, for the board's banner: messages given up on, alerts of the last day that no
    route reached, and whether any channel (or the SMTP_* settings) can carry a message at all (three queries)."""
    channels = db.session.scalar(sa.select(sa.func.count()).select_from(Channel).where(Channel.is_active.is_(True))) or 0
    unrouted = db.session.scalar(sa.select(sa.func.count()).select_from(NotifyEvent).where(
        NotifyEvent.recipients == 0, NotifyEvent.created_at >= now - UNROUTED_WINDOW)) or 0
    return {"undelivered": undelivered_messages(), "unrouted": unrouted,
            "no_channel": not channels and not current_app.config.get("SMTP_HOST")}


@bp.before_app_request
def _language_from_query() -> None:
    lang = request.args.get("lang")
    if lang in LANGUAGES and not request.path.startswith("/api/"):
        session["lang"] = lang
        refresh()  # in case something already read the language in this request


def form_sent(key: str) -> None:
    """The browser may forget its autosaved copy of this form: the server has it now (read on the next page)."""
    session[AUTOSAVE_SENT] = sorted(set(session.get(AUTOSAVE_SENT, [])) | {key})


def autosave_clear() -> list[str]:
    return session.pop(AUTOSAVE_SENT, []) if has_request_context() else []


@bp.get("/session/keepalive")
@require(Permission.read)
def keepalive():
    """A page's "stay logged in": the request itself moves the idle clock on (auth.guards); says how long it runs."""
    return jsonify({"idle_seconds": current_app.config["SESSION_IDLE_MINUTES"] * 60})


@bp.route("/")
@require(Permission.read)
def home():
    """Each role starts where its work is."""
    roles = set(current_user.roles or [])
    if "supervisor" in roles:
        return redirect(url_for("reporting_web.board_page"))
    if "oncall" in roles:
        return redirect(url_for("incidents_web.report"))
    return redirect(url_for("vendors_web.vendor_list"))


def init_app(app: Flask) -> None:
    """Language selection, the Jinja filters and what every template may use."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    babel.init_app(app, locale_selector=select_locale, default_locale=DEFAULT_LOCALE)
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["iso_local"] = iso_local
    app.jinja_env.filters["countdown"] = countdown
    app.jinja_env.filters["say"] = wording.say
    app.jinja_env.filters["state_label"] = wording.state_label
    app.jinja_env.filters["kind_label"] = wording.kind_label
    app.jinja_env.filters["status_label"] = wording.status_label
    app.jinja_env.filters["policy_title"] = wording.policy_title
    app.jinja_env.add_extension("jinja2.ext.do")

    @app.context_processor
    def _web_context():
        lang = select_locale() if has_request_context() else DEFAULT_LOCALE
        return {
            "can": lambda permission: user_can(current_user, Permission(permission)),
            "nav_links": lambda: _links(NAV),
            "admin_links": lambda: _links(ADMIN_NAV),
            "first_url": first_url,
            "lang_url": lang_url,
            "current_lang": lang,
            "current_locale": lang.replace("_", "-"),
            "is_zh": lang.startswith("zh"),
            "languages": LANGUAGES,
            "firm_zone_name": str(firm_zone()),
            "say": wording.say,
            "report_name": wording.report_name,
            "autosave_clear": autosave_clear,
            "idle_seconds": current_app.config.get("SESSION_IDLE_MINUTES", 15) * 60,
        }

    app.register_blueprint(bp)
