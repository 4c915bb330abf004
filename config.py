"""Configuration classes, read from the environment.

Development runs on an SQLite file in ``instance/`` and generates its keys there once; production needs
``DATABASE_URL``, ``SECRET_KEY``, ``FIELD_ENCRYPTION_KEY`` and ``AUDIT_ANCHOR_KEY`` (see incident_service/keys.py).
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _list(name: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, "").split(",") if part.strip()]


class Config:
    # -- keys (incident_service/keys.py): at least 32 bytes, never a published default, in every environment --
    # Signs sessions and CSRF tokens. Development generates one into instance/secret_key when none is set.
    SECRET_KEY = os.environ.get("SECRET_KEY") or None
    # Encrypts stored secrets (TOTP keys, channel passwords, webhook secrets and URLs); several, newest first,
    # separated by commas, while `flask --app wsgi keys rotate` moves everything to the newest. Default: SECRET_KEY.
    FIELD_ENCRYPTION_KEY = os.environ.get("FIELD_ENCRYPTION_KEY") or None
    # Signs the audit trail's checkpoints (kept outside the database). Development generates one into instance/.
    AUDIT_ANCHOR_KEY = os.environ.get("AUDIT_ANCHOR_KEY") or None
    GENERATE_MISSING_KEYS = False
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'incident_service.db'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    # The firm's zone: every time shown to a person is in it; everything stored is UTC.
    FIRM_TIMEZONE = os.environ.get("FIRM_TIMEZONE", "Asia/Taipei")
    # Reporting policies applied to a new incident when it names none (keys of files in POLICY_DIRS).
    DEFAULT_POLICIES = [p for p in os.environ.get("DEFAULT_POLICIES", "twse").split(",") if p]
    # Extra folders with policy files (TOML); the shipped ones are always loaded.
    POLICY_DIRS = [p for p in os.environ.get("POLICY_DIRS", "").split(os.pathsep) if p]
    # A filing recorded more than this many minutes after its stated submission needs a supervisor.
    FILING_BACKDATE_MINUTES = int(os.environ.get("FILING_BACKDATE_MINUTES", "60"))
    # The firm's criteria for a major security incident (a TOML file); default: the shipped list.
    MAJOR_INCIDENT_CRITERIA_FILE = os.environ.get("MAJOR_INCIDENT_CRITERIA_FILE") or None
    # The exchange's trading calendar (a TOML file): no vendor change inside a session; default: the shipped one.
    TRADING_CALENDAR_FILE = os.environ.get("TRADING_CALENDAR_FILE") or None
    # What every draft report states: the firm, who the regulator calls, and the line investors call.
    FIRM_NAME = os.environ.get("FIRM_NAME", "本公司")
    REPORTING_CONTACT = os.environ.get("REPORTING_CONTACT", "")
    CUSTOMER_SERVICE_LINE = os.environ.get("CUSTOMER_SERVICE_LINE", "")
    # How long before a scheduler heartbeat counts as stale on /health.
    SCHEDULER_STALE_SECONDS = int(os.environ.get("SCHEDULER_STALE_SECONDS", "30"))
    # The clock engine sleeps until the next due alert, and at most this long (its safety-net poll; on PostgreSQL a
    # web request that schedules an earlier alert wakes it at once).
    ENGINE_TICK_SECONDS = float(os.environ.get("ENGINE_TICK_SECONDS", "0.5"))
    ENGINE_BATCH_SIZE = int(os.environ.get("ENGINE_BATCH_SIZE", "500"))
    # How often the engine brings every vendor's duties in line with the calendar (writes resync at once anyway).
    DUTY_SYNC_MINUTES = float(os.environ.get("DUTY_SYNC_MINUTES", "60"))
    # Base URL used in links inside messages.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    # -- delivering warnings (see README "Delivering warnings: channels, routing, outbox") --
    # A default email channel from the environment (SMTP_SECURITY: none, starttls or ssl).
    SMTP_HOST = os.environ.get("SMTP_HOST")
    SMTP_PORT = int(os.environ.get("SMTP_PORT", "25"))
    SMTP_SECURITY = os.environ.get("SMTP_SECURITY", "none")
    SMTP_USERNAME = os.environ.get("SMTP_USERNAME")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD")
    SMTP_FROM = os.environ.get("SMTP_FROM", "incident-service@localhost")
    # Retries: the first after NOTIFY_BACKOFF_SECONDS, doubling up to the cap; undelivered after the limit.
    NOTIFY_MAX_ATTEMPTS = int(os.environ.get("NOTIFY_MAX_ATTEMPTS", "10"))
    NOTIFY_BACKOFF_SECONDS = int(os.environ.get("NOTIFY_BACKOFF_SECONDS", "30"))
    NOTIFY_BACKOFF_MAX_SECONDS = int(os.environ.get("NOTIFY_BACKOFF_MAX_SECONDS", "1800"))
    # A claimed message not marked within the lease is sent again (same idempotency key); a live sender renews it
    # every third of it, so a dead engine's messages move to another within this many seconds.
    NOTIFY_LEASE_SECONDS = float(os.environ.get("NOTIFY_LEASE_SECONDS", "10"))
    NOTIFY_TICK_SECONDS = float(os.environ.get("NOTIFY_TICK_SECONDS", "1"))
    NOTIFY_SCAN_SECONDS = float(os.environ.get("NOTIFY_SCAN_SECONDS", "60"))
    NOTIFY_BATCH_SIZE = int(os.environ.get("NOTIFY_BATCH_SIZE", "40"))
    NOTIFY_WORKERS = int(os.environ.get("NOTIFY_WORKERS", "8"))
    NOTIFY_SEND_TIMEOUT = float(os.environ.get("NOTIFY_SEND_TIMEOUT", "10"))
    # Honour each warning's own audience (reporter; supervisors for escalations) besides the routing rules.
    NOTIFY_FOLLOW_AUDIENCE = _bool("NOTIFY_FOLLOW_AUDIENCE", True)

    API_TITLE = "incident_service"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "/docs"
    # Served by us from the swagger-ui-bundle package: the docs page works without internet.
    OPENAPI_SWAGGER_UI_URL = "/api/v1/docs-assets/"
    API_SPEC_OPTIONS = {
        "info": {
            "description": (
                "Vendor-caused incidents, the regulatory reporting clock, contracts and remediation. "
                "Times are ISO 8601 with an offset; answers are in UTC. Lists are paginated with "
                "`page` and `page_size`; the `X-Pagination` header carries totals."
            )
        }
    }
    JSON_SORT_KEYS = False
    MAX_CONTENT_LENGTH = 1 * 1024 * 1024

    # -- login, MFA, sessions, tokens (see README "Login, MFA and tokens") --
    # A second factor (TOTP) for every user. Only DevelopmentConfig may turn it off (`make run` demo).
    MFA_REQUIRED = True
    MFA_ISSUER = os.environ.get("MFA_ISSUER", "incident_service")
    # Account lock: the N-th wrong password or code in a row locks the account for LOCK_MINUTES.
    LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "5"))
    LOGIN_LOCK_MINUTES = int(os.environ.get("LOGIN_LOCK_MINUTES", "15"))
    # Sessions end after this much inactivity, and in any case this long after login.
    SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", "15"))
    SESSION_MAX_HOURS = int(os.environ.get("SESSION_MAX_HOURS", "10"))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Argon2id cost (argon2-cffi defaults: RFC 9106 low-memory profile).
    ARGON2_TIME_COST = int(os.environ.get("ARGON2_TIME_COST", "3"))
    ARGON2_MEMORY_KIB = int(os.environ.get("ARGON2_MEMORY_KIB", "65536"))
    ARGON2_PARALLELISM = int(os.environ.get("ARGON2_PARALLELISM", "4"))
    # Rate limits (Flask-Limiter syntax). Storage is in memory per process; give several workers a shared
    # store, e.g. RATELIMIT_STORAGE_URI=redis://localhost:6379/0.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute;60 per hour")
    TOKEN_RATE_LIMIT = os.environ.get("TOKEN_RATE_LIMIT", "10 per minute")
    API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "1200 per minute")
    API_AUTH_FAILURE_LIMIT = os.environ.get("API_AUTH_FAILURE_LIMIT", "20 per minute")
    # Content-Security-Policy for every page; the Swagger UI page gets its own (it needs inline script).
    CONTENT_SECURITY_POLICY = os.environ.get(
        "CONTENT_SECURITY_POLICY",
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    )
    # API tokens expire this many days after they are created or renewed.
    API_TOKEN_DAYS = int(os.environ.get("API_TOKEN_DAYS", "90"))
    # After an MFA reset the next enrolment also needs the one-time code the admin was given; it expires.
    MFA_RESET_CODE_HOURS = int(os.environ.get("MFA_RESET_CODE_HOURS", "24"))
    # Reverse proxies in front of the service (hops whose X-Forwarded-For/-Proto/-Host are believed); 0: none.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    # Webhooks may reach loopback, private, link-local or multicast addresses only for these hosts (or CIDRs).
    WEBHOOK_ALLOWED_HOSTS = _list("WEBHOOK_ALLOWED_HOSTS")
    # JSON bodies nested deeper than this are refused (400) before they are parsed.
    JSON_MAX_DEPTH = int(os.environ.get("JSON_MAX_DEPTH", "32"))

    # -- the audit trail's checkpoints (README "Audit trail") --
    AUDIT_ANCHOR_DIR = os.environ.get("AUDIT_ANCHOR_DIR") or str(INSTANCE_DIR / "audit-anchors")
    AUDIT_ANCHOR_MINUTES = int(os.environ.get("AUDIT_ANCHOR_MINUTES", "60"))
    # Also mail each checkpoint to the auditors (through the notification outbox).
    AUDIT_ANCHOR_MAIL = _bool("AUDIT_ANCHOR_MAIL", False)
    # The same list read by the same person within this many seconds is recorded once (e.g. the board's poll).
    AUDIT_READ_COALESCE_SECONDS = int(os.environ.get("AUDIT_READ_COALESCE_SECONDS", "300"))


class DevelopmentConfig(Config):
    DEBUG = False
    GENERATE_MISSING_KEYS = True  # instance/secret_key and instance/audit_anchor_key, mode 0600, made once
    # `make run` sets MFA_REQUIRED=0 so the demo logins work without an authenticator app.
    MFA_REQUIRED = _bool("MFA_REQUIRED", True)


class TestingConfig(Config):
    TESTING = True
    # Random per test run (tests/conftest.py puts them in the environment, so processes it starts share them).
    SECRET_KEY = os.environ.get("SECRET_KEY") or secrets.token_urlsafe(48)
    FIELD_ENCRYPTION_KEY = os.environ.get("FIELD_ENCRYPTION_KEY") or secrets.token_urlsafe(48)
    AUDIT_ANCHOR_KEY = os.environ.get("AUDIT_ANCHOR_KEY") or secrets.token_urlsafe(48)
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    # Cheap hashing keeps the suite fast; production keeps the defaults above.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_KIB = 1024
    ARGON2_PARALLELISM = 1


class ProductionConfig(Config):
    PRODUCTION = True
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-session"  # HTTPS only, this host only, whole site
    MFA_REQUIRED = True  # never off in production: create_app refuses an override
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")  # required
    # SECRET_KEY, FIELD_ENCRYPTION_KEY and AUDIT_ANCHOR_KEY are required too: checked in create_app.


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    return CONFIGS[os.environ.get("INCIDENT_SERVICE_ENV", "development")]
