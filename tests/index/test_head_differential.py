"""``read_plain_head`` against h11 (bench/httpheads): the poller may read a head itself only as a
well-kept HTTP/1.1 parser reads it, and must leave to gunicorn every head h11 refuses. A slice
of the generated corpus (the full run is ``python -m bench.httpheads.differential``), and each
request-smuggling shape spelt out."""

from __future__ import annotations

import pytest
from bench.httpheads.differential import LIMITS, compare, h11_reading, plain_reading, run

from bastion.serving import read_plain_head

PIP = (
    b"GET /simple/requests/ HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: pip/26.3\r\n"
    b"Accept-Encoding: gzip, deflate, br, zstd\r\n"
    b"Accept: application/vnd.pypi.simple.v1+json\r\nConnection: keep-alive\r\n\r\n"
)


def test_a_slice_of_the_generated_heads_agrees() -> None:
    tally = run(seed=12, start=0, count=5000)
    assert tally.disagreements == []
    # The slice reaches both sides: heads read on the poller, heads left to gunicorn.
    assert tally.outcomes["both"] > 1000
    assert tally.outcomes["h11-only"] > 1000
    assert tally.outcomes["neither"] > 1000


def test_an_installers_head_is_read_as_h11_reads_it() -> None:
    plain = plain_reading(PIP)
    assert plain is not None
    assert plain == h11_reading(PIP)
    assert plain.headers[0] == (b"host", b"127.0.0.1:8080")
    assert (plain.keep_alive, plain.length) == (True, len(PIP))
    pipelined = PIP + b"GET /simple/ HTTP/1.1\r\nHost: x\r\n\r\n"
    assert compare(pipelined) == ("both", "")
    assert plain_reading(pipelined) == plain


H = b"GET /simple/requests/ HTTP/1.1\r\nHost: x\r\n"

SMUGGLING = {
    "duplicate Content-Length": H + b"Content-Length: 0\r\nContent-Length: 0\r\n\r\n",
    "conflicting Content-Length": H + b"Content-Length: 0\r\nContent-Length: 5\r\n\r\nhello",
    "Content-Length list": H + b"Content-Length: 0, 0\r\n\r\n",
    "Content-Length with a sign": H + b"Content-Length: +0\r\n\r\n",
    "Content-Length with a body": H + b"Content-Length: 5\r\n\r\nhello",
    "chunked": H + b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "chunked, identity": H + b"Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
    "identity, chunked": H + b"Transfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n",
    "Chunked in capitals": H + b"Transfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n",
    "chunked after a tab": H + b"Transfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n",
    "chunked with trailing space": H + b"Transfer-Encoding: chunked \r\n\r\n0\r\n\r\n",
    "Transfer-Encoding twice": H
    + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n",
    "Transfer-Encoding and Content-Length": H
    + b"Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "space before the colon of Transfer-Encoding": H + b"Transfer-Encoding : chunked\r\n\r\n",
    "space before the colon": H + b"Accept : text/html\r\n\r\n",
    "space in a name": H + b"X Y: z\r\n\r\n",
    "obs-fold": H + b"Accept: text/html\r\n  application/json\r\n\r\n",
    "obs-fold of a Transfer-Encoding": H + b"X-A: b\r\n Transfer-Encoding: chunked\r\n\r\n",
    "bare LF between fields": b"GET /simple/ HTTP/1.1\nHost: x\r\nAccept: */*\r\n\r\n",
    "bare LF head": b"GET /simple/ HTTP/1.1\nHost: x\n\nGET /admin/ HTTP/1.1\r\n\r\n",
    "bare CR between fields": b"GET /simple/ HTTP/1.1\rHost: x\r\n\r\n",
    "bare CR in a value": H + b"Accept: a\rb\r\n\r\n",
    "absolute form": b"GET http://x/simple/ HTTP/1.1\r\nHost: x\r\n\r\n",
    "absolute form of another host": b"GET http://evil.example/simple/ HTTP/1.1\r\nHost: x\r\n\r\n",
    "asterisk form": b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
    "asterisk with GET": b"GET * HTTP/1.1\r\nHost: x\r\n\r\n",
    "authority form": b"CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n",
    "%2e": b"GET /simple/%2e%2e/admin/ HTTP/1.1\r\nHost: x\r\n\r\n",
    "%2f": b"GET /simple/a%2fb/ HTTP/1.1\r\nHost: x\r\n\r\n",
    "%2F": b"GET /simple/a%2Fb/ HTTP/1.1\r\nHost: x\r\n\r\n",
    "..%2f": b"GET /simple/..%2f..%2fadmin/ HTTP/1.1\r\nHost: x\r\n\r\n",
    "NUL in the target": b"GET /simple/\x00/ HTTP/1.1\r\nHost: x\r\n\r\n",
    "NUL in a value": H + b"Accept: a\x00b\r\n\r\n",
    "control byte in a value": H + b"Accept: a\x01b\r\n\r\n",
    "DEL in a value": H + b"Accept: a\x7fb\r\n\r\n",
    "byte above ASCII in a name": H + b"X-\xe9: b\r\n\r\n",
    "over-long request line": b"GET /simple/" + b"a" * 8200 + b"/ HTTP/1.1\r\nHost: x\r\n\r\n",
    "over-long field": H + b"X-Long: " + b"v" * 8200 + b"\r\n\r\n",
    "too many fields": H + b"".join(b"X-%d: v\r\n" % i for i in range(100)) + b"\r\n",
    "HTTP/1.0 kept alive": b"GET /simple/ HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "Connection list with close": H + b"Connection: keep-alive, close\r\n\r\n",
    "Connection twice": H + b"Connection: keep-alive\r\nConnection: close\r\n\r\n",
    "Host missing": b"GET /simple/ HTTP/1.1\r\nAccept: */*\r\n\r\n",
    "Host twice": H + b"Host: x\r\n\r\n",
    "Host twice, another": H + b"Host: evil.example\r\n\r\n",
    "leading blank line": b"\r\n" + H + b"\r\n",
    "leading space": b" " + H + b"\r\n",
    "request line with a tab": b"GET\t/simple/ HTTP/1.1\r\nHost: x\r\n\r\n",
    "HTTP/1.2": b"GET /simple/ HTTP/1.2\r\nHost: x\r\n\r\n",
    "lower-case method": b"get /simple/ HTTP/1.1\r\nHost: x\r\n\r\n",
    "Expect": H + b"Expect: 100-continue\r\n\r\n",
    "Upgrade": H + b"Connection: upgrade\r\nUpgrade: h2c\r\n\r\n",
}


