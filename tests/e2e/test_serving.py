"""The production server as ``bastion serve`` runs it (gunicorn and bastion's worker class)."""

from __future__ import annotations

import socket
import time
import urllib.request
from urllib.parse import urlsplit

from tests.e2e.conftest import LiveIndex


def test_idle_connections_do_not_hold_up_requests(live_index: LiveIndex) -> None:
    """Clients open connections before they need them (uv opens several at once, browsers
    pre-connect). With gunicorn's stock gthread worker each idle connection holds one of the
    four threads for five seconds, and a real request waits for them; with bastion's worker
    it is answered at once. The bound is generous: the failure it catches is a 5 s stall."""
    parts = urlsplit(live_index.url)
    idle = [socket.create_connection((parts.hostname, parts.port)) for _ in range(8)]
    try:
        time.sleep(0.2)  # let the server accept them all
        started = time.monotonic()
        with urllib.request.urlopen(live_index.url + "/simple/", timeout=10) as response:
            assert response.status == 200
        assert time.monotonic() - started < 3.0
        # An idle connection that finally sends a request is served too.
        idle[0].sendall(b"GET /simple/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        idle[0].settimeout(10)
        assert idle[0].recv(64).startswith(b"HTTP/1.1 200")
    finally:
        for sock in idle:
            sock.close()
