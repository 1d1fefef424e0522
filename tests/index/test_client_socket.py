"""``bastion.serving.ClientSocket``: a worker thread's writes never wait for a client that
does not read, within budgets that are always given back."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bastion import serving
from bastion.serving import ClientSocket, ClientTimeout, _Budget

Pair = tuple[ClientSocket, socket.socket, _Budget]


@pytest.fixture
def pair() -> Iterator[Pair]:
    ours, peer = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16 * 1024)
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    budget = _Budget(serving.OUTBOX_TOTAL)
    sock = ClientSocket(ours.family, ours.type, ours.proto, ours.detach(), budget, 0.3)
    sock.setblocking(True)  # as gunicorn's thread code does: a thread owns it
    try:
        yield sock, peer, budget
    finally:
        sock.close()
        peer.close()


def _read(peer: socket.socket, n: int) -> bytes:
    out = bytearray()
    peer.settimeout(5)
    while len(out) < n:
        out += peer.recv(n - len(out))
    return bytes(out)


def _drain_while_reading(sock: ClientSocket, peer: socket.socket, n: int) -> bytes:
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(_read(peer, n)))
    reader.start()
    while True:
        done, _ = sock.drain()
        if done:
            break
    reader.join(10)
    return got[0]


def test_what_the_client_does_not_take_waits_in_the_outbox(pair: Pair) -> None:
    sock, peer, budget = pair
    data = os.urandom(1024 * 1024)
    sock.sendall(data)  # returns at once: the peer reads nothing
    assert sock.outbox and 0 < sock.outbox_bytes < len(data)
    assert budget.used == sock.outbox_bytes
    sock.sendall(b"tail")  # after the rest, in order
    assert _drain_while_reading(sock, peer, len(data) + 4) == data + b"tail"
    assert not sock.outbox and sock.outbox_bytes == 0 and budget.used == 0


def test_a_file_waits_as_a_descriptor(pair: Pair, tmp_path: Path) -> None:
    sock, peer, budget = pair
    path = tmp_path / "f.whl"
    body = os.urandom(3 * 1024 * 1024)
    path.write_bytes(body)
    sock.sendall(b"head\r\n")
    with open(path, "rb") as fh:
        assert sock.sendfile(fh, 0, len(body)) == len(body)
    # The server closes the file after the response; the outbox has its own descriptor.
    assert budget.used == 0
    assert _drain_while_reading(sock, peer, len(body) + 6) == b"head\r\n" + body


def test_beyond_the_budget_the_thread_waits_bounded(pair: Pair) -> None:
    sock, _peer, budget = pair
    with pytest.raises(ClientTimeout):
        sock.sendall(os.urandom(serving.OUTBOX_PER_CONNECTION + 1024 * 1024))
    assert not sock.outbox and budget.used == 0  # given up, and given back


def test_the_process_budget_is_shared(pair: Pair) -> None:
    sock, _peer, budget = pair
    budget.limit = 64 * 1024
    with pytest.raises(ClientTimeout):
        sock.sendall(os.urandom(256 * 1024))
    assert budget.used == 0


def test_closing_gives_the_budget_back(pair: Pair) -> None:
    sock, _peer, budget = pair
    sock.sendall(os.urandom(512 * 1024))
    assert budget.used > 0
    sock.close()
    assert budget.used == 0


def test_gunicorns_100_continue_is_left_to_the_poller(pair: Pair) -> None:
    sock, peer, _budget = pair
    assert sock.send(b"HTTP/1.1 100 Continue\r\n\r\n") == 25
    sock.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
    assert _read(peer, 19) == b"HTTP/1.1 200 OK\r\n\r\n"
