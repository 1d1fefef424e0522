"""HTTP on a raw socket: requests are bytes, so that they can be anything, and can be saved
and replayed as they were sent."""

from __future__ import annotations

import contextlib
import http.client
import socket
import time
from dataclasses import dataclass, field

# The request could not get an answer: the status counted instead of an HTTP status.
NO_RESPONSE = 0
TIMEOUT = -1


@dataclass
class Request:
    """What one fuzz step sends: ``raw`` is the whole request (head and body)."""

    raw: bytes
    method: str = "GET"
    #: Send on a fresh connection, then shut the write side (framing the server may misread,
    #: a Content-Length longer than the body): the server sees the end of the request.
    fresh: bool = False
    label: str = ""  # the generator's description of what was mutated

    def preview(self, limit: int = 600) -> str:
        head, _, body = self.raw.partition(b"\r\n\r\n")
        text = head[:limit].decode("latin-1")
        if len(head) > limit:
            text += f"... ({len(head)} bytes of head)"
        return text + f"\n\n<{len(body)} bytes of body>"


@dataclass
class Response:
    status: int
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    error: str = ""

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def cookies(self) -> dict[str, str]:
        out = {}
        for k, v in self.headers:
            if k.lower() == "set-cookie":
                pair = v.split(";", 1)[0]
                key, _, value = pair.partition("=")
                out[key.strip()] = value.strip()
        return out


class Client:
    """One kept-alive connection to the server, reopened whenever it is closed."""

    def __init__(self, host: str, port: int, timeout: float = 60.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.sock: socket.socket | None = None

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def send(self, req: Request) -> Response:
        if req.fresh:
            self.close()
            sock = self._connect()
            try:
                return self._exchange(sock, req, shut=True)
            finally:
                sock.close()
        for attempt in (0, 1):
            if self.sock is None:
                self.sock = self._connect()
            try:
                resp = self._exchange(self.sock, req, shut=False)
            except (BrokenPipeError, ConnectionResetError):
                # A kept-alive connection the server closed meanwhile: once more, fresh.
                self.close()
                if attempt:
                    return Response(NO_RESPONSE, error="connection reset")
                continue
            if resp.status <= 0 or (resp.header("Connection") or "").lower() == "close":
                self.close()
            return resp
        return Response(NO_RESPONSE, error="unreachable")

    def _exchange(self, sock: socket.socket, req: Request, *, shut: bool) -> Response:
        try:
            sock.sendall(req.raw)
        except (BrokenPipeError, ConnectionResetError):
            if shut:
                # The server refused before reading everything: its answer may be waiting.
                pass
            else:
                raise
        if shut:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)
        resp = http.client.HTTPResponse(sock, method=req.method)
        try:
            resp.begin()
            body = resp.read()
        except TimeoutError:
            return Response(TIMEOUT, error="timed out")
        except http.client.RemoteDisconnected as exc:
            if not shut and not req.fresh:
                raise ConnectionResetError(str(exc)) from exc
            return Response(NO_RESPONSE, error=f"closed without an answer: {exc}")
        except (http.client.HTTPException, OSError) as exc:
            return Response(NO_RESPONSE, error=f"{type(exc).__name__}: {exc}")
        finally:
            resp.close()
        return Response(resp.status, resp.reason, list(resp.getheaders()), body)


def request_bytes(
    method: str,
    target: str | bytes,
    headers: list[tuple[str | bytes, str | bytes]],
    body: bytes = b"",
    version: str = "HTTP/1.1",
) -> bytes:
    def b(x: str | bytes) -> bytes:
        return x if isinstance(x, bytes) else x.encode("latin-1", "replace")

    lines = [b(method) + b" " + b(target) + b" " + b(version)]
    lines += [b(k) + b": " + b(v) for k, v in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def wait_until_up(host: str, port: int, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False
