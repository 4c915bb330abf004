"""The knobs of delivery, read once from the app config into a plain value the services take."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from flask import current_app


@dataclass(frozen=True)
class SmtpSettings:
    """The default email channel from config/env (``SMTP_HOST`` ...); ``host`` None means none is configured."""

    host: str | None = None
    port: int = 25
    security: str = "none"  # none, starttls, ssl
    username: str | None = None
    password: str | None = None
    from_address: str = "incident-service@localhost"


@dataclass(frozen=True)
class NotifySettings:
    zone: ZoneInfo = ZoneInfo("Asia/Taipei")
    base_url: str = "http://127.0.0.1:5000"
    max_attempts: int = 10
    backoff_seconds: int = 30  # first retry after this, doubling each time
    backoff_max_seconds: int = 1800
    # A claimed message not marked by then is retried: its sender is presumed dead. A live sender renews the lease
    # of what it still holds every third of it, so the lease can be short and a dead engine's work moves in seconds.
    lease_seconds: float = 10
    batch_size: int = 40
    workers: int = 8  # messages sent in parallel (network only; marks stay on one thread)
    send_timeout: float = 10.0
    follow_audience: bool = True  # honour each notification's own audience (reporter, supervisors)
    smtp: SmtpSettings = SmtpSettings()
    webhook_allowed_hosts: tuple[str, ...] = ()  # may be loopback/private (WEBHOOK_ALLOWED_HOSTS)

    @property
    def renew_seconds(self) -> float:
        """How often a sender renews the lease of the messages it holds (its heartbeat)."""
        return max(self.lease_seconds / 3, 0.1)


def settings_from(config: Mapping[str, Any], zone: ZoneInfo) -> NotifySettings:
    smtp = SmtpSettings(
        host=config.get("SMTP_HOST") or None, port=int(config.get("SMTP_PORT", 25)),
        security=config.get("SMTP_SECURITY", "none"), username=config.get("SMTP_USERNAME") or None,
        password=config.get("SMTP_PASSWORD") or None,
        from_address=config.get("SMTP_FROM") or "incident-service@localhost",
    )
    return NotifySettings(
        zone=zone, base_url=config.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        max_attempts=int(config.get("NOTIFY_MAX_ATTEMPTS", 10)),
        backoff_seconds=int(config.get("NOTIFY_BACKOFF_SECONDS", 30)),
        backoff_max_seconds=int(config.get("NOTIFY_BACKOFF_MAX_SECONDS", 1800)),
        lease_seconds=float(config.get("NOTIFY_LEASE_SECONDS", 10)),
        batch_size=int(config.get("NOTIFY_BATCH_SIZE", 40)), workers=int(config.get("NOTIFY_WORKERS", 8)),
        send_timeout=float(config.get("NOTIFY_SEND_TIMEOUT", 10)),
        follow_audience=bool(config.get("NOTIFY_FOLLOW_AUDIENCE", True)), smtp=smtp,
        webhook_allowed_hosts=tuple(config.get("WEBHOOK_ALLOWED_HOSTS") or ()),
    )


def current_settings() -> NotifySettings:
    """The settings of the current app (handlers and jobs; services take them as an argument)."""
    return settings_from(current_app.config, current_app.extensions["policies"].zone)
