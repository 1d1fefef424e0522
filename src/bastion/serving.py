"""The gunicorn worker ``bastion serve`` runs: gthread, with every connection kept by the poller.

gunicorn's gthread worker reads each request and writes each response in a worker thread, and
those threads wait on the client: for the rest of a request head, for a body, for the client
to take an answer. Four clients that send half a head and stop, or pipeline requests and never
read, hold the four threads of ``bastion serve`` for as long as they like, and every request
that needs Django (the JSON API, uploads, logins, pages) waits behind them. So here the
poller, which never waits on anyone, does all the waiting:

* A connection waits for its request in the poller. The poller reads what arrives into the
  connection's buffer until the head is complete (within :attr:`header_timeout` of its first
  byte, or the connection is closed), and then the body of its ``Content-Length`` (each read
  within :attr:`body_timeout` of the last, at :data:`MIN_BODY_RATE` on average; up to
  :data:`BODY_IN_MEMORY` in memory, beyond that in a temporary file in the data folder). Only
  a complete request goes to a thread, whose parser reads it from there (:class:`_Received`),
  never from the socket. A request body without a length (chunked) is refused with 411:
  Django reads none of it anyway.
* A thread writes its response without waiting: what the socket does not take at once is
  kept (:class:`ClientSocket`; up to :data:`OUTBOX_PER_CONNECTION` per connection and
  :data:`OUTBOX_TOTAL` per process, files as file descriptors) and the poller sends it as the
  client reads, each write within :attr:`send_timeout` of the last. A connection's next
  request is read only when its last answer is sent, so a client that pipelines and never
  reads costs one buffer and is closed. Only an answer larger than those budgets makes a
  thread wait, each wait bounded by :attr:`send_timeout`.
* Limits: at most :attr:`max_per_client` connections from one address (more are answered
  503 with ``Retry-After`` at once; loopback is a client too, and pip or uv open several) and
  gunicorn's ``worker_connections`` in all, past which the idlest connection is closed to make
  room. Closing after a ``Connection: close`` answer (a FIN, then a short drain of what the
  client still sends, as gunicorn does) happens on the poller too.

Exposed beyond a trusted network, bastion belongs behind nginx (docs/operating.md): nginx
holds slow clients at no cost and limits them per address, which one process with four
threads cannot do as well whatever it does.

The simple pages and published files are answered by the poller itself. Installers fetch
``/simple/<name>/`` and then the ``.metadata`` of the version they pick, one request at a time
on a kept-alive connection, and for those answers, whose bytes are in memory or a single
small read away, handing the connection to a thread and back (a pipe write, a thread
wake-up, a future's callback, GIL hand-offs) was the one cost not shared with nginx that
bastion could drop: about 40 us of a 0.2 ms round trip, and much of the jitter (measured on
the benchmark corpus: median latency 12% lower, p90 25-50% lower, 12-25% more requests a
second under ``wrk``). The poller answers a GET or HEAD without a body when the index's
responder (:meth:`bastion.index.responder.Responder.answer_or_stream`, the same object the
WSGI application and the Django views ask) has the response (a larger published
file is sent from the file with ``sendfile``). A plain head, the strict subset of HTTP/1.x
that installers send, is read by :func:`read_plain_head` and answered with the bytes
gunicorn's ``Response`` would write: gunicorn's parser and ``Response`` objects cost more
than the rest of the answer (with them, about 0.5 ms a request on the benchmark's ``pip
install`` sequence against nginx's 0.2 ms; without, about 0.27 ms). Any other head, or a
server with an access log or request hooks, is parsed by gunicorn's own parser and answered
through its ``Response``, so limits, errors, the ``Date``/``Server``/``Connection`` headers,
keep-alive and the access log are those of the thread path (a test compares the bytes).
Anything else goes to a thread.

With TLS, the PROXY protocol or HTTP/2 configured, gunicorn's threads read and write the
sockets as in its own gthread worker (only new connections wait in the poller): terminate
those in nginx.
"""

from __future__ import annotations

import contextlib
import errno
import heapq
import itertools
import os
import re
import select
import selectors
import socket
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import formatdate
from functools import partial
from http import HTTPStatus
from typing import IO, TYPE_CHECKING, Any

from gunicorn import SERVER
from gunicorn.http import wsgi
from gunicorn.http.body import LengthReader
from gunicorn.http.message import DEFAULT_MAX_HEADERFIELD_SIZE, MAX_HEADERS, MAX_REQUEST_LINE
from gunicorn.http.unreader import IterUnreader, Unreader
from gunicorn.workers.gthread import STOP_KEEPALIVE_LINGER, TConn, ThreadWorker

from bastion.index.responder import Stream

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

#: Bytes read off a socket at a time while a request head arrives.
READ_CHUNK = 32 * 1024
#: The longest request head the poller waits for; a longer one is answered 431. Installers
#: send a few hundred bytes, browsers a few kilobytes.
MAX_HEAD = 64 * 1024
#: Bytes read off a socket at a time while a request body arrives.
BODY_CHUNK = 256 * 1024
#: A request body is kept in memory up to this size (a login form, most wheels), beyond it in
#: a temporary file; and in memory only while all the bodies a process holds stay within
#: :data:`BODY_MEMORY_TOTAL`.
BODY_IN_MEMORY = 1024 * 1024
BODY_MEMORY_TOTAL = 64 * 1024 * 1024
#: Bytes a second a request body must arrive at on average, after its first
#: ``body_timeout`` seconds: a client that sends a byte now and then is closed all the same.
MIN_BODY_RATE = 1024
#: Bytes of unsent responses kept for the poller to send, per connection (the JSON API of a
#: project with thousands of files) and per process. A thread whose response does not fit
#: waits for the client (each wait bounded by the send timeout).
OUTBOX_PER_CONNECTION = 4 * 1024 * 1024
OUTBOX_TOTAL = 64 * 1024 * 1024
#: After the last response on a connection: how long, and how many bytes, the poller drains
#: what the client still sends before closing (closing with unread bytes would send a reset,
#: which can destroy the response before the client reads it).
LINGER_SECONDS = 2.0
LINGER_BYTES = 64 * 1024
#: Requests answered on the poller from one connection's buffer before other connections get
#: a turn (a client may pipeline thousands in one packet).
PIPELINE_TURN = 64

