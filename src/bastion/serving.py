"""The gunicorn worker ``bastion serve`` runs: gthread, with one change.

Since gunicorn 24 the gthread worker hands a new connection straight to a worker thread, which
waits up to five seconds for the first request before giving the connection back to the
poller. Clients that open connections ahead of need (uv opens several at once, browsers
pre-connect) then hold every thread of a small pool, and a request on another connection
waits those five seconds: measured with ``uv pip compile`` against ``bastion serve``, a third
of the runs took 5.3 s instead of 0.3 s. This worker lets a new connection wait for its first
bytes in the main poller, as kept-alive connections do, and takes a thread only when there
is a request to read. The other paths are gunicorn's own.
"""

from __future__ import annotations

import errno
import selectors
import time
from functools import partial
from typing import Any

from gunicorn.workers.gthread import TConn, ThreadWorker


class PollingThreadWorker(ThreadWorker):  # type: ignore[misc]
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