@pytest.mark.parametrize("data", SMUGGLING.values(), ids=SMUGGLING.keys())
def test_smuggling_shapes_are_left_to_gunicorn(data: bytes) -> None:
    assert compare(data)[0] != "DISAGREE"
    assert plain_reading(data) is None


AGREED = {
    "HTTP/1.0 without Host": b"GET /simple/ HTTP/1.0\r\n\r\n",
    "HTTP/1.0 closed": b"HEAD /simple/ HTTP/1.0\r\nConnection: close\r\n\r\n",
    "HTTP/1.1 closed": H + b"Connection: Close\r\n\r\n",
    "Content-Length 0": H + b"Content-Length: 0\r\n\r\n",
    "empty value": H + b"Accept:\r\n\r\n",
    "padded values": H + b"Accept: \t text/html \t\r\n\r\n",
    "pipelined": H + b"\r\nGET /simple/ HTTP/1.1\r\nHost: x\r\n\r\n",
    "pipelined garbage": H + b"\r\n\x00\x01\r\n\r\n",
    "dot segments": b"GET /simple/../simple/./a/ HTTP/1.1\r\nHost: x\r\n\r\n",
    "query": b"GET /simple/a/?format=text/html HTTP/1.1\r\nHost: x\r\n\r\n",
}


@pytest.mark.parametrize("data", AGREED.values(), ids=AGREED.keys())
def test_heads_read_on_the_poller_are_read_as_h11_reads_them(data: bytes) -> None:
    assert compare(data) == ("both", "")


def test_the_check_fails_a_reader_looser_than_h11() -> None:
    """A reader that accepted a chunked head would be caught, whatever it made of it."""

    def loose(data: bytes, end: int, *limits: int) -> object:
        return read_plain_head(PIP, len(PIP) - 4, *limits)

    chunked = SMUGGLING["chunked"]
    assert compare(chunked, loose)[0] == "DISAGREE"  # type: ignore[arg-type]
    assert compare(PIP, loose) == ("both", "")  # type: ignore[arg-type]
    assert LIMITS == (8190, 100, 8190)
