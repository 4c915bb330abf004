"""`make run` (`flask serve-all`): stopping it stops its clock engine too, however it is stopped, so the next one
starts cleanly (the port is free, and on SQLite the engine lock is)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import requests
import sqlalchemy as sa

from incident_service.engine.models import EngineHeartbeat
from tests.notify.conftest import free_port
from tests.engine.processes import wait_for

ROOT = Path(__file__).resolve().parents[2]


def _command(port: int) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "wsgi", "serve-all", "--port", str(port), "--stop-with-parent"]


def _env(app, tmp_path) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "INCIDENT_SERVICE_ENV": "development",
            "AUDIT_ANCHOR_DIR": str(tmp_path / "anchors")}


def _serving(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


def _running_engine(session) -> EngineHeartbeat | None:
    session.rollback()
    return session.scalars(sa.select(EngineHeartbeat).where(EngineHeartbeat.stopped_at.is_(None))).first()


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _start(app, session, tmp_path, port, *, via_shell=False) -> tuple[subprocess.Popen, EngineHeartbeat]:
    log = (tmp_path / f"serve-{time.monotonic_ns()}.log").open("w")
    with log:
        if via_shell:  # like make: a shell that waits for serve-all and does not pass signals on
            command = " ".join(_command(port)) + "; true"
            proc = subprocess.Popen(["/bin/sh", "-c", command], cwd=ROOT, env=_env(app, tmp_path), stdout=log,
                                    stderr=subprocess.STDOUT)
        else:
            proc = subprocess.Popen(_command(port), cwd=ROOT, env=_env(app, tmp_path), stdout=log, stderr=subprocess.STDOUT)
    assert wait_for(lambda: _serving(port) and _running_engine(session) is not None)
    return proc, _running_engine(session)


def _finish(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_sigterm_to_serve_all_stops_its_engine_and_the_next_one_starts_cleanly(app, session, tmp_path):
    port = free_port()
    first, engine = _start(app, session, tmp_path, port)
    try:
        first.send_signal(signal.SIGTERM)  # what make sends its recipe when make itself is killed
        assert first.wait(timeout=30) is not None
        assert wait_for(lambda: _gone(engine.pid))
        session.rollback()
        assert session.get(EngineHeartbeat, engine.engine_id).stopped_at is not None  # it stopped, not died
        assert not _serving(port)
        second, again = _start(app, session, tmp_path, port)  # same port, same database (and lock): no refusal
        try:
            assert again.engine_id != engine.engine_id and second.poll() is None
        finally:
            _finish(second)
        assert wait_for(lambda: _gone(again.pid))
    finally:
        _finish(first)


def test_when_the_process_that_started_serve_all_is_killed_outright_both_stop(app, session, tmp_path):
    port = free_port()
    shell, engine = _start(app, session, tmp_path, port, via_shell=True)
    serve_all = psutil.Process(shell.pid).children()[0]
    try:
        shell.send_signal(signal.SIGKILL)  # `kill -9` of make: nothing is passed on
        shell.wait(timeout=10)
        assert wait_for(lambda: _gone(serve_all.pid) and _gone(engine.pid))
        assert not _serving(port)
    finally:
        for pid in (serve_all.pid, engine.pid):
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)
