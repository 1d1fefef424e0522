"""The production server as ``bastion serve`` runs it (gunicorn and bastion's worker class).

bastion's worker answers the simple pages on gunicorn's poller thread when that cannot block
(see :mod:`bastion.serving`) and leaves everything else to the worker threads. These tests
drive a live server over raw sockets: keep-alive, pipelining, slow clients and clients that do
not read must behave as on the thread path, and must never hold up other clients.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest

from tests import builders
from tests.conftest import basic
from tests.e2e.conftest import LiveIndex

pytestmark = pytest.mark.e2e

NAME = "serve-demo"
JSON_V1 = "application/vnd.pypi.simple.v1+json"
# The worker threads of `bastion serve` (its default --threads) and a few more.
STALLERS = 6


def _address(live_index: LiveIndex) -> tuple[str, int]:
    parts = urlsplit(live_index.url)
    assert parts.hostname and parts.port
    return parts.hostname, parts.port


@contextmanager
def _connect(live_index: LiveIndex, rcvbuf: int | None = None) -> Iterator[socket.socket]:
    sock = socket.socket()
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(10)
    sock.connect(_address(live_index))
    try:
        yield sock
    finally:
        sock.close()


class Reader:
    """Reads HTTP/1.1 responses off a socket, one after the other."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed by the server")
        self.buf += data

    def response(self, head_only: bool = False) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if head_only or status in (204, 304) or status < 200:
            return status, headers, b""
        if headers.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    self._fill()
                size_line, _, self.buf = self.buf.partition(b"\r\n")
                size = int(size_line, 16)
                while len(self.buf) < size + 2:
                    self._fill()
                body += self.buf[:size]
                self.buf = self.buf[size + 2 :]
                if size == 0:
                    return status, headers, body
        length = int(headers["content-length"])
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return status, headers, body

    def closed(self) -> bool:
        """Whether the server closed the connection (nothing more to read)."""
        if self.buf:
            return False
        # At once: well before the keep-alive timeout would close it anyway.
        self.sock.settimeout(2)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False


