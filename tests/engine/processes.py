"""Helpers for the tests that run real engine processes."""
from __future__ import annotations

import time


def wait_for(predicate, timeout=30.0) -> bool:
    """Poll a real process's effect (not a deadline: the domain clock is not involved) until true or the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False
