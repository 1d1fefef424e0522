"""The gunicorn worker ``bastion serve`` runs: gthread, with two changes.

New connections wait in the poller. Since gunicorn 24 the gthread worker hands a new
connection straight to a worker thread, which waits up to five seconds for the first request
before giving the connection back to the poller. Clients that open connections ahead of need
(uv opens several at once, browsers pre-connect) then hold every thread of a small pool, and a
request on another connection waits those five seconds: measured with ``uv pip compile``
against ``bastion serve``, a third of the runs took 5.3 s instead of 0.3 s. This worker lets a
new connection wait for its first bytes in the main poller, as kept-alive connections do, and
takes a thread only when there is a request to read.

The simple pages and small published files (every PEP 658 ``.metadata`` file) are answered by
the poller itself. Installers fetch ``/simple/<name>/`` and then the ``.metadata`` of the
version they pick, one request at a time on a kept-alive connection, and for those answers,
whose bytes are in memory or a single small read away, handing the connection to a thread and back (a pipe write, a thread wake-up, a
future's callback, GIL hand-offs) was the one cost not shared with nginx that bastion could
drop: about 40 us of a 0.2 ms round trip, and much of the jitter (measured on the benchmark
corpus: median latency 12% lower, p90 25-50% lower, 12-25% more requests a second
under ``wrk``; what remains is gunicorn's parsing and response building, the same on both
paths). The poller must never wait on a client, though, or one slow client would stall every
connection of the process. So it answers a request only when nothing can block: the whole
request head is already in the socket buffer (seen with ``MSG_PEEK``, so nothing is taken off
the socket until the request is known to qualify), it is a GET or HEAD without a body, and
:meth:`bastion.index.fast.FastPath.answer_without_django` has the full response. A plain head, the
strict subset of HTTP/1.x that installers send, is read by :func:`read_plain_head` and answered
with the bytes gunicorn's ``Response`` would write: gunicorn's parser and ``Response`` objects
cost more than the rest of the answer (with them, about 0.5 ms a request on the benchmark's
``pip install`` sequence against nginx's 0.2 ms; without, about 0.27 ms). Any other head, or a
server with an access log or request hooks, is parsed by gunicorn's own parser and answered
through its ``Response``, so limits, errors, the ``Date``/``Server``/``Connection`` headers,
keep-alive and the access log are those of the thread path (a test compares the bytes). The response is sent without blocking; what the client
does not take at once is finished by a thread, and so is the lingering close after a
``Connection: close`` (gunicorn's waits up to two seconds for the client). Anything else (a
partial head, another path, an error while parsing) is left on the socket untouched and goes to
a thread exactly as before.
"""

from __future__ import annotations

import errno
import os
import re
import selectors
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import formatdate
from functools import partial
from http import HTTPStatus
from typing import Any

from gunicorn import SERVER
from gunicorn.http import wsgi
from gunicorn.http.body import LengthReader
from gunicorn.http.message import DEFAULT_MAX_HEADERFIELD_SIZE, MAX_HEADERS, MAX_REQUEST_LINE
from gunicorn.http.unreader import IterUnreader
from gunicorn.http2 import negotiation
from gunicorn.workers.gthread import STOP_KEEPALIVE_LINGER, TConn, ThreadWorker

# The most of a request head the poller looks at; a longer head (large cookies, say) is left to
# a thread. Installers send heads of a few hundred bytes.
PEEK_LIMIT = 16 * 1024

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
# Headers the answer depends on, as WSGI names them.
_PLAIN_WANTED = {b"accept": "HTTP_ACCEPT", b"if-none-match": "HTTP_IF_NONE_MATCH"}
# Headers that make a request more than a plain GET: a body, an upgrade, an expectation.
_PLAIN_REFUSED = frozenset(
    (b"content-length", b"transfer-encoding", b"expect", b"upgrade", b"http2-settings", b"te")
)


