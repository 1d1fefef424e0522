"""Seeded HTTP/1.x request heads for the differential check of ``read_plain_head``.

Each head is a pure function of ``(seed, index)``: an installer-like head (pip, uv, curl, a
browser; the shapes ``bastion serve`` must read fast) with a few mutations drawn from
:data:`SHAPES`, most of them the ones request smuggling is built from (duplicate or malformed
``Content-Length``, ``Transfer-Encoding`` variants, folding, bare LF or CR, absolute and
asterisk targets, escaped dots and slashes, NULs and control bytes, long lines, a space before
a colon, ``Host`` repeated or missing, keep-alive spellings, bytes pipelined after the head).
About a fifth of the heads are left unmutated, so that the path where both parsers accept is
exercised as hard as the refusals.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Head:
    """A request head being built: its lines without terminators, then what follows it."""

    method: bytes
    target: bytes
    version: bytes
    fields: list[bytes]
    seps: tuple[bytes, bytes] = (b" ", b" ")  # between method, target and version
    eols: list[bytes] = field(default_factory=list)  # per line; CRLF where missing
    end: bytes = b"\r\n"  # the blank line's terminator
    before: bytes = b""  # bytes before the request line
    after: bytes = b""  # bytes after the head: a body, a pipelined request
    raw: Callable[[bytes], bytes] | None = None  # a last byte-level mutation

    def encode(self) -> bytes:
        lines = [self.method + self.seps[0] + self.target + self.seps[1] + self.version]
        lines += self.fields
        out = bytearray(self.before)
        for i, line in enumerate(lines):
            out += line + (self.eols[i] if i < len(self.eols) else b"\r\n")
        out += self.end + self.after
        data = bytes(out)
        return self.raw(data) if self.raw is not None else data


PROJECTS = (b"requests", b"numpy", b"django", b"typing-extensions", b"zope-interface", b"a")
FILES = (
    b"/packages/requests-2.32.3-py3-none-any.whl",
    b"/packages/requests-2.32.3-py3-none-any.whl.metadata",
    b"/packages/numpy-2.1.0.tar.gz",
)
ACCEPTS = (
    b"application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
    b"text/html; q=0.01",
    b"application/vnd.pypi.simple.v1+json",
    b"text/html",
    b"*/*",
)
AGENTS = (
    b'pip/26.3 {"ci":null,"cpu":"x86_64","installer":{"name":"pip","version":"26.3"}}',
    b"uv/0.13.9",
    b"curl/8.11.1",
    b"Wget/1.25.0",
    b"Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
)
HOSTS = (b"127.0.0.1:8080", b"localhost", b"index.example.org", b"[::1]:8080")


def installer_head(rng: random.Random) -> Head:
    """A head as an installer or a browser sends it."""
    method = rng.choice((b"GET", b"GET", b"GET", b"HEAD"))
    kind = rng.random()
    if kind < 0.5:
        target = b"/simple/" + rng.choice(PROJECTS) + b"/"
    elif kind < 0.65:
        target = b"/simple/"
    elif kind < 0.85:
        target = rng.choice(FILES)
    else:
        target = b"/simple/" + rng.choice(PROJECTS) + b"/?format=" + rng.choice(ACCEPTS[1:3])
    fields = [b"Host: " + rng.choice(HOSTS)]
    if rng.random() < 0.9:
        fields.append(b"User-Agent: " + rng.choice(AGENTS))
    if rng.random() < 0.8:
        fields.append(b"Accept-Encoding: gzip, deflate, br, zstd")
    if rng.random() < 0.8:
        fields.append(b"Accept: " + rng.choice(ACCEPTS))
    if rng.random() < 0.6:
        fields.append(b"Connection: " + rng.choice((b"keep-alive", b"close", b"Keep-Alive")))
    if rng.random() < 0.3:
        fields.append(b"Cache-Control: max-age=0")
    if rng.random() < 0.2:
        fields.append(b'If-None-Match: "' + b"%x" % rng.getrandbits(64) + b'"')
    if rng.random() < 0.1:
        fields.append(b"X-Forwarded-Host: " + rng.choice(HOSTS))
    rng.shuffle(fields)
    version = b"HTTP/1.1" if rng.random() < 0.9 else b"HTTP/1.0"
    return Head(method, target, version, fields)


def _put(rng: random.Random, head: Head, line: bytes) -> None:
    head.fields.insert(rng.randint(0, len(head.fields)), line)


def _eol_at(rng: random.Random, head: Head, eol: bytes) -> None:
    n = len(head.fields) + 1
    head.eols = [b"\r\n"] * n
    for i in rng.sample(range(n), rng.randint(1, n)):
        head.eols[i] = eol


# -- the shapes ------------------------------------------------------------------------------


def content_length(rng: random.Random, head: Head) -> None:
    """One or more Content-Length headers, equal or not, well formed or not."""
    values = (
        b"0",
        b"0",
        b"5",
        b"00",
        b"+0",
        b"-1",
        b" 0",
        b"0 ",
        b"0x0",
        b"1e3",
        b"",
        b"0, 0",
        b"5, 5",
        b"5,6",
        b"99999999999999999999",
        b"0\t",
        b"\t0",
        b"\xd9\xa0",
    )
    names = (b"Content-Length", b"content-length", b"CONTENT-LENGTH", b"Content-Length ")
    for _ in range(rng.choice((1, 1, 2, 2, 3))):
        _put(
            rng,
            head,
            rng.choice(names) + b":" + rng.choice((b" ", b"", b"\t")) + rng.choice(values),
        )
    if rng.random() < 0.5:
        head.after = rng.choice(
            (b"hello", b"0\r\n\r\n", b"GET /simple/ HTTP/1.1\r\nHost: x\r\n\r\n")
        )


def transfer_encoding(rng: random.Random, head: Head) -> None:
    """Transfer-Encoding spelt every way a front and a back end may read differently."""
    values = (
        b"chunked",
        b"Chunked",
        b"CHUNKED",
        b"chunked, identity",
        b"identity, chunked",
        b"identity",
        b"gzip, chunked",
        b" chunked",
        b"chunked ",
        b"\tchunked",
        b"x-chunked",
        b"chunked;q=1",
        b"chu\x00nked",
        b"chunked\x0b",
        b"",
        b"chunked,",
        b",chunked",
    )
    names = (
        b"Transfer-Encoding",
        b"transfer-encoding",
        b"Transfer_Encoding",
        b"Transfer-Encoding ",
        b" Transfer-Encoding",
        b"Transfer-Encodings",
    )
    for _ in range(rng.choice((1, 1, 2))):
        _put(
            rng,
            head,
            rng.choice(names) + b":" + rng.choice((b" ", b"", b"\t")) + rng.choice(values),
        )
    if rng.random() < 0.5:
        _put(rng, head, b"Content-Length: " + rng.choice((b"0", b"5", b"3")))
    head.after = rng.choice(
        (b"", b"0\r\n\r\n", b"5\r\nhello\r\n0\r\n\r\n", b"GET / HTTP/1.1\r\n\r\n")
    )


def obs_fold(rng: random.Random, head: Head) -> None:
    """A header continued on the next line (obsolete line folding)."""
    _put(
        rng,
        head,
        rng.choice((b" ", b"\t", b"  ", b" \t"))
        + rng.choice((b"folded", b"chunked", b"Host: evil", b"Transfer-Encoding: chunked", b"")),
    )


def bare_lf(rng: random.Random, head: Head) -> None:
    """Lines (or the blank line) ended by LF alone."""
    _eol_at(rng, head, b"\n")
    if rng.random() < 0.5:
        head.end = b"\n"
    if rng.random() < 0.3:
        head.after = b"\r\n\r\n"  # where the poller would find a head's end


def bare_cr(rng: random.Random, head: Head) -> None:
    """Lines ended by CR alone, or a CR inside a line."""
    if rng.random() < 0.5:
        _eol_at(rng, head, b"\r")
    else:
        i = rng.randrange(len(head.fields)) if head.fields else None
        if i is None:
            head.target += b"\r"
        else:
            line = head.fields[i]
            at = rng.randint(0, len(line))
            head.fields[i] = line[:at] + b"\r" + line[at:]
    if rng.random() < 0.3:
        head.end = b"\r\r\n"


def absolute_form(rng: random.Random, head: Head) -> None:
    """A target in absolute form (a proxy's request), authority form, or scheme-relative."""
    host = rng.choice((*HOSTS, b"evil.example"))
    head.target = (
        rng.choice((b"http://", b"https://", b"HTTP://", b"//", b""))
        + host
        + (head.target if rng.random() < 0.8 else b"")
    )
    if rng.random() < 0.2:
        head.method = b"CONNECT"


def asterisk_form(rng: random.Random, head: Head) -> None:
    """The asterisk target, with OPTIONS or a method that must not take it."""
    head.target = rng.choice((b"*", b"*", b"/*", b"*/simple/"))
    if rng.random() < 0.5:
        head.method = b"OPTIONS"


PCT = (
    b"%2e",
    b"%2E",
    b"%2f",
    b"%2F",
    b"..%2f",
    b"..%2F",
    b"%2e%2e/",
    b"%2e%2e%2f",
    b"%252e",
    b"%5c",
    b"..\\",
    b"%00",
    b"%",
    b"%zz",
    b"%e9",
    b"../",
    b"./",
    b"//",
    b"/..",
    b"/.",
)


def percent_escapes(rng: random.Random, head: Head) -> None:
    """Escaped dots and slashes, dot segments, doubled slashes, broken escapes."""
    target = head.target
    for _ in range(rng.randint(1, 3)):
        at = rng.randint(1, len(target))
        target = target[:at] + rng.choice(PCT) + target[at:]
    head.target = target


def control_bytes(rng: random.Random, head: Head) -> None:
    """A NUL, a control byte, DEL or a byte above ASCII somewhere in the head."""
    byte = bytes([rng.choice((0, 0, 1, 8, 9, 11, 12, 27, 31, 127, 128, 0xA0, 0xE9, 0xFF))])
    where = rng.random()
    if where < 0.25:
        at = rng.randint(0, len(head.target))
        head.target = head.target[:at] + byte + head.target[at:]
    elif where < 0.35:
        head.method = head.method[:1] + byte + head.method[1:]
    elif where < 0.45:
        head.version += byte
    elif head.fields:
        i = rng.randrange(len(head.fields))
        line = head.fields[i]
        at = rng.randint(0, len(line))
        head.fields[i] = line[:at] + byte + line[at:]
    else:
        _put(rng, head, b"X-Ctl: a" + byte + b"b")


def long_lines(rng: random.Random, head: Head) -> None:
    """A request line or a field near and over the limits; many fields."""
    what = rng.random()
    size = rng.choice((4000, 4094, 4095, 8180, 8190, 8191, 8200, 12000, 17000, 70000))
    if what < 0.4:
        head.target = b"/simple/" + b"a" * max(0, size - 25) + b"/"
    elif what < 0.8:
        _put(rng, head, b"X-Long: " + b"v" * max(0, size - 10))
    else:
        for i in range(rng.choice((50, 98, 99, 100, 101, 150))):
            _put(rng, head, b"X-F%d: v" % i)


def space_before_colon(rng: random.Random, head: Head) -> None:
    """Whitespace between a field name and its colon, inside a name, or no name at all."""
    name = rng.choice((b"Host", b"Content-Length", b"Transfer-Encoding", b"Accept", b"X-A"))
    gap = rng.choice((b" ", b"\t", b"  "))
    shape = rng.random()
    if shape < 0.6:
        line = name + gap + b": " + rng.choice((b"0", b"chunked", b"x"))
    elif shape < 0.8:
        line = b"X" + gap + b"Y: z"
    else:
        line = rng.choice((b": empty name", b"no colon", b":", b"\t: x"))
    _put(rng, head, line)


def version(rng: random.Random, head: Head) -> None:
    """Another protocol version, or a malformed one."""
    head.version = rng.choice(
        (
            b"HTTP/1.0",
            b"HTTP/1.1",
            b"HTTP/1.2",
            b"HTTP/2.0",
            b"HTTP/0.9",
            b"http/1.1",
            b"HTTP/1.1 ",
            b"HTTP/01.1",
            b"HTTP/1",
            b"HTTP/1.10",
            b"HTTPS/1.1",
            b"",
            b"HTTP/1.1\t",
        )
    )


def keep_alive(rng: random.Random, head: Head) -> None:
    """HTTP/1.0 or 1.1 with every spelling of Connection."""
    head.fields = [f for f in head.fields if not f.lower().startswith(b"connection:")]
    head.version = rng.choice((b"HTTP/1.0", b"HTTP/1.1"))
    values = (
        b"close",
        b"keep-alive",
        b"Keep-Alive",
        b"CLOSE",
        b"upgrade",
        b"close, foo",
        b"keep-alive, close",
        b"Upgrade, keep-alive",
        b" close ",
        b"\tclose",
        b"",
        b"close,",
        b"closed",
        b"te, close",
        b"keep-alive,upgrade",
    )
    for _ in range(rng.choice((1, 1, 1, 2))):
        _put(
            rng,
            head,
            rng.choice((b"Connection", b"connection", b"Proxy-Connection"))
            + b": "
            + rng.choice(values),
        )


def host(rng: random.Random, head: Head) -> None:
    """Host missing, repeated (the same or another), empty, or odd."""
    head.fields = [f for f in head.fields if not f.lower().startswith(b"host:")]
    for _ in range(rng.choice((0, 0, 1, 2, 2, 3))):
        _put(
            rng,
            head,
            rng.choice((b"Host", b"host", b"HOST"))
            + b":"
            + rng.choice((b" ", b""))
            + rng.choice((*HOSTS, b"", b"evil.example", b"a b", b"x/y", b"x@y")),
        )
    if rng.random() < 0.3:
        head.version = rng.choice((b"HTTP/1.0", b"HTTP/1.1"))


def pipelined(rng: random.Random, head: Head) -> None:
    """Bytes after the head: another request, a part of one, garbage, blank lines."""
    head.after = rng.choice(
        (
            b"GET /simple/ HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /simple/numpy/ HTTP/1.1\r\nHost: x\r\n\r\nGET /simple/ HTTP/1.1\r\n\r\n",
            b"GET /admin/ HTTP/1.1\r\n",
            b"\r\n",
            b"\r\n\r\n",
            b"\x00\x01garbage",
            b"POST /legacy/ HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
        )
    )


def method(rng: random.Random, head: Head) -> None:
    """Another method, in other case, or with other separators around it."""
    head.method = rng.choice(
        (
            b"get",
            b"Get",
            b"POST",
            b"PUT",
            b"DELETE",
            b"OPTIONS",
            b"TRACE",
            b"PATCH",
            b"HEAD",
            b"GET",
            b"G\xc9T",
            b"GETX",
            b"",
            b"GET /",
        )
    )
    if rng.random() < 0.3:
        head.seps = (rng.choice((b" ", b"  ", b"\t", b"")), rng.choice((b" ", b"  ", b"\t", b"")))


def leading_lines(rng: random.Random, head: Head) -> None:
    """Blank lines or whitespace before the request line."""
    head.before = rng.choice((b"\r\n", b"\r\n\r\n", b"\n", b" ", b"\t", b"\r"))


def odd_names(rng: random.Random, head: Head) -> None:
    """Field names gunicorn drops or refuses, headers that ask for more than a GET."""
    _put(
        rng,
        head,
        rng.choice(
            (
                b"X_Under: score",
                b"Accept_Encoding: gzip",
                b"Expect: 100-continue",
                b"Upgrade: h2c",
                b"HTTP2-Settings: AAMAAABkAAQAAP__",
                b"TE: trailers",
                b"Trailer: X",
                b"Content-Type: x",
                b"X-\xe9: y",
                b"X-Y:z",
                b"X-Y:   z   ",
                b"X-Y: a\tb",
                b"X-Y:\t",
                b'X-Y: "q"',
                b"Proxy-Authorization: Basic eA==",
                b"Range: bytes=0-1",
                b"If-None-Match: *",
            )
        ),
    )


def whitespace(rng: random.Random, head: Head) -> None:
    """Spaces and tabs around values, after the request line, on blank-looking lines."""
    shape = rng.random()
    if shape < 0.4 and head.fields:
        i = rng.randrange(len(head.fields))
        name, _, value = head.fields[i].partition(b":")
        pad = (rng.choice((b"", b" ", b"\t", b"  ")), rng.choice((b"", b" ", b"\t", b" \t")))
        head.fields[i] = name + b":" + pad[0] + value.strip() + pad[1]
    elif shape < 0.7:
        head.end = rng.choice((b" \r\n", b"\t\r\n", b"\r\n"))
    else:
        _put(rng, head, rng.choice((b" ", b"\t", b"")))


def random_bytes(rng: random.Random, head: Head) -> None:
    """A byte inserted, deleted or replaced anywhere in the encoded head."""

    def mutate(data: bytes) -> bytes:
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(data) + 1)
            op = rng.random()
            byte = bytes([rng.choice((0, 9, 10, 13, 32, 58, 37, 127, 255, rng.randrange(256)))])
            if op < 0.4:
                data = data[:at] + byte + data[at:]
            elif op < 0.7:
                data = data[:at] + data[at + 1 :]
            else:
                data = data[:at] + byte + data[at + 1 :]
        return data

    head.raw = mutate


Shape = Callable[[random.Random, Head], None]
SHAPES: dict[str, Shape] = {
    f.__name__: f
    for f in (
        content_length,
        transfer_encoding,
        obs_fold,
        bare_lf,
        bare_cr,
        absolute_form,
        asterisk_form,
        percent_escapes,
        control_bytes,
        long_lines,
        space_before_colon,
        version,
        keep_alive,
        host,
        pipelined,
        method,
        leading_lines,
        odd_names,
        whitespace,
        random_bytes,
    )
}
_NAMES = tuple(SHAPES)


def generate(seed: int, index: int) -> tuple[bytes, tuple[str, ...]]:
    """Head ``index`` of ``seed``, and the names of the shapes applied to it."""
    rng = random.Random(f"{seed}:{index}")
    head = installer_head(rng)
    draw = rng.random()
    count = 0 if draw < 0.2 else 1 if draw < 0.65 else 2 if draw < 0.9 else 3
    shapes = tuple(rng.sample(_NAMES, count))
    for name in shapes:
        SHAPES[name](rng, head)
    return head.encode(), shapes
