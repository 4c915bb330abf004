"""The span of dates the service accepts anywhere (API fields, web forms, filters): 2000-01-01 to 2100-12-31.

Earlier or later dates are typing mistakes here, and dates near the platform's limits (year 1 or 9999 with an
offset) cannot even be converted to UTC: refusing them by name keeps every such input a 422 instead of a 500.
"""
from __future__ import annotations

from datetime import date

EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)
RANGE_MESSAGE = "Give a date between 2000-01-01 and 2100-12-31."


def in_range(value: date) -> bool:
    return EARLIEST <= value <= LATEST
