"""HTTP benchmark under real load: python -m bench.http  (or: make bench-http)

For each size (default 10,000, then 100,000 incidents): rebuild the schema of the benchmark database with the
migrations and fill it in bulk (bench/dataset.py: two years of history, a vendor holding 1/9 of it, 40 open
incidents on the board), serve it with gunicorn (2 workers), and load each request with wrk (2 threads,
8 connections, 10 s after a 2 s warm-up): the service's own /api/v1/health, the board feed, the deadlines list,
a page of the incident list, the big vendor's two-year history (API) and its page. Each request is first checked
once (it must answer 200, no redirect). Prints req/s, the requests completed (n), p50/p99 latency (queueing for the
workers included), bytes per response and the throughput relative to /api/v1/health against the issue's goals;
writes artifacts/bench-http.json, and the server's log to artifacts/bench-http-server.log.

The ratio of each request is to a health run of half the duration just before it: on a shared machine the
throughput of health alone moves by a factor of two within a minute, and a baseline taken minutes earlier would
turn that drift into the figure.

Options (flag, or environment variable):
  --database-url  BENCH_HTTP_DATABASE_URL  postgresql+psycopg://postgres@127.0.0.1:5432/bench_http
                  (its schema is dropped: the name must contain "bench")
  --sizes         BENCH_HTTP_SIZES         10000,100000
  --duration      BENCH_HTTP_DURATION      10   seconds of load per request
  --warmup        BENCH_HTTP_WARMUP        2    seconds of load before it, not counted
  --connections   BENCH_HTTP_CONNECTIONS   8
  --threads       BENCH_HTTP_THREADS       2
  --workers       BENCH_HTTP_WORKERS       2    gunicorn workers
  --port          BENCH_HTTP_PORT          8765
wrk is /usr/bin/wrk (Debian package `wrk`): installed with apt-get when missing and running as root.

Exit status: 0 when every figure was measured, goals met or not (it is a measurement); 1 when a request failed
under load (answers outside 2xx, socket errors: its figures mean nothing); 2 when the harness could not run.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import psutil
import requests
import sqlalchemy as sa

from bench import dataset, wrk

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_http"
BENCH_USER = "bench-http"
# A slow page is measured, not cut off: gunicorn's default 30 s worker timeout would kill it, wrk's 2 s drop it.
WORKER_TIMEOUT_SECONDS = 120
WRK_TIMEOUT_SECONDS = 60


class HarnessError(RuntimeError):
    """The benchmark itself could not run (not a slow or failing request of the service)."""


@dataclass(frozen=True)
class Options:
    database_url: str
    sizes: tuple[int, ...]
    duration: float
    warmup: float
    connections: int
    threads: int
    workers: int
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass(frozen=True)
class Target:
    """One request to load: its label, its path, how it authenticates, and its goal (× health), if any."""

    label: str
    path: str
    auth: str  # "none", "token" (API) or "session" (web page)
    goal: float | None = None


@dataclass
class Row:
    label: str
    path: str
    body_bytes: int  # of the single check before the load
    requests: int  # completed under load: the p50/p99 rest on these
    requests_per_second: float
    p50_ms: float | None
    p99_ms: float | None
    bytes_per_response: float | None
    health_requests_per_second: float | None  # the baseline run just before this one
    ratio_to_health: float | None
    goal: float | None
    verdict: str  # OK, MISS, FAIL (not measurable), or "-" (no goal)
    failure: str | None


def targets(*, big_vendor_id: int, now: datetime) -> list[Target]:
    two_years_ago = quote((now - timedelta(days=730)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return [
        Target("health", "/api/v1/health", "none"),
        Target("board feed", "/board/feed", "session", goal=0.5),
        Target("deadlines list", "/api/v1/deadlines", "token"),
        Target("incident list, 50", "/api/v1/incidents?page_size=50", "token", goal=0.3),
        Target("vendor history, 2 years", f"/api/v1/vendors/{big_vendor_id}/history?aware_from={two_years_ago}", "token",
               goal=0.1),
        Target("vendor page", f"/vendors/{big_vendor_id}", "session", goal=0.1),
    ]


# -- the data and the credentials ---------------------------------------------------------------------------

def _bench_app(options: Options, server_secrets: dict[str, str]):
    from config import DevelopmentConfig
    from incident_service import create_app

    return create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=options.database_url, **server_secrets)


@dataclass(frozen=True)
class Prepared:
    big_vendor_id: int
    rows: dict[str, int]
    fill_seconds: float
    password: str
    token: str


def prepare(options: Options, server_secrets: dict[str, str], incidents: int, now: datetime) -> Prepared:
    """Rebuild the schema, fill it, and create a supervisor + auditor with an API token."""
    from incident_service.auth.service import create_user
    from incident_service.auth.tokens import create_token
    from incident_service.extensions import db

    app = _bench_app(options, server_secrets)
    with app.app_context():
        started = time.perf_counter()
        dataset.reset_schema(db)
        filled = dataset.fill(db=db, registry=app.extensions["policies"], incidents=incidents, now=now)
        fill_seconds = time.perf_counter() - started
        password = secrets.token_urlsafe(18)
        user = create_user(session=db.session, username=BENCH_USER, password=password, roles=["supervisor", "auditor"],
                           now=datetime.now(UTC))
        _, token = create_token(session=db.session, user=user, name="bench.http", created_by="bench", now=datetime.now(UTC))
        db.session.remove()
        db.engine.dispose()
    return Prepared(filled.big_vendor_id, filled.rows, fill_seconds, password, token)


def _check_database_name(url: str) -> None:
    name = sa.engine.make_url(url).database or ""
    if "bench" not in name:
        raise HarnessError(f"refusing to drop the schema of database {name!r}: give one whose name contains 'bench'")


# -- the server ---------------------------------------------------------------------------------------------

class Server:
    """gunicorn serving wsgi:app on the benchmark database, started and stopped by us."""

    def __init__(self, options: Options, server_secrets: dict[str, str], log_path: Path):
        self.options, self.secrets, self.log_path = options, server_secrets, log_path
        self.process: subprocess.Popen | None = None

    def environment(self) -> dict[str, str]:
        return {
            **os.environ, "INCIDENT_SERVICE_ENV": "development", "DATABASE_URL": self.options.database_url,
            "MFA_REQUIRED": "0", **self.secrets, "API_RATE_LIMIT": "1000000 per minute",
            "LOGIN_RATE_LIMIT": "1000 per minute", "TOKEN_RATE_LIMIT": "1000 per minute",
            "API_AUTH_FAILURE_LIMIT": "1000 per minute", "PYTHONUNBUFFERED": "1",
        }

    def start(self) -> None:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", self.options.port)) == 0:
                raise HarnessError(f"port {self.options.port} is already in use: give another with --port")
        gunicorn = Path(sys.executable).parent / "gunicorn"
        command = [str(gunicorn), "--workers", str(self.options.workers), "--bind", f"127.0.0.1:{self.options.port}",
                   "--timeout", str(WORKER_TIMEOUT_SECONDS), "--log-level", "warning", "wsgi:app"]
        with self.log_path.open("a") as log:
            log.write(f"\n== {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC: {' '.join(command)}\n")
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.environment(), stdout=log,
                                            stderr=subprocess.STDOUT)
        self._wait_healthy(timeout=60)

    def _wait_healthy(self, timeout: float) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise HarnessError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(self.options.base_url + "/api/v1/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise HarnessError(f"gunicorn did not answer /api/v1/health within {timeout:.0f} s:\n{self.log_tail()}")

    def wait_idle(self, timeout: float = 180) -> None:
        """wrk leaves requests queued when it stops; let the workers finish them before the next measurement."""
        workers = psutil.Process(self.process.pid).children()
        quiet_samples, end = 0, time.monotonic() + timeout
        for worker in workers:
            worker.cpu_percent(None)
        while quiet_samples < 2 and time.monotonic() < end:
            time.sleep(0.5)
            busy = sum(w.cpu_percent(None) for w in workers if w.is_running())
            quiet_samples = quiet_samples + 1 if busy < 5 else 0

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def login(base_url: str, password: str) -> str:
    """Log in through the web form (MFA is off); the Cookie header that carries the session."""
    browser = requests.Session()
    form = browser.get(base_url + "/login", timeout=30)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form.text)
    if form.status_code != 200 or token is None:
        raise HarnessError(f"GET /login answered {form.status_code} without a CSRF token")
    answer = browser.post(base_url + "/login", data={"csrf_token": token.group(1), "username": BENCH_USER,
                                                     "password": password}, allow_redirects=False, timeout=30)
    if answer.status_code != 302 or "session" not in browser.cookies:
        raise HarnessError(f"logging in answered {answer.status_code}, not a redirect with a session cookie")
    return "; ".join(f"{name}={value}" for name, value in browser.cookies.items())


# -- measuring ----------------------------------------------------------------------------------------------

def _headers(target: Target, token: str, cookie: str) -> dict[str, str]:
    return {"none": {}, "token": {"Authorization": f"Bearer {token}"}, "session": {"Cookie": cookie}}[target.auth]


def check_once(base_url: str, target: Target, headers: dict[str, str]) -> int:
    """One request before the load: it must answer 200 itself (a redirect to /login is a failure). Its body size."""
    started = time.perf_counter()
    answer = requests.get(base_url + target.path, headers=headers, allow_redirects=False, timeout=WRK_TIMEOUT_SECONDS)
    print(f"  check {target.path}: {answer.status_code}, {len(answer.content):,} bytes, "
          f"{(time.perf_counter() - started) * 1000:.0f} ms", flush=True)
    if answer.status_code != 200:
        raise HarnessError(f"{target.path} answered {answer.status_code} before any load: {answer.text[:300]}")
    return len(answer.content)


def measure(options: Options, server: Server, target: Target, headers: dict[str, str]) -> Row:
    """Check once, warm up, then load one request with wrk; the row is judged once health is known."""
    body_bytes = check_once(options.base_url, target, headers)
    load = dict(headers=headers, connections=options.connections, threads=options.threads,
                timeout_seconds=WRK_TIMEOUT_SECONDS)
    if options.warmup:
        wrk.run(options.base_url + target.path, seconds=options.warmup, **load)
        server.wait_idle()
    result = wrk.run(options.base_url + target.path, seconds=options.duration, **load)
    server.wait_idle()
    return Row(target.label, target.path, body_bytes, result.requests, result.requests_per_second, result.p50_ms,
               result.p99_ms, result.bytes_per_response, None, None, target.goal, "FAIL" if result.failed else "-",
               result.failed)


def health_baseline(options: Options, server: Server, health: Target) -> float:
    """Throughput of /api/v1/health right now (half the duration), for the ratio of the request that follows."""
    result = wrk.run(options.base_url + health.path, headers={}, seconds=max(options.duration / 2, 1),
                     connections=options.connections, threads=options.threads, timeout_seconds=WRK_TIMEOUT_SECONDS)
    server.wait_idle()
    if result.failed or not result.requests_per_second:
        raise HarnessError(f"/api/v1/health could not be measured: {result.failed}")
    return result.requests_per_second


def judge(row: Row, health_rps: float) -> None:
    """The row's throughput relative to health, against its goal."""
    row.health_requests_per_second = health_rps
    row.ratio_to_health = row.requests_per_second / health_rps
    if row.verdict != "FAIL" and row.goal is not None:
        row.verdict = "OK" if row.ratio_to_health >= row.goal else "MISS"


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.1f} ms"


