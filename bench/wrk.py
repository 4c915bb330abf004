"""wrk, the HTTP load generator (Debian package `wrk`): find or install it, run it against one URL, read its figures.

wrk counts only answers of 400 and above as errors, so a page that redirects to /login under load would pass
as fast and healthy: `wrk_status.lua` counts every answer outside 2xx as well.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

WRK = Path("/usr/bin/wrk")
INSTALL = ["apt-get", "install", "-y", "-q", "wrk"]
STATUS_SCRIPT = Path(__file__).with_name("wrk_status.lua")
_TIME_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_PERCENTILE = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_NON_2XX_3XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_STATUS_LINE = re.compile(r"^bench-status: non2xx=(\d+) first=(\d+) requests=(\d+) bytes=(\d+)$", re.MULTILINE)


class WrkError(RuntimeError):
    """wrk is missing and cannot be installed from here, or did not run: the message says what to do."""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    requests_per_second: float
    p50_ms: float | None
    p99_ms: float | None
    bytes_per_response: float | None  # headers and body, as read off the wire
    non_2xx: int  # answers outside 2xx, redirects included
    first_non_2xx_status: int | None
    socket_errors: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> str | None:
        """Why the run cannot count as a measurement, or None."""
        if self.non_2xx:
            return f"{self.non_2xx} answers outside 2xx (first: {self.first_non_2xx_status})"
        if any(self.socket_errors.values()):
            return "socket errors " + ", ".join(f"{k} {v}" for k, v in self.socket_errors.items() if v)
        if not self.requests:
            return "no request completed"
        return None


def ensure_wrk() -> Path:
    """The wrk binary; installed with apt-get when missing and running as root, else WrkError."""
    if WRK.exists():
        return WRK
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise WrkError(f"wrk is not installed: run `sudo {' '.join(INSTALL)}` (Debian/Ubuntu), then again.")
    print(f"wrk is missing: {' '.join(INSTALL)}", flush=True)
    if subprocess.run(INSTALL, stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], stdout=subprocess.DEVNULL, check=False)
        subprocess.run(INSTALL, stdout=subprocess.DEVNULL, check=False)
    if not WRK.exists():
        raise WrkError(f"installing wrk failed: run `{' '.join(INSTALL)}` and look at its output.")
    return WRK


def _milliseconds(text: str) -> dict[str, float]:
    return {match[0]: float(match[1]) * _TIME_UNITS_MS[match[2]] for match in _PERCENTILE.findall(text)}


def parse(output: str) -> WrkResult:
    """Read wrk's --latency report (plus the status line of wrk_status.lua)."""
    rate = _RATE.search(output)
    status = _STATUS_LINE.search(output)
    if rate is None or status is None:
        raise WrkError(f"not a wrk report with the status script's line:\n{output}")
    non_2xx, first, requests, total_bytes = (int(g) for g in status.groups())
    reported = _NON_2XX_3XX.search(output)  # wrk's own count (>= 400): already within ours, kept as a cross-check
    non_2xx = max(non_2xx, int(reported.group(1)) if reported else 0)
    errors = _SOCKET_ERRORS.search(output)
    percentiles = _milliseconds(output)
    return WrkResult(
        requests=requests, requests_per_second=float(rate.group(1)),
        p50_ms=percentiles.get("50") if requests else None, p99_ms=percentiles.get("99") if requests else None,
        bytes_per_response=total_bytes / requests if requests else None,
        non_2xx=non_2xx, first_non_2xx_status=first or None,
        socket_errors=dict(zip(("connect", "read", "write", "timeout"), map(int, errors.groups()))) if errors else {},
    )


def run(url: str, *, headers: dict[str, str], seconds: float, connections: int, threads: int,
        timeout_seconds: float) -> WrkResult:
    """``wrk -tT -cC -dDs --latency`` against one URL; the figures it printed."""
    command = [str(ensure_wrk()), f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", f"--timeout={timeout_seconds:g}s",
               "--latency", "-s", str(STATUS_SCRIPT)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    try:
        done = subprocess.run(command + [url], capture_output=True, text=True, timeout=seconds + timeout_seconds + 60)
    except subprocess.TimeoutExpired as error:
        raise WrkError(f"wrk did not finish: {' '.join(command)}") from error
    if done.returncode != 0:
        raise WrkError(f"wrk exited with {done.returncode}: {done.stderr.strip() or done.stdout.strip()}")
    return parse(done.stdout)
