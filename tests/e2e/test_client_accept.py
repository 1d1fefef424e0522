"""The Accept headers the installed pip and uv really send, read off the wire by a loopback
server that answers 404: bastion's negotiation must give them JSON, as it did before it
followed PyPI's (HTML for ``*/*``), and as PyPI does."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bastion.index.responder import JSON_V1, TEXT_HTML, negotiate
from tests.e2e.conftest import BIN, client_env

pytestmark = pytest.mark.e2e


class _Recorder(BaseHTTPRequestHandler):
    seen: list[tuple[str, str]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("Accept", "")))
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[tuple[str, str]]]]:
    seen: list[tuple[str, str]] = []
    handler = type("Recorder", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple/", seen
    finally:
        server.shutdown()
        server.server_close()


def _accepts(seen: list[tuple[str, str]]) -> set[str]:
    return {accept for path, accept in seen if path.startswith("/simple/nothing-here")}


def test_pip_gets_json(recorder: tuple[str, list[tuple[str, str]]], tmp_path: Path) -> None:
    url, seen = recorder
    subprocess.run(
        [
            str(BIN / "pip"),
            "download",
            "--no-deps",
            "--index-url",
            url,
            "-d",
            str(tmp_path),
            "nothing-here",
        ],
        env=client_env(tmp_path),
        capture_output=True,
        timeout=120,
    )
    accepts = _accepts(seen)
    assert accepts, seen
    assert {negotiate(a) for a in accepts} == {JSON_V1}, accepts


def test_uv_gets_json(recorder: tuple[str, list[tuple[str, str]]], tmp_path: Path) -> None:
    url, seen = recorder
    subprocess.run(
        [str(BIN / "uv"), "pip", "compile", "--no-header", "--index-url", url, "-"],
        input=b"nothing-here\n",
        env=client_env(tmp_path),
        capture_output=True,
        timeout=120,
    )
    accepts = _accepts(seen)
    assert accepts, seen
    assert {negotiate(a) for a in accepts} == {JSON_V1}, accepts


def test_a_generic_client_gets_html() -> None:
    """curl, requests and httpx send ``*/*``: PyPI answers them HTML."""
    assert negotiate("*/*") == TEXT_HTML