@dataclass(frozen=True, slots=True)
class PlainHead:
    """A request head read by :func:`read_plain_head`."""

    length: int  # bytes, the blank line included
    environ: dict[str, str]  # what FastPath reads: method, path, query, Accept, If-None-Match
    head_only: bool  # HEAD: the answer's body is left out, its Content-Length kept
    minor: int  # HTTP/1.<minor>
    keep_alive: bool  # as gunicorn's Message.should_close() decides it, negated


def read_plain_head(
    data: bytes, end: int, limit_line: int, limit_fields: int, limit_field_size: int
) -> PlainHead | None:
    """The head ``data[:end]`` (``end`` is where its blank line starts) when it is a plain GET
    or HEAD that gunicorn's parser would accept as it is; None for anything else.

    gunicorn's parser and ``Response`` objects cost more than the rest of answering a simple
    page (measured against the benchmark corpus: about 60% of the poller's time per request).
    This reads only the strict subset of HTTP/1.x that installers send, and leaves every other
    head to gunicorn (whose answer to a malformed one, a 400 or a 431, stays its own): a
    repeated header, folding, an escape in the target, a header gunicorn would drop, a body or
    a line over gunicorn's limits all give None.
    """
    lines = data[:end].split(b"\r\n")
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
        if name in _PLAIN_REFUSED:
            if name == b"content-length" and value == b"0":
                continue
            return None
        key = _PLAIN_WANTED.get(name)
        if key is not None:
            environ[key] = value.decode("ascii")
        elif name == b"connection":
            connection = value.lower()
    path, _, query = target.partition(b"?")
    environ["REQUEST_METHOD"] = method.decode("ascii")
    environ["PATH_INFO"] = path.decode("ascii")
    environ["QUERY_STRING"] = query.decode("ascii")
    if connection == b"close":
        keep_alive = False
    elif connection == b"keep-alive":
        keep_alive = True
    else:
        keep_alive = minor == 1
    return PlainHead(end + 4, environ, head_only, minor, keep_alive)


@dataclass(frozen=True, slots=True)
class _Plain:
    """A plain request and its answer, ready to be sent by the poller."""

    head: PlainHead
    answer: Answer


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


class _Done:
    """A finished future, for gunicorn's ``finish_request``."""

    __slots__ = ("value",)

    def __init__(self, value: bool) -> None:
        self.value = value

    def cancelled(self) -> bool:
        return False

    def result(self) -> bool:
        return self.value


