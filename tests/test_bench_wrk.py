"""bench/wrk.py reads wrk's report: latency units, and answers outside 2xx (wrk itself counts only >= 400)."""
from __future__ import annotations

import pytest

from bench import wrk

REPORT = """Running 10s test @ http://127.0.0.1:8765/vendors/1
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   812.33ms  100.10ms   1.90s    70.00%
    Req/Sec     5.12      2.01    10.00     80.00%
  Latency Distribution
     50%  790.50ms
     75%  850.00ms
     90%    1.10s
     99%    1.52s
  98 requests in 10.02s, 6.71MB read
{extra}Requests/sec:      9.78
Transfer/sec:    685.12KB
bench-status: non2xx={non2xx} first={first} requests=98 bytes=7035000
"""


def test_rate_percentiles_in_milliseconds_and_bytes_per_response():
    result = wrk.parse(REPORT.format(extra="", non2xx=0, first=0))
    assert (result.requests, result.requests_per_second) == (98, 9.78)
    assert result.p50_ms == pytest.approx(790.5) and result.p99_ms == pytest.approx(1520.0)
    assert result.bytes_per_response == pytest.approx(7035000 / 98)
    assert result.failed is None


def test_microseconds():
    result = wrk.parse(REPORT.replace("790.50ms", "612.00us").format(extra="", non2xx=0, first=0))
    assert result.p50_ms == pytest.approx(0.612)


def test_a_redirect_under_load_fails_the_run_though_wrk_counts_no_error():
    result = wrk.parse(REPORT.format(extra="", non2xx=98, first=302))
    assert result.failed == "98 answers outside 2xx (first: 302)"


def test_socket_errors_fail_the_run():
    extra = "  Socket errors: connect 0, read 0, write 0, timeout 3\n  Non-2xx or 3xx responses: 2\n"
    result = wrk.parse(REPORT.format(extra=extra, non2xx=2, first=500))
    assert result.socket_errors == {"connect": 0, "read": 0, "write": 0, "timeout": 3}
    assert result.failed.startswith("2 answers outside 2xx")


def test_output_without_the_status_line_is_refused():
    with pytest.raises(wrk.WrkError):
        wrk.parse("Requests/sec: 10.0\n")
