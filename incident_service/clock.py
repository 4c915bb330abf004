"""The single source of "now". Everything else takes ``now`` as a parameter."""
from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The server's UTC time, timezone-aware."""
    return datetime.now(UTC)
