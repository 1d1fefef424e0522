"""Slow clients against a live ``bastion serve`` (its own, with short deadlines): they must not
starve the server, and the deadlines must close them.

The server's poller keeps every connection until it holds a complete request and sends what a
client does not read at once (``bastion.serving``); four worker threads are never held by a
client that does not send or does not read. Every bound here is a sanity bound (the failure
each catches is a request that waits for a slow client's deadline, or for ever), never a
measure of speed. Everything runs on loopback, with a bounded number of requests.
"""

from __future__ import annotations

import contextlib
import errno
import http.cookiejar
import os
import re
import select
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests import builders
from tests.conftest import basic
from tests.e2e.conftest import PUBLISHER_PASSWORD, LiveIndex, serving
from tests.e2e.test_serving import JSON_V1, Reader, _multipart

pytestmark = pytest.mark.e2e

# Short deadlines, so that the test sees them close the slow connections.
HEADER_TIMEOUT = 14
BODY_TIMEOUT = 8
SEND_TIMEOUT = 8
PER_CLIENT = 64  # bastion's default, set explicitly: the 50 slow connections stay below it
SLOW = 50
PROMPT = 10.0  # seconds: a sanity bound, not a measure of speed

NAME = "slow-demo"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveIndex]:
    with serving(
        tmp_path_factory.mktemp("slow-data"),
        BASTION_HEADER_TIMEOUT=str(HEADER_TIMEOUT),
        BASTION_BODY_TIMEOUT=str(BODY_TIMEOUT),
        BASTION_SEND_TIMEOUT=str(SEND_TIMEOUT),
        BASTION_MAX_CONNECTIONS_PER_CLIENT=str(PER_CLIENT),
    ) as index:
        yield index


@pytest.fixture(scope="module")
def token(guarded: LiveIndex) -> str:
    """An upload token of user ``slow`` (password PUBLISHER_PASSWORD), and ``slow-demo`` 1.0
    published, so that its JSON API answers 200."""
    token = guarded.publisher_token("slow")
    assert _upload(guarded, token, builders.wheel("slow-demo", "1.0")) == 200
    guarded.wait_published(NAME, "1.0", 1)
    return token


def _address(index: LiveIndex) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(index.url)
    assert parts.hostname and parts.port
    return parts.hostname, parts.port


def _connect(index: LiveIndex, source: str = "127.0.0.1", rcvbuf: int = 0) -> socket.socket:
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.bind((source, 0))
    sock.settimeout(10)
    sock.connect(_address(index))
    return sock


def _upload(index: LiveIndex, token: str, dist: builders.Dist, timeout: float = 60) -> int:
    body, content_type = _multipart(dist.fields, dist)
    request = urllib.request.Request(
        index.url + "/legacy/",
        data=body,
        headers={"Content-Type": content_type, "Authorization": basic(token)},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _login(index: LiveIndex) -> int:
    """The login page's form, posted as a browser does: the status of the POST (302 to the
    second step when the password is right)."""
    jar = http.cookiejar.CookieJar()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    with opener.open(index.url + "/account/login/", timeout=PROMPT) as page:
        html = page.read().decode()
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "no CSRF token on the login page"
    form = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": match.group(1), "username": "slow", "password": PUBLISHER_PASSWORD}
    ).encode()
    try:
        with opener.open(index.url + "/account/login/", data=form, timeout=PROMPT) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _within(seconds: float, what: str, action: Callable[[], object]) -> object:
    started = time.monotonic()
    result = action()
    assert time.monotonic() - started < seconds, f"{what} took more than {seconds} s"
    return result


