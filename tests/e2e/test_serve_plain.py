"""``BASTION_SERVE_FAST_PATH=0 bastion serve``: the plain server the benchmark compares bastion's
poller with (bench/perf, bastion-plain). It must serve the same pages, and it must really be the
plain server: gunicorn's own worker, without the poller's per-client connection cap."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.conftest import LiveIndex, serving

pytestmark = pytest.mark.e2e


def _page(index: LiveIndex) -> tuple[int, bytes]:
    """``/simple/`` while another connection from this address is open."""
    parts = urllib.parse.urlsplit(index.url)
    assert parts.hostname and parts.port
    with socket.create_connection((parts.hostname, parts.port), timeout=10):
        try:
            with urllib.request.urlopen(index.url + "/simple/", timeout=10) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, b""


def _alone(index: LiveIndex) -> bytes:
    """``/simple/`` on the only connection (the start-up probe's may take a moment to close)."""
    deadline = time.monotonic() + 5
    while True:
        try:
            with urllib.request.urlopen(index.url + "/simple/", timeout=10) as resp:
                return resp.read()
        except urllib.error.HTTPError as exc:
            if exc.code != 503 or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_the_plain_server_serves_the_same_pages_without_the_poller(tmp_path: Path) -> None:
    with serving(tmp_path, BASTION_MAX_CONNECTIONS_PER_CLIENT="1") as index:
        page = _alone(index)
        assert _page(index)[0] == 503  # the poller caps connections per address
    with serving(
        tmp_path, BASTION_MAX_CONNECTIONS_PER_CLIENT="1", BASTION_SERVE_FAST_PATH="0"
    ) as plain:
        assert _page(plain) == (200, page)
