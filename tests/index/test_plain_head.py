"""The request heads the poller reads itself (``bastion.serving.read_plain_head``): exactly the
plain GETs and HEADs installers send; anything else is left to gunicorn's parser, which must
then answer it as it always has (tests/e2e/test_serving.py drives that on a live server)."""

from __future__ import annotations

import pytest

from bastion.serving import PlainHead, read_plain_head

LIMITS = (4094, 100, 8190)  # gunicorn's defaults: request line, fields, field size


def read(head: bytes, limits: tuple[int, int, int] = LIMITS) -> PlainHead | None:
    data = head + b"\r\n\r\n" + b"GET /next HTTP/1.1\r\n"  # a pipelined request after it
    return read_plain_head(data, len(head), *limits)


PIP = (
    b"GET /simple/requests/ HTTP/1.1\r\n"
    b"Host: 127.0.0.1:8080\r\n"
    b'User-Agent: pip/26.3 {"installer":{"name":"pip"}}\r\n'
    b"Accept-Encoding: gzip, deflate, br, zstd\r\n"
    b"Accept: application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; "
    b"q=0.1, text/html; q=0.01\r\n"
    b"Connection: keep-alive\r\n"
    b"Cache-Control: max-age=0"
)


def test_pips_request_is_read() -> None:
    head = read(PIP)
    assert head is not None
    assert head.length == len(PIP) + 4
    assert head.environ == {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/simple/requests/",
        "QUERY_STRING": "",
        "HTTP_HOST": "127.0.0.1:8080",
        "HTTP_ACCEPT": "application/vnd.pypi.simple.v1+json, "
        "application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01",
    }
    assert (head.head_only, head.minor, head.keep_alive) == (False, 1, True)


@pytest.mark.parametrize(
    ("head", "keep_alive"),
    [
        (b"GET /simple/ HTTP/1.1\r\nHost: x", True),
        (b"GET /simple/ HTTP/1.1\r\nHost: x\r\nConnection: close", False),
        (b"GET /simple/ HTTP/1.1\r\nHost: x\r\nConnection:  CLOSE ", False),
        (b"GET /simple/ HTTP/1.0", False),
        (b"GET /simple/ HTTP/1.0\r\nConnection: close", False),
        (b"GET /simple/ HTTP/1.0\r\nConnection: upgrade", False),
        (b"GET /simple/ HTTP/1.1\r\nHost: x\r\nConnection: upgrade", True),
    ],
)
def test_keep_alive_is_gunicorns_rule(head: bytes, keep_alive: bool) -> None:
    plain = read(head)
    assert plain is not None and plain.keep_alive is keep_alive


@pytest.mark.parametrize(
    "head",
    [
        b"GET /simple/ HTTP/1.1",  # h11 refuses HTTP/1.1 without a Host
        b"GET /simple/ HTTP/1.0\r\nConnection: Keep-Alive",  # gunicorn keeps it, h11 closes
        b"GET /simple/ HTTP/1.1\r\nHost: x\r\nConnection: close, foo",  # h11: close; gunicorn: not
        b"GET /simple/ HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, upgrade",
    ],
)
def test_where_gunicorn_and_h11_differ_gunicorn_decides(head: bytes) -> None:
    assert read(head) is None


def test_head_query_and_conditional() -> None:
    plain = read(
        b"HEAD /simple/demo/?format=application/vnd.pypi.simple.v1+json HTTP/1.1\r\nHost: x\r\n"
        b'If-None-Match: "abc", "def"\r\nContent-Length: 0'
    )
    assert plain is not None and plain.head_only
    assert plain.environ["PATH_INFO"] == "/simple/demo/"
    assert plain.environ["QUERY_STRING"] == "format=application/vnd.pypi.simple.v1+json"
    assert plain.environ["HTTP_IF_NONE_MATCH"] == '"abc", "def"'


@pytest.mark.parametrize(
    "head",
    [
        b"POST /simple/ HTTP/1.1",  # another method
        b"get /simple/ HTTP/1.1",
        b"GET /simple/ HTTP/2.0",  # another version
        b"GET /simple/ HTTP/1.1 ",  # stray space
        b"GET  /simple/ HTTP/1.1",
        b"GET /simple/%41/ HTTP/1.1",  # an escape: gunicorn decodes it
        b"GET /simple/a#b HTTP/1.1",  # a fragment
        b"GET http://x/simple/ HTTP/1.1",  # absolute form
        b"GET /simple/\x80/ HTTP/1.1",
        b"GET /simple/ HTTP/1.1\r\nHost: x\r\nHost: y",  # a repeated header (gunicorn: 400)
        b"GET /simple/ HTTP/1.1\r\nAccept: a\r\naccept: b",
        b"GET /simple/ HTTP/1.1\r\nBad header",  # no colon (gunicorn: 400)
        b"GET /simple/ HTTP/1.1\r\n: empty name",
        b"GET /simple/ HTTP/1.1\r\nName : space before the colon",
        b"GET /simple/ HTTP/1.1\r\nAccept: a\r\n  folded",  # obsolete folding
        b"GET /simple/ HTTP/1.1\r\nX_Under: score",  # gunicorn drops or refuses it
        b"GET /simple/ HTTP/1.1\r\nX-Ctl: a\x00b",  # a control character in a value
        b"GET /simple/ HTTP/1.1\r\nX-Ctl: a\nb",
        b"GET /simple/ HTTP/1.1\r\nX-Bin: \xe9",  # obs-text
        b"GET /simple/ HTTP/1.1\r\nContent-Length: 5",  # a body
        b"GET /simple/ HTTP/1.1\r\nTransfer-Encoding: chunked",
        b"GET /simple/ HTTP/1.1\r\nExpect: 100-continue",
        b"GET /simple/ HTTP/1.1\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__",
    ],
)
def test_anything_else_is_left_to_gunicorn(head: bytes) -> None:
    assert read(head) is None


def test_gunicorns_limits_are_left_to_gunicorn() -> None:
    line = b"GET /simple/" + b"a" * 100 + b"/ HTTP/1.0"
    assert read(line, (len(line), 100, 8190)) is not None
    assert read(line, (len(line) - 1, 100, 8190)) is None  # gunicorn: 414
    fields = b"GET /simple/ HTTP/1.0" + b"".join(b"\r\nX-%d: v" % i for i in range(5))
    assert read(fields, (4094, 5, 8190)) is not None
    assert read(fields, (4094, 4, 8190)) is None  # gunicorn: 431
    field = b"X-Long: " + b"v" * 50
    assert read(b"GET /simple/ HTTP/1.0\r\n" + field, (4094, 100, len(field) + 2)) is not None
    assert read(b"GET /simple/ HTTP/1.0\r\n" + field, (4094, 100, len(field) + 1)) is None