def _ratio(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if value >= 0.1 else f"{value:.2g}"  # 0.0091, not 0.009 or 0.000


_TABLE = "  {:26} {:>9} {:>6} {:>10} {:>10} {:>11} {:>9} {:>9} {:>6}  {}"


def print_table(rows: list[Row]) -> None:
    print(_TABLE.format("request", "req/s", "n", "p50", "p99", "bytes/resp", "health/s", "× health", "goal", "verdict"))
    for row in rows:
        print(_TABLE.format(
            row.label, f"{row.requests_per_second:.1f}", row.requests, _ms(row.p50_ms), _ms(row.p99_ms),
            f"{row.bytes_per_response:,.0f}" if row.bytes_per_response is not None else "-",
            f"{row.health_requests_per_second:.1f}" if row.health_requests_per_second else "-",
            _ratio(row.ratio_to_health),
            f"≥ {row.goal:g}" if row.goal is not None else "-",
            row.verdict + (f"  ({row.failure})" if row.failure else "")))


def bench_size(options: Options, server_secrets: dict[str, str], incidents: int, log_path: Path) -> dict:
    now = datetime.now(UTC)
    print(f"\n== {incidents:,} incidents", flush=True)
    prepared = prepare(options, server_secrets, incidents, now)
    written = ", ".join(f"{name} {count:,}" for name, count in prepared.rows.items())
    print(f"  filled in {prepared.fill_seconds:.1f} s (schema by the migrations, VACUUM ANALYZE included): {written}",
          flush=True)
    server = Server(options, server_secrets, log_path)
    try:
        server.start()
        cookie = login(options.base_url, prepared.password)
        health, *others = targets(big_vendor_id=prepared.big_vendor_id, now=now)
        rows = [measure(options, server, health, {})]
        if rows[0].failure or not rows[0].requests_per_second:
            raise HarnessError(f"/api/v1/health could not be measured: {rows[0].failure}")
        judge(rows[0], rows[0].requests_per_second)
        for target in others:
            baseline = health_baseline(options, server, health)
            rows.append(measure(options, server, target, _headers(target, prepared.token, cookie)))
            judge(rows[-1], baseline)
    finally:
        server.stop()
    print(f"\n  {incidents:,} incidents; gunicorn {options.workers} workers; wrk {options.threads} threads, "
          f"{options.connections} connections, {options.duration:g} s per request; ratios to a health run just before")
    print_table(rows)
    return {"incidents": incidents, "fill_seconds": round(prepared.fill_seconds, 1), "rows_written": prepared.rows,
            "big_vendor_id": prepared.big_vendor_id, "results": [asdict(row) for row in rows]}


def _parse_options(argv: list[str] | None) -> Options:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=env("BENCH_HTTP_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--sizes", default=env("BENCH_HTTP_SIZES", "10000,100000"), help="comma-separated incident counts")
    parser.add_argument("--duration", type=float, default=float(env("BENCH_HTTP_DURATION", "10")))
    parser.add_argument("--warmup", type=float, default=float(env("BENCH_HTTP_WARMUP", "2")))
    parser.add_argument("--connections", type=int, default=int(env("BENCH_HTTP_CONNECTIONS", "8")))
    parser.add_argument("--threads", type=int, default=int(env("BENCH_HTTP_THREADS", "2")))
    parser.add_argument("--workers", type=int, default=int(env("BENCH_HTTP_WORKERS", "2")))
    parser.add_argument("--port", type=int, default=int(env("BENCH_HTTP_PORT", "8765")))
    args = parser.parse_args(argv)
    sizes = tuple(int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip())
    return Options(args.database_url, sizes, args.duration, args.warmup, args.connections, args.threads, args.workers,
                   args.port)


def main(argv: list[str] | None = None) -> int:
    import logging

    options = _parse_options(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally blocks stop gunicorn
    logging.disable(logging.INFO)  # the app's and Alembic's INFO lines; warnings still show
    ARTIFACTS.mkdir(exist_ok=True)
    log_path, json_path = ARTIFACTS / "bench-http-server.log", ARTIFACTS / "bench-http.json"
    log_path.write_text("")
    # One pair of keys for the whole run: the in-process app and gunicorn must agree on them.
    server_secrets = {"SECRET_KEY": secrets.token_hex(32), "FIELD_ENCRYPTION_KEY": secrets.token_hex(32)}
    report = {"started_at": datetime.now(UTC).isoformat(timespec="seconds"),
              "database": sa.engine.make_url(options.database_url).render_as_string(hide_password=True),
              "options": {k: v for k, v in asdict(options).items() if k != "database_url"}, "runs": []}
    try:
        _check_database_name(options.database_url)
        wrk.ensure_wrk()
        for incidents in options.sizes:
            report["runs"].append(bench_size(options, server_secrets, incidents, log_path))
            json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False))  # each size as soon as it is done
    except (HarnessError, wrk.WrkError) as error:
        print(f"\nbench.http: {error}", file=sys.stderr)
        return 2
    print(f"\nfigures: {json_path.relative_to(ROOT)}; server log: {log_path.relative_to(ROOT)}")
    failed = [f"{run['incidents']:,}: {row['label']}" for run in report["runs"] for row in run["results"]
              if row["verdict"] == "FAIL"]
    if failed:
        print("not measurable (answers outside 2xx or socket errors): " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