#: Seconds between heartbeats to gunicorn's arbiter (see ``PollingThreadWorker.notify``).
NOTIFY_EVERY = 0.5

# What a request line must start with to be worth parsing on the poller.
_SIMPLE_PREFIXES = (b"GET /simple/", b"HEAD /simple/", b"GET /packages/", b"HEAD /packages/")

_STATUS_LINES = {s.value: f"{s.value} {s.phrase}" for s in HTTPStatus}

Answer = tuple[int, list[tuple[str, str]], bytes]

# The plain requests the poller reads itself (see read_plain_head): a target of path characters
# and a query, without percent-escapes or a fragment; header names that are tokens without "_"
# (gunicorn drops or refuses those); values of visible ASCII, spaces and tabs.
_PLAIN_TARGET = re.compile(rb"/[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*")
_PLAIN_NAME = re.compile(rb"[A-Za-z0-9!#$%&'*+\-.^`|~]+")
_PLAIN_VALUE = re.compile(rb"[\t\x20-\x7e]*")
# Headers the answer depends on, as WSGI names them (the host: Django's ALLOWED_HOSTS check).
_PLAIN_WANTED = {
    b"accept": "HTTP_ACCEPT",
    b"if-none-match": "HTTP_IF_NONE_MATCH",
    b"host": "HTTP_HOST",
    b"x-forwarded-host": "HTTP_X_FORWARDED_HOST",
}
# Headers that make a request more than a plain GET: a body, an upgrade, an expectation.
_PLAIN_REFUSED = frozenset(
    (b"content-length", b"transfer-encoding", b"expect", b"upgrade", b"http2-settings", b"te")
)


@dataclass(frozen=True, slots=True)
class PlainHead:
    """A request head read by :func:`read_plain_head`."""

    length: int  # bytes, the blank line included
    environ: dict[str, str]  # what the responder reads: method, path, query, Host, Accept, ...
    head_only: bool  # HEAD: the answer's body is left out, its Content-Length kept
    minor: int  # HTTP/1.<minor>
    keep_alive: bool  # as gunicorn's Message.should_close() decides it, negated
    headers: list[tuple[bytes, bytes]]  # (lower-cased name, value), in order


def read_plain_head(
    data: bytes | bytearray, end: int, limit_line: int, limit_fields: int, limit_field_size: int
) -> PlainHead | None:
    """The head ``data[:end]`` (``end`` is where its blank line starts) when it is a plain GET
    or HEAD that gunicorn's parser would accept as it is; None for anything else.

    gunicorn's parser and ``Response`` objects cost more than the rest of answering a simple
    page (measured against the benchmark corpus: about 60% of the poller's time per request).
    This reads only the strict subset of HTTP/1.x that installers send, and leaves every other
    head to gunicorn (whose answer to a malformed one, a 400 or a 431, stays its own): a
    repeated header, folding, an escape in the target, a header gunicorn would drop, a body or
    a line over gunicorn's limits all give None. A head it reads, h11 reads the same way (same
    request line, headers, framing, keep-alive and length), and a head h11 refuses it never
    reads: ``bench/httpheads`` checks both on generated heads, request-smuggling shapes
    among them, and tests/index/test_head_differential.py on a slice of them.
    """
    lines = bytes(data[:end]).split(b"\r\n")
    line = lines[0]
    if 0 < limit_line < len(line):
        return None
    parts = line.split(b" ")
    if len(parts) != 3:
        return None
    method, target, version = parts
    if method == b"GET":
        head_only = False
    elif method == b"HEAD":
        head_only = True
    else:
        return None
    if version == b"HTTP/1.1":
        minor = 1
    elif version == b"HTTP/1.0":
        minor = 0
    else:
        return None
    if not _PLAIN_TARGET.fullmatch(target) or 0 < limit_fields < len(lines) - 1:
        return None
    environ: dict[str, str] = {}
    seen: set[bytes] = set()
    headers: list[tuple[bytes, bytes]] = []
    connection = b""
    for field in lines[1:]:
        if 0 < limit_field_size < len(field) + 2:
            return None
        name, colon, value = field.partition(b":")
        if not colon or not _PLAIN_NAME.fullmatch(name):
            return None
        name = name.lower()
        if name in seen:
            return None
        seen.add(name)
        value = value.strip(b" \t")
        if not _PLAIN_VALUE.fullmatch(value):
            return None
        headers.append((name, value))
        if name in _PLAIN_REFUSED:
            if name == b"content-length" and value == b"0":
                continue
            return None
        key = _PLAIN_WANTED.get(name)
        if key is not None:
            environ[key] = value.decode("ascii")
        elif name == b"connection":
            connection = value.lower()
    # Where gunicorn and h11 (bench/httpheads) would decide otherwise, gunicorn decides: no
    # Host on HTTP/1.1 (h11 refuses it), a Connection list (gunicorn reads it whole, h11 token
    # by token), HTTP/1.0 kept alive (gunicorn keeps it, h11 closes).
    if b"," in connection or (minor == 1 and b"host" not in seen):
        return None
    if connection == b"close":
        keep_alive = False
    elif minor == 1:
        keep_alive = True
    elif connection == b"keep-alive":
        return None
    else:
        keep_alive = False
    path, _, query = target.partition(b"?")
    environ["REQUEST_METHOD"] = method.decode("ascii")
    environ["PATH_INFO"] = path.decode("ascii")
    environ["QUERY_STRING"] = query.decode("ascii")
    return PlainHead(end + 4, environ, head_only, minor, keep_alive, headers)


_date: tuple[int, str] = (0, "")


def http_date() -> str:
    """The Date header's value, formatted once a second (gunicorn formats it per response)."""
    global _date
    now = int(time.time())
    if _date[0] != now:
        _date = (now, formatdate(now, usegmt=True))
    return _date[1]


def _default_hook(cfg: Any, name: str) -> bool:
    setting = cfg.settings[name]
    return setting.get() is type(setting).default