class PollingThreadWorker(ThreadWorker):  # type: ignore[misc]
    alive: bool  # gunicorn's, set by its Worker
    _next_notify = 0.0
    answer_without_django: Callable[[dict[str, Any]], Answer | None] | None = None

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
        self.answer_without_django = getattr(self.wsgi, "answer_without_django", None)
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

    def accept(self, listener: Any) -> None:
        try:
            client_sock, client_addr = listener.accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())  # non-blocking
        # A connection that sends nothing is closed after the keep-alive timeout.
        conn.timeout = time.monotonic() + self.cfg.keepalive
        self.pending_conns.append(conn)
        self.poller.register(
            client_sock, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn)
        )

    def on_client_socket_readable(self, conn: TConn, client: Any) -> None:
        """A kept-alive connection has its next request. It stays registered with the poller
        while the poller answers it (unregistering and registering again are two system calls
        and most of the selector's bookkeeping per request); it is unregistered as soon as it
        leaves the poller: to a thread, or closed."""
        self.keepalived_conns.remove(conn)
        self._registered = conn
        try:
            answered = self.answer_on_poller(conn)
        finally:
            self._unregister(conn)  # unless an answer kept it on the poller (_keep)
        if not answered:
            self.enqueue_req(conn)

    _registered: TConn | None = None

    def _unregister(self, conn: TConn) -> None:
        """Take ``conn`` off the poller if it is still on it (see on_client_socket_readable)."""
        registered = self._registered
        if registered is not None and registered is conn:
            self._registered = None
            self.poller.unregister(registered.sock)

    def _keep(self, conn: TConn) -> None:
        """After a response on a connection that stayed registered: wait for its next request,
        as ``finish_request`` does for a connection it registers again."""
        self._registered = None
        conn.set_timeout()
        if not self.alive:
            conn.timeout = min(conn.timeout, time.monotonic() + STOP_KEEPALIVE_LINGER)
        self.keepalived_conns.append(conn)

    def on_pending_socket_readable(self, conn: TConn, client: Any) -> None:
        self.poller.unregister(client)
        self.pending_conns.remove(conn)
        conn.data_ready = True
        if not self.answer_on_poller(conn):
            self.enqueue_req(conn)

    # -- answering on the poller -------------------------------------------------------------

    def answer_on_poller(self, conn: TConn) -> bool:
        """Answer the request waiting on ``conn`` here, on the poller thread, if that cannot
        block. False when nothing was taken off the socket and a thread is to handle it."""
        try:
            prepared = self._prepare(conn)
        except Exception:
            # Nothing was read off the socket: the thread path parses the request again and
            # answers whatever went wrong (a malformed head is its 400, for example).
            self.log.debug("Request left to a thread", exc_info=True)
            return False
        if prepared is None:
            return False
        try:
            if isinstance(prepared, _Plain):
                self._respond_plain(conn, prepared)
            else:
                self._respond(conn, *prepared)
        except Exception:
            self.log.exception("Error answering a request on the poller")
            self._unregister(conn)
            self.nr_conns -= 1
            conn.close()
        return True

    def _prepare(self, conn: TConn) -> _Plain | tuple[Any, ...] | None:
        """The parsed request, its response and environ and the app's answer, when the request
        qualifies; None (or an exception) otherwise. Reads nothing off the socket."""
        answer_without_django = self.answer_without_django
        cfg = self.cfg
        if (
            answer_without_django is None
            or not self.alive
            or cfg.is_ssl
            or cfg.proxy_protocol != "off"
            or conn.is_http2
        ):
            return None
        parser = conn.parser
        if parser is not None:
            if parser.unreader.buf.getvalue() or (
                parser.mesg is not None and parser.mesg.should_close()
            ):
                return None
        elif conn.initialized or negotiation.prior_knowledge_allowed(cfg, conn.client):
            return None
        try:
            data = conn.sock.recv(PEEK_LIMIT, socket.MSG_PEEK)
        except OSError:  # nothing there after all (EAGAIN), or the client is gone
            return None
        end = data.find(b"\r\n\r\n")
        if end < 0 or not data.startswith(_SIMPLE_PREFIXES):
            return None
        if parser is None:
            # A plain HTTP/1 connection (checked above): init() makes the parser and sets the
            # socket blocking, and does no I/O.
            conn.init()
            conn.sock.setblocking(False)
            parser = conn.parser
        if self._plain_ok:
            plain = read_plain_head(data, end, self._line_limit, *self._field_limits)
            if plain is not None:
                answer = answer_without_django(plain.environ)
                return None if answer is None else _Plain(plain, answer)
        head = data[: end + 4]
        # gunicorn's request parser, on the peeked head instead of the socket.
        req = parser.mesg_class(
            cfg, IterUnreader((head,)), parser.source_addr, parser.req_count + 1
        )
        reader = req.body.reader
        if (
            req.method not in ("GET", "HEAD")
            or not isinstance(reader, LengthReader)
            or reader.length
            or req._expected_100_continue
            or (
                negotiation.upgrade_allowed(cfg, conn.client)
                and negotiation.upgrade_settings(req) is not None
            )
        ):
            return None
        request_start = datetime.now()
        out = _Collected()
        resp, environ = wsgi.create(req, out, conn.client, conn.server, cfg)
        environ["wsgi.multithread"] = True
        answer = answer_without_django(environ)
        if answer is None:
            return None
        return len(head), req, resp, environ, answer, out, request_start

    def _respond(
        self,
        conn: TConn,
        head_length: int,
        req: Any,
        resp: Any,
        environ: dict[str, Any],
        answer: Answer,
        out: _Collected,
        request_start: datetime,
    ) -> None:
        """Take the request off the socket and answer it, as ``ThreadWorker.handle_request``
        does, then hand the connection back to the poller or close it."""
        # The head is in the socket buffer (peeked), so this returns it at once.
        taken = conn.sock.recv(head_length)
        if len(taken) != head_length:
            raise OSError(f"read {len(taken)} of the request head's {head_length} bytes")
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
        self._send(conn, out.data, keepalive)

    def _respond_plain(self, conn: TConn, plain: _Plain) -> None:
        """Take a plain request off the socket and answer it with the bytes gunicorn's
        ``Response`` would write (status line, Server, Date, Connection, then the answer's
        headers and body), under the same keep-alive and max-requests rules as ``_respond``."""
        head = plain.head
        taken = conn.sock.recv(head.length)
        if len(taken) != head.length:
            raise OSError(f"read {len(taken)} of the request head's {head.length} bytes")
        conn.parser.req_count += 1
        keepalive = self._count_request() and head.keep_alive
        status, headers, body = plain.answer
        lines = [
            f"HTTP/1.{head.minor} {_STATUS_LINES[status]}\r\nServer: {SERVER}\r\n"
            f"Date: {http_date()}\r\nConnection: {'keep-alive' if keepalive else 'close'}\r\n"
        ]
        lines += [f"{name}: {value}\r\n" for name, value in headers]
        lines.append("\r\n")
        data = "".join(lines).encode("latin-1")
        if not head.head_only and status != 304:
            data += body
        self._send(conn, data, keepalive)

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

    def _send(self, conn: TConn, data: bytes | bytearray, keepalive: bool) -> None:
        """Send what the socket takes now; a thread sends the rest and then gives the
        connection back."""
        sent = 0
        with memoryview(data) as view:
            try:
                while sent < len(data):
                    sent += conn.sock.send(view[sent:])
            except BlockingIOError:
                pass
            except OSError as e:
                self.log.debug("Client went away before its response was sent: %s", e)
                self._unregister(conn)
                self.nr_conns -= 1
                conn.close()
                return
            rest = bytes(view[sent:])
        if rest:
            self._unregister(conn)
            fs = self.tpool.submit(self._send_rest, conn, rest, keepalive)
            fs.add_done_callback(lambda fut: self.method_queue.defer(self._sent_rest, conn, fut))
        elif keepalive and self._registered is conn:
            self._keep(conn)
        elif keepalive:
            self.finish_request(conn, _Done(True))
        else:
            self._unregister(conn)
            self._close(conn)

    def _close(self, conn: TConn) -> None:
        """Close after a response, as gunicorn does (FIN, then a bounded drain of what the
        client still sends), the drain in a thread: it can wait two seconds on the client."""
        self.nr_conns -= 1
        try:
            conn.sock.shutdown(socket.SHUT_WR)
            self.tpool.submit(conn.close, True)
        except (OSError, RuntimeError):  # the client is gone, or the pool is shut down
            conn.close()

    def _send_rest(self, conn: TConn, rest: bytes, keepalive: bool) -> bool:
        """In a thread: finish a response. True when the connection is kept alive; closed
        here otherwise."""
        try:
            conn.sock.setblocking(True)
            conn.sock.sendall(rest)
        except OSError as e:
            self.log.debug("Client went away before its response was sent: %s", e)
            conn.close()
            return False
        if not keepalive:
            conn.close(graceful=True)
        return keepalive

    def _sent_rest(self, conn: TConn, fs: Any) -> None:
        """On the poller, after ``_send_rest``."""
        try:
            keepalive = fs.result()  # False: closed by the thread
        except BaseException:  # cancelled (the worker is stopping), or a bug
            self.log.debug("Response not finished", exc_info=True)
            conn.close()
            keepalive = False
        if keepalive:
            self.finish_request(conn, fs)
        else:
            self.nr_conns -= 1
