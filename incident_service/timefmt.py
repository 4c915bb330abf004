"""Showing times to people: in the firm's zone, and spans in words."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def local(value: datetime | None, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    return value.astimezone(zone).strftime(fmt)


def span(seconds: int, lang: str = "en") -> str:
    """A duration in words, e.g. ``4 h 05 min``; the sign is the caller's to word."""
    seconds = abs(int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if lang.startswith("zh"):
        units = ("天", "小時", "分", "秒")
        parts = [f"{n}{u}" for n, u in zip((days, hours, minutes), units) if n]
        return "".join(parts) or f"{secs}{units[3]}"
    parts = [f"{n} {u}" for n, u in zip((days, hours, minutes), ("d", "h", "min")) if n]
    return " ".join(parts) or f"{secs} s"