class _Collected:
    """Takes the place of the client socket for gunicorn's ``Response``: the response is
    collected here and sent by the poller without blocking."""

    __slots__ = ("data",)

    def __init__(self) -> None:
        self.data = bytearray()

    def sendall(self, data: bytes) -> None:
        self.data += data

    def send(self, data: bytes) -> int:
        self.data += data
        return len(data)


# -- the client's socket ---------------------------------------------------------------------

# The socket's own methods, which the poller calls: never waiting (the descriptor is always
# non-blocking), and not ClientSocket's overrides, which are for gunicorn's thread code.
_raw_send = socket.socket.send
_raw_recv = socket.socket.recv
_raw_setblocking = socket.socket.setblocking

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
#: The most one ``sendfile`` call is asked to send (the socket takes what fits anyway).
_SENDFILE_CHUNK = 8 * 1024 * 1024


class ClientTimeout(ConnectionResetError):
    """A client took nothing of a response for ``send_timeout`` seconds. A connection reset
    to gunicorn's thread code, which then closes the connection quietly."""


class _Budget:
    """Bytes of unsent responses that threads handed to the poller, shared by the connections
    of a process so that slow readers cannot make it hold unbounded memory."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def take(self, n: int) -> bool:
        with self._lock:
            if self.used + n > self.limit:
                return False
            self.used += n
            return True

    def give(self, n: int) -> None:
        with self._lock:
            self.used -= n

    def force(self, n: int) -> None:
        """Count bytes the poller keeps whatever the budget says (it cannot wait)."""
        with self._lock:
            self.used += n


class _Borrowed:
    """Bytes in the outbox that belong to a cache (a large simple page): not counted, as
    keeping them costs nothing."""

    __slots__ = ("view",)

    def __init__(self, view: memoryview) -> None:
        self.view = view


class _FilePart:
    """Bytes of an open file still to send: a large published file, or a file Django answers
    with (``FileResponse``); sent with ``sendfile`` as the client reads."""

    __slots__ = ("fd", "left", "offset")

    def __init__(self, fd: int, offset: int, left: int) -> None:
        self.fd = fd
        self.offset = offset
        self.left = left

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _open_part(stream: Stream) -> _FilePart | None:
    """The published file of ``stream``, opened, if it still has the announced size."""
    try:
        fd = os.open(stream.path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:  # unpublished meanwhile
        return None
    try:
        if os.fstat(fd).st_size == stream.size:
            return _FilePart(fd, 0, stream.size)
    except OSError:
        pass
    os.close(fd)
    return None


class ClientSocket(socket.socket):
    """A client connection's socket. Its descriptor is non-blocking from accept to close.

    The poller reads and writes it with the socket's own methods. gunicorn's thread code,
    which only writes (its parser reads the request the poller received, see
    :class:`_Received`), calls the overrides here: ``sendall`` sends what the socket takes at
    once and leaves the rest in the outbox for the poller to send as the client reads, within
    the connection's and the process's budgets (beyond them it waits, each wait bounded by
    ``send_timeout``); ``sendfile`` leaves a duplicate of the file's descriptor in the outbox.
    So a thread is not held by a client that does not read. ``setblocking`` and
    ``settimeout`` only say whether a thread owns the socket.
    """

    __slots__ = ("budget", "outbox", "outbox_bytes", "send_timeout", "waits")

    def __init__(
        self, family: int, kind: int, proto: int, fileno: int, budget: _Budget, send_timeout: float
    ) -> None:
        super().__init__(family, kind, proto, fileno)
        _raw_setblocking(self, False)
        self.waits = False
        self.budget = budget
        self.send_timeout = send_timeout
        self.outbox: deque[memoryview | _Borrowed | _FilePart] = deque()
        self.outbox_bytes = 0  # bytes of memory in the outbox, counted in the budget

    # What gunicorn's thread code calls.

    def setblocking(self, flag: bool, /) -> None:
        self.waits = bool(flag)

    def settimeout(self, value: float | None, /) -> None:
        self.waits = value != 0.0

    def gettimeout(self) -> float | None:
        return self.send_timeout if self.waits else 0.0

    def send(self, data: ReadableBuffer, flags: int = 0, /) -> int:
        view = memoryview(data)
        if view.nbytes == len(_CONTINUE) and view.tobytes() == _CONTINUE:
            # gunicorn answers an Expect: 100-continue when the request is handed to the
            # application; the poller already did, before it read the body.
            return len(_CONTINUE)
        self.sendall(view)
        return view.nbytes

    def sendall(self, data: ReadableBuffer, flags: int = 0, /) -> None:
        view = memoryview(data).cast("B")
        if not self.outbox:
            sent = 0
            try:
                while sent < len(view):
                    sent += _raw_send(self, view[sent:])
                return
            except BlockingIOError:
                view = view[sent:]
        if not isinstance(data, bytes):  # the caller may reuse a buffer it lent
            view = memoryview(view.tobytes())
        n = len(view)
        if self.outbox_bytes + n <= OUTBOX_PER_CONNECTION and self.budget.take(n):
            self.outbox.append(view)
            self.outbox_bytes += n
            return
        self.drain(wait=True)
        sent = 0
        while sent < n:
            try:
                sent += _raw_send(self, view[sent:])
            except BlockingIOError:
                self._wait_writable()

    def sendfile(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        fd = file.fileno()
        if count is None:
            count = os.fstat(fd).st_size - offset
        if count > 0:
            self.outbox.append(_FilePart(os.dup(fd), offset, count))
        file.seek(offset + count)  # where socket.sendfile leaves it
        return count

    def close(self) -> None:
        self.discard()
        super().close()

    # What the worker calls.

    def queue(self, item: memoryview | _Borrowed | _FilePart) -> None:
        """Add to the outbox without waiting (the poller: the bytes are in memory already, in
        a response it built or in a cache)."""
        self.outbox.append(item)
        if isinstance(item, memoryview):
            self.outbox_bytes += len(item)
            self.budget.force(len(item))

    def drain(self, wait: bool = False) -> tuple[bool, bool]:
        """Send the outbox: (all of it sent, something sent). Without ``wait`` (the poller)
        it stops when the socket takes no more; with it (a thread), it waits for the client,
        each time at most ``send_timeout``."""
        outbox = self.outbox
        progressed = False
        while outbox:
            item = outbox[0]
            try:
                if isinstance(item, _FilePart):
                    n = os.sendfile(
                        self.fileno(), item.fd, item.offset, min(item.left, _SENDFILE_CHUNK)
                    )
                    if n == 0:
                        raise OSError(errno.EIO, "the file is shorter than its Content-Length")
                    item.offset += n
                    item.left -= n
                    if not item.left:
                        item.close()
                        outbox.popleft()
                elif isinstance(item, _Borrowed):
                    n = _raw_send(self, item.view)
                    if n == len(item.view):
                        outbox.popleft()
                    else:
                        item.view = item.view[n:]
                else:
                    n = _raw_send(self, item)
                    self.outbox_bytes -= n
                    self.budget.give(n)
                    if n == len(item):
                        outbox.popleft()
                    else:
                        outbox[0] = item[n:]
            except BlockingIOError:
                if not wait:
                    return False, progressed
                self._wait_writable()
                continue
            progressed = True
        return True, progressed

    def discard(self) -> None:
        """Forget what is unsent (the connection is closing)."""
        for item in self.outbox:
            if isinstance(item, _FilePart):
                item.close()
        self.outbox.clear()
        if self.outbox_bytes:
            self.budget.give(self.outbox_bytes)
            self.outbox_bytes = 0

    def _wait_writable(self) -> None:
        """In a thread: wait until the client takes more, at most ``send_timeout``."""
        poller = select.poll()
        poller.register(self.fileno(), select.POLLOUT)
        if not poller.poll(self.send_timeout * 1000):
            self.discard()
            raise ClientTimeout(
                errno.ECONNRESET, f"the client took nothing for {self.send_timeout:g} s"
            )


# -- what the poller received, for a thread --------------------------------------------------


class _Received(Unreader):  # type: ignore[misc]
    """A request as the poller received it (its head, then its body in memory pieces and a
    temporary file), for gunicorn's parser in a thread. It never reads the socket: the thread
    is not held by a client that sends slowly, or not at all."""

    def __init__(self, pieces: list[bytes], spool: IO[bytes] | None) -> None:
        super().__init__()
        self.pieces = deque(pieces)
        self.spool = spool

    def chunk(self, size_hint: int | None = None) -> bytes:
        if self.pieces:
            return self.pieces.popleft()
        if self.spool is not None:
            data = self.spool.read(min(max(size_hint or 0, BODY_CHUNK), 4 * BODY_CHUNK))
            if data:
                return data
        return b""

    def close(self) -> None:
        self.pieces.clear()
        if self.spool is not None:
            self.spool.close()
            self.spool = None


class _Body:
    """A request body on its way in: the pieces so far (the head first), then a file."""

    __slots__ = ("left", "memory", "pieces", "received", "reserved", "spool", "started")

    def __init__(self, head: bytes, length: int, started: float) -> None:
        self.pieces = [head]
        self.left = length
        self.received = 0
        self.memory = 0  # body bytes in ``pieces``
        self.spool: IO[bytes] | None = None
        self.reserved = 0  # bytes of the process's spool budget this body holds
        self.started = started


_READ, _WRITE, _THREAD, _LINGER, _CLOSED = range(5)
_NEVER = float("inf")


class _Conn(TConn):  # type: ignore[misc]
    """gunicorn's connection, and what the poller keeps of it."""

    def __init__(self, cfg: Any, sock: ClientSocket, client: Any, server: Any) -> None:
        super().__init__(cfg, sock, client, server)
        self.key: str | None = None  # the address counted against the per-client cap
        self.inbuf: bytes | bytearray = b""  # received, not yet a request handed on
        self.scanned = 0  # where to go on looking for the end of the head
        self.head_started = False  # the header deadline runs
        self.state = _READ
        self.events = 0  # what the poller watches for
        self.deadline = _NEVER
        self.queued = _NEVER  # the deadline of this connection's live entry in the timers
        self.closing = False  # close once the outbox is sent
        self.body: _Body | None = None
        self.received: _Received | None = None  # the request a thread has
        self.held = (0, 0)  # memory and spool budget the thread's request holds
        self.lingered = 0
        self.callback: Callable[[Any], None] | None = None


