"""On SQLite only one engine may run: an exclusive lock on a file beside the database enforces it.

On PostgreSQL no lock is needed: claims use FOR UPDATE SKIP LOCKED, so every engine is a hot standby.
"""
from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path


class EngineAlreadyRunning(RuntimeError):
    pass


class SingleEngineLock:
    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def acquire(self, *, wait_seconds: float = 0.0) -> None:
        """Take the lock, or raise EngineAlreadyRunning. ``wait_seconds``: give an engine that is stopping (the
        previous ``make run``'s, finishing its sends) that long to let go first."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        give_up = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as exc:
                if time.monotonic() < give_up:
                    time.sleep(0.2)
                    continue
                os.close(fd)
                raise EngineAlreadyRunning(
                    f"Another clock engine holds {self.path}; on SQLite only one may run (use PostgreSQL for several)."
                ) from exc
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def lock_path_for(database_uri: str, instance_path: str) -> Path | None:
    """The lock file for an SQLite database, or None for a database that needs no lock."""
    if not database_uri.startswith("sqlite"):
        return None
    file_part = database_uri.split("///", 1)[1] if "///" in database_uri else ""
    if not file_part or file_part == ":memory:":
        return Path(instance_path) / "engine-memory.lock"
    return Path(file_part + ".engine.lock")