def _state(sock: socket.socket) -> str:
    """What the server did with a connection, seen without waiting: ``"silent"`` (open,
    nothing sent), ``"data"`` (something to read: an answer, or a 408 before a close) or
    ``"closed"``."""
    poller = select.poll()  # not select(): there may be more than 1,024 descriptors
    poller.register(sock, select.POLLIN)
    if not poller.poll(0):
        return "silent"
    try:
        data = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return "silent"
    except OSError:
        return "closed"
    return "data" if data else "closed"


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    """Read (and drop) what the server sent until it closes; False if it does not within
    ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            if sock.recv(1 << 20) == b"":
                return True
        except TimeoutError:
            return False
        except OSError:  # a reset: closed with bytes of ours unread
            return True
    return False


def _big_page(index: LiveIndex) -> str:
    """A rendered simple page of 1 MB, so that a few pipelined answers fill every buffer."""
    folder = index.data_dir / "public" / "simple" / "slow-big"
    folder.mkdir(parents=True, exist_ok=True)
    links = "\n".join(
        f'<a href="/packages/x/slow_big-{i}.tar.gz">slow_big-{i}</a><br/>' for i in range(16_000)
    )
    (folder / "index.html").write_text(f"<!DOCTYPE html>\n<html><body>\n{links}\n</body></html>\n")
    return "/simple/slow-big/"


def _get(path: str, *headers: str) -> bytes:
    return (
        "\r\n".join([f"GET {path} HTTP/1.1", "Host: 127.0.0.1", *headers]) + "\r\n\r\n"
    ).encode()


def test_fifty_slow_connections_do_not_starve_django(guarded: LiveIndex, token: str) -> None:
    """Fifty connections from one address that send part of a head and stop, pipeline
    requests and never read the answers, or send a body slowly and stop: meanwhile the JSON
    API, an upload, a login and the simple pages answer at once. Then the deadlines close
    every one of them."""
    big = _big_page(guarded)
    partial_heads: list[socket.socket] = []
    non_readers: list[socket.socket] = []
    slow_bodies: list[socket.socket] = []
    try:
        for i in range(SLOW):
            kind = i % 3
            if kind == 0:
                sock = _connect(guarded)
                # Half a head: for Django (a thread would wait for the rest), then nothing.
                sock.sendall(
                    f"GET /pypi/{NAME}/json HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".encode()
                )
                partial_heads.append(sock)
            elif kind == 1:
                sock = _connect(guarded, rcvbuf=4096)
                # Django's answers, then answers too large for any buffer; never read.
                sock.sendall(
                    _get(f"/pypi/{NAME}/json") * 4 + _get(big) * 8 + _get(f"/pypi/{NAME}/json") * 4
                )
                non_readers.append(sock)
            else:
                sock = _connect(guarded)
                if i % 2:  # an upload that stops after its first kilobyte
                    head = (
                        "POST /legacy/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        f"Authorization: {basic(token)}\r\n"
                        "Content-Type: multipart/form-data; boundary=x\r\n"
                        f"Content-Length: {10 * 1024 * 1024}\r\n\r\n"
                    )
                    sock.sendall(head.encode() + b"-" * 1024)
                else:  # a login form that stops half way
                    sock.sendall(
                        b"POST /account/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        b"Content-Type: application/x-www-form-urlencoded\r\n"
                        b"Content-Length: 200\r\n\r\nusername=sl"
                    )
                slow_bodies.append(sock)
        time.sleep(0.5)  # the server has all of them

        # Everything else answers at once.
        status, doc = _within(
            PROMPT, "the JSON API", lambda: guarded.get_json(f"/pypi/{NAME}/json")
        )  # type: ignore[misc]
        assert status == 200 and doc["info"]["version"] == "1.0"  # type: ignore[index]
        assert (
            _within(
                PROMPT,
                "an upload",
                lambda: _upload(guarded, token, builders.wheel(NAME, "1.1"), PROMPT),
            )
            == 200
        )
        assert _within(PROMPT, "a login", lambda: _login(guarded)) == 302
        for path in ("/simple/", f"/simple/{NAME}/", "/"):
            with _within(
                PROMPT, path, lambda p=path: urllib.request.urlopen(guarded.url + p, timeout=PROMPT)
            ) as r:  # type: ignore[attr-defined]
                assert r.status == 200

        # The slow connections were held open meanwhile ...
        assert all(_state(sock) == "silent" for sock in partial_heads + slow_bodies)
        assert all(_state(sock) != "closed" for sock in non_readers)
        # ... until their deadlines: the non-readers' after SEND_TIMEOUT without a byte taken,
        # the slow bodies' after BODY_TIMEOUT, the partial heads' HEADER_TIMEOUT after their
        # first byte. Nothing is read from the non-readers before their deadline has passed.
        time.sleep(SEND_TIMEOUT + 2)
        for sock in non_readers:
            assert _closed_within(sock, 10), "a client that does not read was not closed"
        for sock in slow_bodies + partial_heads:
            assert _closed_within(sock, HEADER_TIMEOUT + 10), "a slow sender was not closed"
        # And the server is as it was.
        assert guarded.get_json(f"/pypi/{NAME}/json")[0] == 200
    finally:
        for sock in partial_heads + non_readers + slow_bodies:
            sock.close()


def test_a_partial_head_gets_408_at_its_deadline(guarded: LiveIndex) -> None:
    sock = _connect(guarded)
    try:
        sock.sendall(b"GET /simple/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        started = time.monotonic()
        sock.settimeout(HEADER_TIMEOUT + 10)
        assert sock.recv(64).startswith(b"HTTP/1.1 408 ")
        assert HEADER_TIMEOUT - 1 < time.monotonic() - started < HEADER_TIMEOUT + 10
    finally:
        sock.close()


def test_a_large_upload_at_loopback_speed(guarded: LiveIndex, token: str) -> None:
    """20 MB in one request: the body is received by the poller (into a temporary file past
    its first megabyte) and handed to a thread whole."""
    dist = builders.wheel(
        NAME, "2.0", extra_members={"slow_demo/blob.bin": os.urandom(20 * 1024 * 1024)}
    )
    assert len(dist.data) > 20 * 1024 * 1024
    assert _upload(guarded, token, dist) == 200


def test_a_slow_but_steady_upload_outlasts_the_body_timeout(guarded: LiveIndex, token: str) -> None:
    """The body deadline is per read (and a minimum average rate), not a total: an upload
    that takes longer than BODY_TIMEOUT in all, a little at a time, is received."""
    dist = builders.wheel(
        NAME, "3.0", extra_members={"slow_demo/blob.bin": os.urandom(2 * 1024 * 1024)}
    )
    body, content_type = _multipart(dist.fields, dist)
    head = (
        "POST /legacy/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Authorization: {basic(token)}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    sock = _connect(guarded)
    try:
        sock.sendall(head)
        steps = 40  # BODY_TIMEOUT + 2 seconds in all, never idle for more than a fraction
        piece = -(-len(body) // steps)
        pause = (BODY_TIMEOUT + 2) / steps
        started = time.monotonic()
        for i in range(steps):
            sock.sendall(body[i * piece : (i + 1) * piece])
            time.sleep(pause)
        assert time.monotonic() - started > BODY_TIMEOUT
        status, _, text = Reader(sock).response()
        assert status == 200, text
    finally:
        sock.close()


def test_bodies_the_server_will_not_take(guarded: LiveIndex) -> None:
    """A chunked body (Django reads none of it) gets 411; a body over the size limit 413
    before it is sent; and an Expect: 100-continue is answered before the body is read."""
    with _connect(guarded) as sock:
        sock.sendall(
            b"POST /legacy/ HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n0\r\n\r\n"
        )
        assert Reader(sock).response()[0] == 411
    with _connect(guarded) as sock:
        sock.sendall(
            b"POST /legacy/ HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n"
            b"Content-Length: 99999999999\r\n\r\n"
        )
        assert Reader(sock).response()[0] == 413
    with _connect(guarded) as sock:
        sock.sendall(
            b"POST /account/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 5\r\n\r\n"
        )
        assert sock.recv(64) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"a=b&c")
        assert Reader(sock).response()[0] == 403  # Django's: no CSRF cookie


def test_connections_per_client_are_capped(guarded: LiveIndex) -> None:
    """One address gets PER_CLIENT connections; the next is answered 503 at once, with
    Retry-After (pip and uv retry it). Other addresses are not affected."""
    held = [_connect(guarded, source="127.0.0.2") for _ in range(PER_CLIENT)]
    try:
        time.sleep(0.3)
        with _connect(guarded, source="127.0.0.2") as extra:
            status, headers, _ = Reader(extra).response()
            assert status == 503 and headers["retry-after"] == "1"
        with _connect(guarded, source="127.0.0.3") as other:
            other.sendall(_get("/simple/", "Connection: close"))
            assert Reader(other).response()[0] == 200
        held.pop().close()
        time.sleep(0.3)
        with _connect(guarded, source="127.0.0.2") as again:
            again.sendall(_get("/simple/", "Connection: close"))
            assert Reader(again).response()[0] == 200
    finally:
        for sock in held:
            sock.close()


def test_idle_connections_make_room_at_the_process_cap(tmp_path: Path) -> None:
    """At BASTION_MAX_CONNECTIONS the idlest connection is closed to take a new one: idle
    connections from many addresses cannot lock others out."""
    idle: list[socket.socket] = []
    fresh: list[socket.socket] = []
    with (
        serving(
            tmp_path, BASTION_MAX_CONNECTIONS="40", BASTION_MAX_CONNECTIONS_PER_CLIENT="20"
        ) as index,
        contextlib.ExitStack() as sockets,
    ):
        sockets.callback(lambda: [sock.close() for sock in idle + fresh])
        for source in ("127.0.0.2", "127.0.0.3"):
            idle += [_connect(index, source=source) for _ in range(20)]
        time.sleep(0.3)
        for _ in range(5):
            sock = _connect(index, source="127.0.0.4")
            fresh.append(sock)
            sock.sendall(_get("/simple/"))
            status, _, _ = _within(
                PROMPT, "a request at the cap", lambda s=sock: Reader(s).response()
            )  # type: ignore[misc]
            assert status == 200
        # The oldest idle connections made room (the fresh ones, idle too now, are younger).
        assert sum(_state(sock) == "closed" for sock in idle) >= 5
        assert all(_state(sock) == "silent" for sock in fresh)


def test_a_thousand_idle_connections_do_not_slow_the_index(guarded: LiveIndex, token: str) -> None:
    """1,100 connections that send nothing, from 20 addresses (each under the per-client
    cap), against the default process cap of 1,000: the idlest make room, and the simple
    pages and the JSON API answer at once."""
    idle: list[socket.socket] = []
    try:
        for i in range(1100):
            idle.append(_connect(guarded, source=f"127.0.1.{1 + i % 20}"))
        time.sleep(0.5)
        for path in ("/simple/", f"/pypi/{NAME}/json"):
            with _connect(guarded, source="127.0.2.1") as sock:
                sock.sendall(_get(path, "Connection: close"))
                status, _, _ = _within(PROMPT, path, lambda s=sock: Reader(s).response())  # type: ignore[misc]
                assert status == 200
        assert sum(_state(sock) == "closed" for sock in idle) >= 100
    finally:
        for sock in idle:
            sock.close()


def test_a_reset_client_is_forgotten(guarded: LiveIndex) -> None:
    """Connections that vanish (a reset mid-head, mid-body, mid-answer) free their slots."""
    for _ in range(3):
        socks = [_connect(guarded, source="127.0.0.5") for _ in range(PER_CLIENT)]
        for i, sock in enumerate(socks):
            if i % 3 == 0:
                sock.sendall(b"GET /simple/ HTTP/1.1\r\n")
            elif i % 3 == 1:
                sock.sendall(
                    b"POST /account/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nab"
                )
            else:
                sock.sendall(_get(_big_page(guarded)))
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            sock.close()  # a reset
        time.sleep(0.5)
    # Had any slot of 127.0.0.5 been kept, this one would get 503.
    with _connect(guarded, source="127.0.0.5") as sock:
        sock.sendall(_get("/simple/", "Connection: close"))
        try:
            assert Reader(sock).response()[0] == 200
        except OSError as exc:  # pragma: no cover - a diagnostic
            raise AssertionError(errno.errorcode.get(exc.errno or 0, str(exc))) from exc


def test_json_is_still_served_to_installers(guarded: LiveIndex) -> None:
    with _connect(guarded) as sock:
        sock.sendall(_get("/simple/", f"Accept: {JSON_V1}", "Connection: close"))
        status, headers, _ = Reader(sock).response()
        assert status == 200 and headers["content-type"] == JSON_V1