class PollingThreadWorker(ThreadWorker):  # type: ignore[misc]
    alive: bool  # gunicorn's, set by its Worker
    _next_notify = 0.0
    answer_without_django: Callable[[dict[str, Any]], Answer | None] | None = None
    answer_or_stream: Callable[[dict[str, Any]], Answer | Stream | None] | None = None

    #: Seconds from a request head's first byte to its end.
    header_timeout = 20.0
    #: Seconds a request body may go without a byte (and MIN_BODY_RATE on average).
    body_timeout = 20.0
    #: Seconds a response may go without the client taking a byte.
    send_timeout = 30.0
    #: Connections one client address may have open; 0: no cap.
    max_per_client = 64
    #: The largest request body accepted (413 beyond it, before it is read).
    max_request = 1024 * 1024 * 1024
    #: Where request bodies larger than BODY_IN_MEMORY wait for a thread.
    spool_dir: str | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._managed = False
        self._timers: list[tuple[float, int, _Conn]] = []
        self._tick = itertools.count()
        self._conns: set[_Conn] = set()
        self._clients: dict[str, int] = {}
        self._budget = _Budget(OUTBOX_TOTAL)
        self._body_memory = 0
        self._spooled = 0
        self._spool_limit = 4 * self.max_request
        self._stopping = False
        self._next_refusal_log = 0.0
        self._next_eviction_log = 0.0
        self._servers: dict[int, Any] = {}

    def notify(self) -> None:
        """Tell the arbiter this worker is alive at most every :data:`NOTIFY_EVERY` seconds.

        gthread notifies on every turn of its loop, that is for nearly every request, and each
        notice is a system call on the heartbeat file (8% of the worker's time serving pages
        one at a time). The arbiter only needs one within its timeout (``bastion serve`` gives
        120 s).
        """
        now = time.monotonic()
        if now >= self._next_notify:
            self._next_notify = now + NOTIFY_EVERY
            super().notify()

    _plain_ok = False
    _line_limit = MAX_REQUEST_LINE
    _field_limits = (0, DEFAULT_MAX_HEADERFIELD_SIZE)

    def load_wsgi(self) -> None:
        super().load_wsgi()
        responder = getattr(self.wsgi, "responder", None)  # bastion.index.responder.IndexApp's
        if responder is not None:
            self.answer_without_django = responder.answer_without_django
            self.answer_or_stream = responder.answer_or_stream
        cfg = self.cfg
        # The poller reads plain requests itself (read_plain_head) unless something needs
        # gunicorn's request and response objects: an access log, request hooks, debug logging
        # of each request, or a SCRIPT_NAME to strip from paths.
        self._plain_ok = not (
            cfg.accesslog
            or cfg.logconfig
            or cfg.logconfig_dict
            or getattr(cfg, "logconfig_json", None)
            or (cfg.syslog and not cfg.disable_redirect_access_to_syslog)
            or str(cfg.loglevel).lower() == "debug"
            or not _default_hook(cfg, "pre_request")
            or not _default_hook(cfg, "post_request")
            or os.environ.get("SCRIPT_NAME")
        )
        # gunicorn's reading of its limits: a line limit below 0 or above 8190 is 8190 (0:
        # none); no field-count limit is "none"; no field-size limit is 8190.
        line = cfg.limit_request_line
        self._line_limit = MAX_REQUEST_LINE if line < 0 or line >= MAX_REQUEST_LINE else line
        fields, field_size = cfg.limit_request_fields, cfg.limit_request_field_size
        self._field_limits = (
            fields if 0 < fields <= MAX_HEADERS else 0,
            field_size if field_size > 0 else DEFAULT_MAX_HEADERFIELD_SIZE,
        )
        # The poller keeps the connections unless gunicorn must read them itself: TLS, the
        # PROXY protocol and HTTP/2 are gunicorn's (nginx in front does them better).
        self._managed = not (
            cfg.is_ssl
            or getattr(cfg, "proxy_protocol", "off") not in ("off", False, None)
            or (
                "h2" in (getattr(cfg, "http_protocols", None) or ())
                and getattr(cfg, "http2_cleartext", "off") != "off"
            )
        )
        self._read_settings()

    def _read_settings(self) -> None:
        """The limits bastion's settings give (docs/configuration.md)."""
        from bastion.config import current

        bastion = current()
        self.header_timeout = float(bastion.header_timeout)
        self.body_timeout = float(bastion.body_timeout)
        self.send_timeout = float(bastion.send_timeout)
        self.max_per_client = bastion.max_connections_per_client
        self.max_request = bastion.max_request_size
        self._spool_limit = max(4 * 1024**3, 2 * self.max_request)
        spool = bastion.data_dir / "tmp"
        spool.mkdir(parents=True, exist_ok=True)
        self.spool_dir = str(spool)

    # -- connections ---------------------------------------------------------------------------

    def accept(self, listener: Any) -> None:
        if not self._managed:
            self._accept_pending(listener)
            return
        try:
            fd, addr = listener._accept()
        except OSError as e:
            if e.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                self._evict()  # out of descriptors: make room (logged there)
                return
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        sock = ClientSocket(
            listener.family, listener.type, listener.proto, fd, self._budget, self.send_timeout
        )
        server = self._servers.get(listener.fileno())
        if server is None:
            server = self._servers[listener.fileno()] = listener.getsockname()
        self.nr_conns += 1
        conn = _Conn(self.cfg, sock, addr, server)
        conn.callback = partial(self._on_event, conn)
        self._conns.add(conn)
        key = addr[0] if isinstance(addr, tuple) and addr else None
        if key is not None and self.max_per_client > 0:
            count = self._clients.get(key, 0)
            if count >= self.max_per_client:
                self._refuse_connection(conn, key)
                return
            self._clients[key] = count + 1
            conn.key = key
        if self.nr_conns >= self.worker_connections:
            self._evict(spare=conn)
        self._wait_request(conn, time.monotonic() + (self.cfg.keepalive or self.header_timeout))

    def _accept_pending(self, listener: Any) -> None:
        """gunicorn's threads read this server's connections (see the module's docstring),
        but a new one waits for its first bytes in the poller, not in a thread (where gunicorn
        lets it hold the thread for five seconds: uv, which opens connections ahead of need,
        stalled a third of its runs so)."""
        try:
            client_sock, client_addr = listener.accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())  # non-blocking
        conn.timeout = time.monotonic() + self.cfg.keepalive
        self.pending_conns.append(conn)
        self.poller.register(
            client_sock, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn)
        )

    def _refuse_connection(self, conn: _Conn, key: str) -> None:
        now = time.monotonic()
        if now >= self._next_refusal_log:  # once in a while: a flood must not flood the log
            self._next_refusal_log = now + 10
            self.log.warning(
                "Refusing connections from %s: it has %d open (BASTION_MAX_CONNECTIONS_PER_CLIENT)",
                key,
                self._clients.get(key, 0),
            )
        self._refuse(conn, 503, "Too many connections from your address.", retry_after=1)

    def _watch(self, conn: _Conn, events: int) -> None:
        """Have the poller watch ``conn`` for ``events`` (0: not at all)."""
        if conn.events == events:
            return
        if events == 0:
            self.poller.unregister(conn.sock)
        elif conn.events == 0:
            self.poller.register(conn.sock, events, conn.callback)
        else:
            self.poller.modify(conn.sock, events, conn.callback)
        conn.events = events

    def _arm(self, conn: _Conn, deadline: float) -> None:
        """Set ``conn``'s deadline. A later one only changes the connection (the timers see
        it when its entry comes due), so pushing back a deadline per request costs nothing."""
        conn.deadline = deadline
        if deadline < conn.queued:
            conn.queued = deadline
            heapq.heappush(self._timers, (deadline, next(self._tick), conn))

    def _wait_request(self, conn: _Conn, deadline: float | None = None) -> None:
        """Wait in the poller for ``conn``'s next request, as long as keep-alive allows."""
        conn.state = _READ
        conn.head_started = False
        if deadline is None:
            deadline = time.monotonic() + self.cfg.keepalive
        if not self.alive:
            deadline = min(deadline, time.monotonic() + STOP_KEEPALIVE_LINGER)
        self._arm(conn, deadline)
        self._watch(conn, selectors.EVENT_READ)

    def _drop(self, conn: _Conn) -> None:
        """Close ``conn`` now (not one a thread has)."""
        if conn.state in (_CLOSED, _THREAD):
            return
        if conn.events:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self.poller.unregister(conn.sock)
            conn.events = 0
        self._release(conn)
        self._forget(conn)
        conn.sock.close()

    def _forget(self, conn: _Conn) -> None:
        conn.state = _CLOSED
        self._conns.discard(conn)
        key = conn.key
        if key is not None:
            conn.key = None
            left = self._clients[key] - 1
            if left:
                self._clients[key] = left
            else:
                del self._clients[key]
        self.nr_conns -= 1

    def _release(self, conn: _Conn) -> None:
        """Give back what ``conn``'s request held: its body's memory and spool file."""
        body = conn.body
        if body is not None:
            conn.body = None
            self._body_memory -= body.memory
            self._spooled -= body.reserved
            if body.spool is not None:
                body.spool.close()
        received = conn.received
        if received is not None:
            conn.received = None
            received.close()
        memory, spooled = conn.held
        if memory or spooled:
            conn.held = (0, 0)
            self._body_memory -= memory
            self._spooled -= spooled

    def _evict(self, spare: _Conn | None = None) -> None:
        """Close one connection to make room: one closing already, else the idlest of those
        waiting for a request (slowly arriving heads included), else the slowest reader."""
        waiting: _Conn | None = None
        writing: _Conn | None = None
        for conn in self._conns:
            if conn is spare:
                continue
            if conn.state == _LINGER:
                self._drop(conn)
                return
            if conn.state == _READ and conn.body is None:
                if waiting is None or conn.deadline < waiting.deadline:
                    waiting = conn
            elif conn.state == _WRITE and (writing is None or conn.deadline < writing.deadline):
                writing = conn
        victim = waiting or writing
        if victim is not None:
            self._drop(victim)
        now = time.monotonic()
        if now >= self._next_eviction_log:
            self._next_eviction_log = now + 10
            self.log.warning(
                "%d connections open (BASTION_MAX_CONNECTIONS): closing the idlest to make room",
                self.nr_conns,
            )

    # -- deadlines -----------------------------------------------------------------------------

    def murder_pending(self) -> None:
        """gthread calls this on every turn of its loop: connections past their deadline are
        closed (a request that did not arrive in time, an answer the client did not take)."""
        if not self._managed:
            super().murder_pending()
            return
        now = time.monotonic()
        if not self.alive and not self._stopping:
            # Stopping: connections waiting for a request stay a moment, for a request already
            # on its way (answered with Connection: close), as gunicorn's do.
            self._stopping = True
            for conn in list(self._conns):
                if conn.state == _READ and not conn.inbuf and conn.body is None:
                    self._arm(conn, min(conn.deadline, now + STOP_KEEPALIVE_LINGER))
        timers = self._timers
        while timers and timers[0][0] <= now:
            deadline, _, conn = heapq.heappop(timers)
            if deadline != conn.queued:
                continue  # superseded by an earlier entry
            conn.queued = _NEVER
            if conn.state in (_CLOSED, _THREAD):
                continue
            if conn.deadline > now:  # pushed back since: wait again
                self._arm(conn, conn.deadline)
                continue
            if conn.state == _READ and (conn.inbuf or conn.body is not None):
                # A request that did not arrive in time: say so if the socket takes it.
                with contextlib.suppress(OSError):
                    _raw_send(conn.sock, _REQUEST_TIMEOUT)
            self._drop(conn)

    # -- events --------------------------------------------------------------------------------

    def _on_event(self, conn: _Conn, fileobj: Any) -> None:
        state = conn.state
        if state == _READ:
            self._on_readable(conn)
        elif state == _WRITE:
            self._on_writable(conn)
        elif state == _LINGER:
            self._on_linger(conn)

    def _on_readable(self, conn: _Conn) -> None:
        body = conn.body
        try:
            data = _raw_recv(conn.sock, READ_CHUNK if body is None else min(body.left, BODY_CHUNK))
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # the client is gone: nothing to answer
            self._drop(conn)
            return
        if body is not None:
            self._receive_body(conn, body, data)
            return
        buffered = conn.inbuf
        if buffered:
            if isinstance(buffered, bytes):
                buffered = bytearray(buffered)
            buffered += data
            conn.inbuf = buffered
        else:
            conn.inbuf = data
        self._serve(conn)

    def _on_writable(self, conn: _Conn) -> None:
        try:
            done, progressed = conn.sock.drain()
        except OSError as e:
            self.log.debug("Client went away before its response was sent: %s", e)
            self._drop(conn)
            return
        if done:
            self._after_answer(conn)
        elif progressed:
            self._arm(conn, time.monotonic() + self.send_timeout)

    def _on_linger(self, conn: _Conn) -> None:
        try:
            data = _raw_recv(conn.sock, LINGER_BYTES)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        conn.lingered += len(data)
        if not data or conn.lingered >= LINGER_BYTES:
            self._drop(conn)

    def _serve_later(self, conn: _Conn) -> None:
        if conn.state == _READ and conn.body is None:
            self._serve(conn)

    def _serve(self, conn: _Conn) -> None:
        """Handle the requests ``conn``'s buffer holds, in order: answer them on the poller
        while it can, until one goes to a thread, an answer waits for the client, or the
        buffer holds no complete head."""
        for _ in range(PIPELINE_TURN):
            data = conn.inbuf
            if not data:
                self._wait_request(conn)
                return
            if data[:2] == b"\r\n":  # empty lines before a request line are ignored (RFC 9112)
                conn.inbuf = bytes(data).lstrip(b"\r\n")
                conn.scanned = 0
                continue
            end = data.find(b"\r\n\r\n", conn.scanned)
            if end < 0:
                if len(data) >= MAX_HEAD:
                    self._refuse(conn, 431, "The request head is too long.")
                    return
                conn.scanned = max(0, len(data) - 3)
                if not conn.head_started:
                    conn.head_started = True
                    self._arm(conn, time.monotonic() + self.header_timeout)
                self._watch(conn, selectors.EVENT_READ)
                return
            conn.scanned = 0
            conn.head_started = False
            if not self._route(conn, data, end):
                return
        self.method_queue.defer(self._serve_later, conn)  # others' turn first

    def _route(self, conn: _Conn, data: bytes | bytearray, end: int) -> bool:
        """Answer the complete head ``data[:end + 4]`` on the poller, or receive its body, or
        hand it to a thread. True when the poller answered it and may go on to the next."""
        if conn.parser is None:
            conn.init()  # the HTTP/1 parser (HTTP/2 is gunicorn's): no I/O
            conn.sock.waits = False
        length = end + 4
        answer_or_stream = self.answer_or_stream
        if (
            self._plain_ok
            and answer_or_stream is not None
            and self.alive
            and data.startswith(_SIMPLE_PREFIXES)
        ):
            plain = read_plain_head(data, end, self._line_limit, *self._field_limits)
            if plain is not None:
                answer = answer_or_stream(plain.environ)
                part = None
                if isinstance(answer, Stream) and not plain.head_only:
                    part = _open_part(answer)
                    if part is None:
                        answer = None  # unpublished meanwhile: Django's 404
                if answer is not None:
                    conn.inbuf = data[length:]
                    return self._respond_plain(conn, plain, answer, part)
                return self._dispatch(conn, [bytes(data[:length])], data[length:])
        head = bytes(data[:length])
        parser = conn.parser
        try:
            req = parser.mesg_class(
                self.cfg, IterUnreader((head,)), parser.source_addr, parser.req_count + 1
            )
        except Exception:
            # A head gunicorn refuses: the thread parses it again and answers as gunicorn does
            # (a 400, a 431), then closes.
            return self._dispatch(conn, [head], b"")
        reader = req.body.reader
        if not isinstance(reader, LengthReader):
            self._refuse(conn, 411, "A request body needs a Content-Length.")
            return False
        rest = data[length:]
        size = reader.length
        if size == 0:
            prepared = self._prepare(conn, req, head)
            if prepared is not None:
                conn.inbuf = rest
                return self._respond(conn, req, *prepared)
            return self._dispatch(conn, [head], rest)
        if size > self.max_request:
            self._refuse(conn, 413, "The request is larger than this server accepts.")
            return False
        if len(rest) >= size:
            return self._dispatch(conn, [head, bytes(rest[:size])], rest[size:])
        # The body is on its way: it is received here, not by a thread.
        conn.inbuf = b""
        body = conn.body = _Body(head, size, time.monotonic())
        if req._expected_100_continue:
            try:
                if _raw_send(conn.sock, _CONTINUE) != len(_CONTINUE):
                    raise OSError(errno.EAGAIN, "100 Continue not sent whole")
            except OSError:
                self._drop(conn)
                return False
        if rest:
            self._receive_body(conn, body, bytes(rest))
        else:
            self._arm(conn, body.started + self.body_timeout)
        return False

    def _receive_body(self, conn: _Conn, body: _Body, data: bytes) -> None:
        n = len(data)
        body.left -= n
        body.received += n
        try:
            if body.spool is not None:
                body.spool.write(data)
            elif body.memory + n <= BODY_IN_MEMORY and self._body_memory + n <= BODY_MEMORY_TOTAL:
                body.pieces.append(data)
                body.memory += n
                self._body_memory += n
            else:
                need = body.left + n
                if self._spooled + need > self._spool_limit:
                    self._refuse(conn, 503, "Too many uploads at once.", retry_after=5)
                    return
                body.reserved = need
                self._spooled += need
                body.spool = tempfile.TemporaryFile(dir=self.spool_dir)  # noqa: SIM115
                body.spool.write(data)
        except OSError as e:
            self.log.warning("Could not keep a request body: %s", e)
            self._refuse(conn, 503, "The server cannot take this request now.", retry_after=5)
            return
        if body.left:
            now = time.monotonic()
            self._arm(
                conn,
                min(
                    now + self.body_timeout,
                    body.started + self.body_timeout + body.received / MIN_BODY_RATE,
                ),
            )
            return
        conn.body = None
        conn.held = (body.memory, body.reserved)
        if body.spool is not None:
            body.spool.flush()
            body.spool.seek(0)
        self._dispatch(conn, body.pieces, b"", body.spool)

    def _dispatch(
        self,
        conn: _Conn,
        pieces: list[bytes],
        rest: bytes | bytearray,
        spool: IO[bytes] | None = None,
    ) -> bool:
        """Hand a complete request to a thread; ``rest`` (what the client sent after it) waits
        in the connection's buffer until the answer is sent."""
        conn.inbuf = rest
        received = conn.received = _Received(pieces, spool)
        conn.parser.unreader = received
        self._watch(conn, 0)
        conn.state = _THREAD
        conn.deadline = _NEVER
        try:
            self.enqueue_req(conn)
        except RuntimeError:  # the pool is shut down: the worker is stopping
            conn.state = _READ
            self._drop(conn)
        return False

    def finish_request(self, conn: Any, fs: Any) -> None:
        """On the poller, when a thread is done with ``conn``: send what it left unsent, then
        read the next request, or close."""
        if not self._managed:
            super().finish_request(conn, fs)
            return
        try:
            keepalive = (not fs.cancelled()) and fs.result() is True
        except Exception:
            keepalive = False
        sock = conn.sock
        sock.waits = False
        conn.state = _READ
        self._release(conn)
        if sock.fileno() < 0:  # closed by the thread (a response that broke off)
            self._forget(conn)
            return
        if not keepalive:
            conn.closing = True
        self._after_answer(conn)

    def _after_answer(self, conn: _Conn) -> None:
        """After a response: wait until it is sent, then close or serve what comes next."""
        sock = conn.sock
        if sock.outbox:
            try:
                done, _ = sock.drain()
            except OSError as e:
                self.log.debug("Client went away before its response was sent: %s", e)
                self._drop(conn)
                return
            if not done:
                conn.state = _WRITE
                self._arm(conn, time.monotonic() + self.send_timeout)
                self._watch(conn, selectors.EVENT_WRITE)
                return
        if conn.closing:
            self._linger(conn)
            return
        conn.state = _READ
        self._serve(conn)

    def _linger(self, conn: _Conn) -> None:
        """Close after the last response, as gunicorn does (RFC 9112 section 9.6): a FIN, then
        what the client still sends is read and dropped for a moment, so that closing does not
        send a reset that could destroy the response before the client reads it."""
        try:
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._drop(conn)
            return
        conn.state = _LINGER
        conn.inbuf = b""
        conn.lingered = 0
        self._arm(conn, time.monotonic() + LINGER_SECONDS)
        self._watch(conn, selectors.EVENT_READ)

    def _refuse(self, conn: _Conn, status: int, message: str, retry_after: int = 0) -> None:
        """Answer ``status`` with ``message`` and close: a request the poller will not take."""
        self._release(conn)
        body = (message + "\n").encode()
        head = (
            f"HTTP/1.1 {_STATUS_LINES[status]}\r\nServer: {SERVER}\r\nDate: {http_date()}\r\n"
            "Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\n"
            + (f"Retry-After: {retry_after}\r\n" if retry_after else "")
            + "\r\n"
        )
        conn.inbuf = b""
        conn.state = _READ
        self._send(conn, head.encode("latin-1") + body, False)

    # -- answering on the poller ---------------------------------------------------------------

    def _prepare(self, conn: _Conn, req: Any, head: bytes) -> tuple[Any, ...] | None:
        """For a GET or HEAD without a body that gunicorn parsed: its response, environ and
        the responder's answer when :meth:`Responder.answer_without_django` has one; else None."""
        answer_without_django = self.answer_without_django
        if (
            answer_without_django is None
            or not self.alive
            or req.method not in ("GET", "HEAD")
            or req._expected_100_continue
        ):
            return None
        request_start = datetime.now()
        out = _Collected()
        resp, environ = wsgi.create(req, out, conn.client, conn.server, self.cfg)
        environ["wsgi.multithread"] = True
        answer = answer_without_django(environ)
        if answer is None:
            return None
        return resp, environ, answer, out, request_start

    def _respond(
        self,
        conn: _Conn,
        req: Any,
        resp: Any,
        environ: dict[str, Any],
        answer: Answer,
        out: _Collected,
        request_start: datetime,
    ) -> bool:
        """Answer a request gunicorn parsed, as ``ThreadWorker.handle_request`` does."""
        parser = conn.parser
        parser.req_count += 1
        parser.mesg = req
        try:
            self.cfg.pre_request(self, req)
            if not self._count_request():
                resp.force_close()
            status, headers, body = answer
            try:
                resp.start_response(_STATUS_LINES[status], headers)
                resp.write(body)  # left out for HEAD and 304 by Response
                resp.close()
            finally:
                self.log.access(resp, req, environ, datetime.now() - request_start)
            keepalive = not resp.should_close()
        finally:
            try:
                self.cfg.post_request(self, req, environ, resp)
            except Exception:
                self.log.exception("Exception in post_request hook")
        return self._send(conn, out.data, keepalive)

    def _respond_plain(
        self, conn: _Conn, head: PlainHead, answer: Answer | Stream, part: _FilePart | None
    ) -> bool:
        """Answer a plain request with the bytes gunicorn's ``Response`` would write (status
        line, Server, Date, Connection, then the answer's headers and body), under the same
        keep-alive and max-requests rules as ``_respond``."""
        conn.parser.req_count += 1
        keepalive = self._count_request() and head.keep_alive
        if isinstance(answer, Stream):
            status, headers, body = 200, answer.headers, b""
        else:
            status, headers, body = answer
        lines = [
            f"HTTP/1.{head.minor} {_STATUS_LINES[status]}\r\nServer: {SERVER}\r\n"
            f"Date: {http_date()}\r\nConnection: {'keep-alive' if keepalive else 'close'}\r\n"
        ]
        lines += [f"{name}: {value}\r\n" for name, value in headers]
        lines.append("\r\n")
        data = "".join(lines).encode("latin-1")
        if head.head_only or status == 304:
            return self._send(conn, data, keepalive)
        if len(body) > READ_CHUNK:  # a large page: sent from the cache's bytes, not a copy
            return self._send(conn, data, keepalive, _Borrowed(memoryview(body)))
        return self._send(conn, data + body, keepalive, part)

    def _count_request(self) -> bool:
        """Count a request answered on the poller, as ``ThreadWorker.handle_request`` does:
        False when its connection must close after it (the worker restarts after
        ``max_requests``, is stopping, or keeps no more connections alive)."""
        self.nr += 1
        if self.nr >= self.max_requests:
            if self.alive:
                self.log.info("Autorestarting worker after current request.")
                self.alive = False
            return False
        return (
            self.alive
            and bool(self.cfg.keepalive)
            and len(self.keepalived_conns) < self.max_keepalived
        )

    def _send(
        self,
        conn: _Conn,
        data: bytes | bytearray,
        keepalive: bool,
        more: _Borrowed | _FilePart | None = None,
    ) -> bool:
        """Send a response the poller made (``data``, then ``more``: a cached page's bytes or
        a file): what the socket takes now, the rest as the client reads. True when the
        connection is ready for its next request at once."""
        sock = conn.sock
        try:
            sent = _raw_send(sock, data)
        except BlockingIOError:
            sent = 0
        except OSError as e:
            self.log.debug("Client went away before its response was sent: %s", e)
            if isinstance(more, _FilePart):
                more.close()
            self._drop(conn)
            return False
        if not keepalive:
            conn.closing = True
        if sent < len(data) or more is not None:
            if sent < len(data):
                sock.queue(memoryview(data)[sent:])
            if more is not None:
                sock.queue(more)
            try:
                done, _ = sock.drain()
            except OSError as e:
                self.log.debug("Client went away before its response was sent: %s", e)
                self._drop(conn)
                return False
            if not done:
                conn.state = _WRITE
                self._arm(conn, time.monotonic() + self.send_timeout)
                self._watch(conn, selectors.EVENT_WRITE)
                return False
        if conn.closing:
            self._linger(conn)
            return False
        return True


_TIMED_OUT = b"The request did not arrive in time.\n"
_REQUEST_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n\r\n%s"
    % (len(_TIMED_OUT), _TIMED_OUT)
)