def _get(path: str, *headers: str, method: str = "GET", version: str = "1.1") -> bytes:
    lines = [f"{method} {path} HTTP/{version}", "Host: 127.0.0.1", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _multipart(fields: list[tuple[str, str]], dist: builders.Dist) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for key, value in fields:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        )
    parts.append(
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="content"; '
            f'filename="{dist.filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        + dist.data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@pytest.fixture(scope="module")
def published(live_index: LiveIndex) -> LiveIndex:
    """``serve-demo`` 1.0, uploaded with a POST to /legacy/ (a request the threads answer)."""
    token = live_index.publisher_token("server")
    dist = builders.wheel("Serve_Demo", "1.0")
    body, content_type = _multipart(dist.fields, dist)
    request = urllib.request.Request(
        live_index.url + "/legacy/",
        data=body,
        headers={
            "Content-Type": content_type,
            "Authorization": basic(token),
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
    live_index.wait_published("serve-demo", "1.0", 1)
    deadline = time.monotonic() + 60
    while True:  # the page is rendered by the background worker
        try:
            with urllib.request.urlopen(live_index.url + f"/simple/{NAME}/", timeout=10) as r:
                if b"serve_demo-1.0-py3-none-any.whl" in r.read():
                    break
        except OSError:
            pass
        assert time.monotonic() < deadline, "the simple page was not rendered"
        time.sleep(0.2)
    return live_index


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


def test_keep_alive_answers_every_request_on_one_connection(published: LiveIndex) -> None:
    """As pip does: one connection, one request at a time, GET, conditional GET, HEAD, and
    the JSON form by Accept and by ``?format=``."""
    host, port = _address(published)
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.connect()
    sock = conn.sock
    page = f"/simple/{NAME}/"

    conn.request("GET", page)
    first = conn.getresponse()
    html = first.read()
    etag = first.getheader("ETag")
    assert first.status == 200 and etag
    assert b"serve_demo-1.0-py3-none-any.whl" in html
    assert first.getheader("Connection") == "keep-alive"
    assert first.getheader("Date") and first.getheader("Server")

    for i in range(200):
        kind = i % 5
        if kind == 0:
            conn.request("GET", page)
            r = conn.getresponse()
            assert (r.status, r.read()) == (200, html)
            assert r.getheader("Content-Type") == "text/html; charset=utf-8"
        elif kind == 1:
            conn.request("GET", page, headers={"If-None-Match": etag})
            r = conn.getresponse()
            assert (r.status, r.read()) == (304, b"")
            assert r.getheader("ETag") == etag
        elif kind == 2:
            conn.request("HEAD", page)
            r = conn.getresponse()
            assert (r.status, r.read()) == (200, b"")
            assert r.getheader("Content-Length") == str(len(html))
        elif kind == 3:
            conn.request("GET", page, headers={"Accept": JSON_V1})
            r = conn.getresponse()
            assert r.status == 200
            assert r.getheader("Content-Type") == JSON_V1
            assert json.loads(r.read())["name"] == NAME
        else:
            conn.request("GET", page + "?format=" + JSON_V1)
            r = conn.getresponse()
            assert r.status == 200
            assert r.getheader("Content-Type") == JSON_V1
            assert json.loads(r.read())["files"][0]["filename"] == "serve_demo-1.0-py3-none-any.whl"
        assert r.getheader("Connection") == "keep-alive"
        assert conn.sock is sock, f"request {i} needed a new connection"
    conn.close()


def test_pipelined_requests_are_answered_in_order(published: LiveIndex) -> None:
    """Several requests in one packet: simple pages (answered by the poller), a redirect and
    a JSON API request (answered by the threads), and a simple page again; every response in
    the order asked."""
    with _connect(published) as sock:
        sock.sendall(
            _get(f"/simple/{NAME}/")
            + _get("/simple/", f"Accept: {JSON_V1}")
            + _get("/simple/Serve_Demo/")
            + _get(f"/pypi/{NAME}/json")
            + _get(f"/simple/{NAME}/", method="HEAD")
            + _get(f"/simple/{NAME}/", f"Accept: {JSON_V1}")
        )
        reader = Reader(sock)
        status, headers, body = reader.response()
        assert (
            status == 200 and b"serve_demo-1.0" in body and "text/html" in headers["content-type"]
        )
        status, headers, body = reader.response()
        assert status == 200 and headers["content-type"] == JSON_V1
        assert NAME in [p["name"].lower().replace("_", "-") for p in json.loads(body)["projects"]]
        status, headers, _ = reader.response()
        assert status == 301 and headers["location"] == f"/simple/{NAME}/"
        status, headers, body = reader.response()
        assert status == 200 and json.loads(body)["info"]["version"] == "1.0"
        status, headers, _ = reader.response(head_only=True)
        assert status == 200 and int(headers["content-length"]) > 0
        status, headers, body = reader.response()
        assert status == 200 and json.loads(body)["name"] == NAME
        # Nothing more was sent: the connection is open and idle.
        sock.sendall(_get(f"/simple/{NAME}/", "Connection: close"))
        assert reader.response()[0] == 200
        assert reader.closed()


def test_slow_clients_do_not_delay_others(published: LiveIndex) -> None:
    """Clients that send part of a request and stall each hold a worker thread while it
    waits for the rest (gunicorn's thread path). More of them than there are threads: a
    simple page is still answered at once, by the poller. When they send the rest, they are
    answered too."""
    stalled = []
    try:
        for i in range(STALLERS):
            sock = socket.create_connection(_address(published), timeout=10)
            stalled.append(sock)
            # Half a request line, or a request line and part of the head.
            sock.sendall(b"GET /sim" if i % 2 else b"GET /simple/ HTTP/1.1\r\nHost: localhost\r\n")
        time.sleep(0.3)  # the threads now wait on them
        for _ in range(5):
            started = time.monotonic()
            with _connect(published) as sock:
                sock.sendall(_get(f"/simple/{NAME}/"))
                status, _, body = Reader(sock).response()
            assert status == 200 and b"serve_demo-1.0" in body
            assert time.monotonic() - started < 0.5
        for i, sock in enumerate(stalled):
            sock.sendall(b"ple/ HTTP/1.1\r\nHost: localhost\r\n\r\n" if i % 2 else b"\r\n")
        for sock in stalled:
            status, _, body = Reader(sock).response()
            assert status == 200 and body
    finally:
        for sock in stalled:
            sock.close()


def test_a_client_that_does_not_read_does_not_block_others(published: LiveIndex) -> None:
    """A response larger than the socket buffers, to a client that does not read it: the
    poller sends what fits and a thread the rest, so other clients are answered meanwhile
    (simple pages and Django pages alike). The client gets every byte once it reads, and its
    connection stays usable."""
    big = published.data_dir / "public" / "simple" / "serve-big"
    big.mkdir(parents=True)
    lines = [
        f'<a href="/packages/x/serve_big-{i}.tar.gz">serve_big-{i}.tar.gz</a><br/>'
        for i in range(80_000)
    ]
    page = ("<!DOCTYPE html>\n<html><body>\n" + "\n".join(lines) + "\n</body></html>\n").encode()
    assert len(page) > 4 * 1024 * 1024
    (big / "index.html").write_bytes(page)
    try:
        with _connect(published, rcvbuf=4096) as slow:
            slow.sendall(_get("/simple/serve-big/"))
            time.sleep(0.3)  # the server has filled the socket buffers and waits
            for path in (f"/simple/{NAME}/", "/simple/serve-big/", f"/pypi/{NAME}/json"):
                started = time.monotonic()
                with _connect(published) as other:
                    other.sendall(_get(path, "Connection: close"))
                    status, _, body = Reader(other).response()
                assert status == 200 and body
                assert time.monotonic() - started < 1.0, path
            reader = Reader(slow)
            status, headers, body = reader.response()
            assert status == 200 and headers["connection"] == "keep-alive"
            assert body == page
            slow.sendall(_get(f"/simple/{NAME}/"))
            assert reader.response()[0] == 200
    finally:
        (big / "index.html").unlink()
        big.rmdir()


def test_requests_for_django_still_work(published: LiveIndex) -> None:
    """Paths the pre-rendered pages do not answer go to Django on the threads, interleaved
    with simple pages on one kept-alive connection."""
    with _connect(published) as sock:
        reader = Reader(sock)
        for _ in range(3):
            sock.sendall(_get("/simple/Serve_Demo/"))
            status, headers, _ = reader.response()
            assert status == 301 and headers["location"] == f"/simple/{NAME}/"
            sock.sendall(_get(f"/simple/{NAME}/"))
            assert reader.response()[0] == 200
            sock.sendall(_get(f"/pypi/{NAME}/json"))
            status, _, body = reader.response()
            assert status == 200 and json.loads(body)["info"]["name"] == "Serve_Demo"
            sock.sendall(_get("/simple/no-such-project/"))
            assert reader.response()[0] == 404
        sock.sendall(_get("/legacy/", "Content-Length: 0", method="POST"))
        assert reader.response()[0] in (400, 401, 403)


def test_connection_close_is_honoured(published: LiveIndex) -> None:
    page = f"/simple/{NAME}/"
    cases = [
        (_get(page, "Connection: close"), True),
        (_get(page, method="HEAD", version="1.0"), True),
        (_get(page, version="1.0"), True),
        (_get(page, "Connection: keep-alive", version="1.0"), False),
        (_get(page), False),
    ]
    for request, closes in cases:
        with _connect(published) as sock:
            sock.sendall(request)
            reader = Reader(sock)
            status, headers, _ = reader.response(head_only=request.startswith(b"HEAD"))
            assert status == 200
            assert headers["connection"] == ("close" if closes else "keep-alive"), request
            if closes:
                assert reader.closed(), request
            else:
                sock.sendall(_get(page, "Connection: close"))
                assert reader.response()[0] == 200
                assert reader.closed()


def test_malformed_requests_get_gunicorns_errors(published: LiveIndex) -> None:
    """A head the poller cannot use is left for the thread path, which answers it as
    gunicorn always has."""
    for request, status in (
        (b"GET /simple/ HTTP/1.1\r\nHost: x\r\nBad header\r\n\r\n", 400),
        (b"GET /simple/ HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400),
        (b"GET /simple/ HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 9000 + b"\r\n\r\n", 431),
    ):
        with _connect(published) as sock:
            sock.sendall(request)
            assert Reader(sock).response()[0] == status, request[:60]
    # A request with a body is not one the poller answers; the thread path does.
    with _connect(published) as sock:
        sock.sendall(_get(f"/simple/{NAME}/", "Content-Length: 5") + b"hello")
        reader = Reader(sock)
        assert reader.response()[0] == 200
        sock.sendall(_get(f"/simple/{NAME}/"))
        assert reader.response()[0] == 200


def _raw(live_index: LiveIndex, request: bytes) -> bytes:
    """The whole response to ``request`` (which asks the server to close), Date left out."""
    with _connect(live_index) as sock:
        sock.sendall(request)
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
    return re.sub(rb"\r\nDate: [^\r]*", b"", b"".join(chunks))


def test_plain_requests_are_answered_as_gunicorn_answers(published: LiveIndex) -> None:
    """The poller writes the answers to plain requests itself (``read_plain_head``). Each must
    be byte for byte what gunicorn writes for the same request, but for the Date: the same
    request with a header gunicorn drops (so it goes through gunicorn's parser and
    ``Response``), and with a body (so a thread answers it through WSGI)."""
    with urllib.request.urlopen(
        urllib.request.Request(published.url + f"/simple/{NAME}/", headers={"Accept": JSON_V1}),
        timeout=10,
    ) as r:
        page = json.loads(r.read())
        etag = r.headers["ETag"]
    metadata = urlsplit(page["files"][0]["url"]).path + ".metadata"
    cases = [
        (f"/simple/{NAME}/", [], "GET", "1.1"),
        (f"/simple/{NAME}/", [f"Accept: {JSON_V1}"], "GET", "1.1"),
        (f"/simple/{NAME}/", [f"If-None-Match: {etag}", f"Accept: {JSON_V1}"], "GET", "1.1"),
        (f"/simple/{NAME}/", [], "HEAD", "1.1"),
        (f"/simple/{NAME}/?format=text/nothing", [], "GET", "1.1"),
        ("/simple/", [], "GET", "1.0"),
        (metadata, [], "GET", "1.1"),
        (metadata, [], "HEAD", "1.0"),
    ]
    for path, headers, method, version in cases:
        plain = _get(path, *headers, "Connection: close", method=method, version=version)
        dropped = _get(
            path, *headers, "X_Dropped: 1", "Connection: close", method=method, version=version
        )
        threaded = (
            _get(
                path,
                *headers,
                "Content-Length: 5",
                "Connection: close",
                method=method,
                version=version,
            )
            + b"hello"
        )
        answer = _raw(published, plain)
        assert answer.startswith(
            (b"HTTP/1.1 200 ", b"HTTP/1.1 304 ", b"HTTP/1.1 406 ", b"HTTP/1.0 200 ")
        ), answer[:80]
        assert answer == _raw(published, dropped), (path, headers, method)
        assert answer == _raw(published, threaded), (path, headers, method)


def test_kept_alive_connections_answered_by_the_poller_still_time_out(published: LiveIndex) -> None:
    """A connection whose requests the poller answered stays registered with the poller
    between requests; it must still be closed once idle for the keep-alive timeout (5 s for
    ``bastion serve``), and not before."""
    with _connect(published) as sock:
        reader = Reader(sock)
        for _ in range(3):
            sock.sendall(_get(f"/simple/{NAME}/"))
            assert reader.response()[0] == 200
        idle_from = time.monotonic()
        sock.settimeout(20)
        assert sock.recv(1) == b""  # closed by the server
        assert 4 < time.monotonic() - idle_from < 15


def test_a_host_django_refuses_is_refused_on_every_path(published: LiveIndex) -> None:
    """Django answers 400 to a Host outside ALLOWED_HOSTS; so must the pages the poller and
    the fast path answer without Django, or a cache in front would keep them under any name."""
    with urllib.request.urlopen(
        urllib.request.Request(published.url + f"/simple/{NAME}/", headers={"Accept": JSON_V1}),
        timeout=10,
    ) as r:
        metadata = urlsplit(json.loads(r.read())["files"][0]["url"]).path + ".metadata"
    for path in ("/simple/", f"/simple/{NAME}/", metadata, f"/pypi/{NAME}/json"):
        for extra in ([], ["X_Dropped: 1"], ["Content-Length: 0", "X-Other: 1"]):
            request = (
                "\r\n".join(
                    [f"GET {path} HTTP/1.1", "Host: evil.example", *extra, "Connection: close"]
                )
                + "\r\n\r\n"
            ).encode()
            answer = _raw(published, request)
            assert answer.startswith(b"HTTP/1.1 400 "), (path, extra, answer[:80])
        assert _raw(
            published, _get(path, "Connection: close").replace(b"127.0.0.1", b"localhost:1")
        ).startswith(b"HTTP/1.1 200 ")


@pytest.mark.parametrize(
    "path",
    [
        "/packages/00/00/" + "0" * 60 + "/a%00b",
        "/packages/00/00/" + "0" * 60 + "/%ED%A0%80",  # a lone surrogate, UTF-8 encoded
        "/packages/00/00/" + "0" * 60 + "/" + "a" * 5000,
        "/simple/a%00b/",
        "/packages/%00",
    ],
)
def test_paths_no_file_can_have_are_client_errors(published: LiveIndex, path: str) -> None:
    """A NUL (or a name the file system refuses) in a path is the client's error, never a 500."""
    answer = _raw(published, _get(path, "Connection: close"))
    status = int(answer.split(b" ", 2)[1])
    assert 400 <= status < 500, answer[:200]
