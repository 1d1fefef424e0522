"""Differential check of ``bastion.serving.read_plain_head`` against h11.

    .venv/bin/python -m bench.httpheads.differential --count 100000 --seed 1

The poller of ``bastion serve`` reads the plain heads installers send with
:func:`~bastion.serving.read_plain_head` and leaves every other head to gunicorn's parser. That
is only safe if it never reads a head differently from a well-kept HTTP/1.1 parser, so each
generated head (:mod:`bench.httpheads.generate`) is given to both, as the poller gives it: the
whole buffer, the head ending at the first CRLF CRLF, gunicorn's limits as ``bastion serve``
sets them (no prefix check: every head is tried, not only ``/simple/`` and ``/packages/``).

They **agree** on a head when ``read_plain_head`` declines it (gunicorn's parser then answers
it, as for any head), or when it accepts it and h11 accepts it too (a ``Request`` event, fed the
same bytes at once) with:

* the same method, and the same target as WSGI carries it (path and query: h11's target split at
  its first ``?``);
* the same HTTP version;
* the same header list: the same (lower-cased name, value) pairs in the same order, values as
  h11 exposes them (without surrounding spaces and tabs);
* the same body framing: no body (h11: no ``Transfer-Encoding``, and ``Content-Length`` absent or
  0);
* the same keep-alive decision (h11's, read through its public state: after a
  ``Content-Length: 0`` response, the connection is ``DONE``, not ``MUST_CLOSE``);
* the same number of bytes consumed (h11: what it leaves in its buffer after the event).

Anything else is a **disagreement** (above all: ``read_plain_head`` accepts a head h11 refuses).
A head h11 accepts and ``read_plain_head`` declines is not one: declining is always safe.
Exit status 1 on any disagreement; each is printed (``--show``) with its index, which
``--only N`` reruns.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import h11
from bench.httpheads.generate import SHAPES, generate

from bastion.serving import PlainHead, read_plain_head

#: ``bastion serve``'s limits as read_plain_head gets them: ``--limit-request-line 8190``, and
#: gunicorn's defaults of 100 fields of 8190 bytes.
LIMITS = (8190, 100, 8190)


@dataclass(frozen=True, slots=True)
class Reading:
    """What a parser made of a head, in the terms both can be compared in."""

    method: bytes
    path: bytes
    query: bytes
    version: bytes  # b"1.0", b"1.1"
    headers: tuple[tuple[bytes, bytes], ...]
    body: int | None  # the Content-Length framing; None: chunked
    keep_alive: bool
    length: int  # bytes of the head, its blank line included


Reader = Callable[[bytes, int, int, int, int], PlainHead | None]


def plain_reading(data: bytes, reader: Reader = read_plain_head) -> Reading | None:
    """``read_plain_head``'s reading of ``data`` as the poller calls it; None when it declines."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None  # the poller waits for more
    head = reader(data, end, *LIMITS)
    if head is None:
        return None
    env = head.environ
    return Reading(
        env["REQUEST_METHOD"].encode("ascii"),
        env["PATH_INFO"].encode("ascii"),
        env["QUERY_STRING"].encode("ascii"),
        b"1.%d" % head.minor,
        tuple(head.headers),
        0,
        head.keep_alive,
        head.length,
    )


def h11_reading(data: bytes) -> Reading | str:
    """h11's reading of ``data`` fed at once, or why it gives no request."""
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(data)
    try:
        event = conn.next_event()
    except h11.RemoteProtocolError as exc:
        return f"refused: {exc}"
    if not isinstance(event, h11.Request):
        return f"no request: {event!r}"
    length = len(data) - len(conn.trailing_data[0])
    headers = tuple((bytes(name), bytes(value)) for name, value in event.headers)
    body: int | None = 0
    if any(name == b"transfer-encoding" for name, _ in headers):
        body = None
    else:
        for name, value in headers:
            if name == b"content-length":
                body = int(value)
    keep_alive = False
    if body == 0:
        try:
            end = conn.next_event()
            if isinstance(end, h11.EndOfMessage):
                conn.send(h11.Response(status_code=200, headers=[("Content-Length", "0")]))
                conn.send(h11.EndOfMessage())
                keep_alive = conn.our_state is h11.DONE
        except (h11.RemoteProtocolError, h11.LocalProtocolError) as exc:
            return f"refused after the head: {exc}"
    path, _, query = bytes(event.target).partition(b"?")
    return Reading(
        bytes(event.method),
        path,
        query,
        bytes(event.http_version),
        headers,
        body,
        keep_alive,
        length,
    )


def compare(data: bytes, reader: Reader = read_plain_head) -> tuple[str, str]:
    """How the two parsers fared on ``data``: ``both``, ``h11-only``, ``neither`` or
    ``DISAGREE``; and, for a disagreement, what differs."""
    plain = plain_reading(data, reader)
    theirs = h11_reading(data)
    if plain is None:
        return ("neither" if isinstance(theirs, str) else "h11-only"), ""
    if isinstance(theirs, str):
        return "DISAGREE", f"read_plain_head accepts, h11 {theirs}"
    if plain != theirs:
        fields = [
            f for f in Reading.__dataclass_fields__ if getattr(plain, f) != getattr(theirs, f)
        ]
        diff = "; ".join(
            f"{f}: plain {getattr(plain, f)!r}, h11 {getattr(theirs, f)!r}" for f in fields
        )
        return "DISAGREE", diff
    return "both", ""


@dataclass
class Tally:
    """The counts a run reports."""

    heads: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    seen_by_shape: Counter[str] = field(default_factory=Counter)
    plain_by_shape: Counter[str] = field(default_factory=Counter)
    h11_by_shape: Counter[str] = field(default_factory=Counter)
    h11_accepted: int = 0
    disagreements: list[tuple[int, str, bytes]] = field(default_factory=list)


def run(seed: int, start: int, count: int) -> Tally:
    """Compare the parsers on heads ``start`` to ``start + count - 1`` of ``seed``."""
    tally = Tally()
    for index in range(start, start + count):
        data, shapes = generate(seed, index)
        outcome, diff = compare(data)
        tally.heads += 1
        tally.outcomes[outcome] += 1
        h11_accepts = outcome in ("both", "h11-only") or (
            outcome == "DISAGREE" and "h11 refused" not in diff and "h11 no request" not in diff
        )
        tally.h11_accepted += h11_accepts
        for shape in shapes or ("unmutated",):
            tally.seen_by_shape[shape] += 1
            tally.plain_by_shape[shape] += outcome in ("both", "DISAGREE")
            tally.h11_by_shape[shape] += h11_accepts
        if outcome == "DISAGREE":
            tally.disagreements.append((index, diff, data))
    return tally


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", type=int, default=0, help="index of the first head")
    ap.add_argument("--only", type=int, help="check head N alone and print both readings")
    ap.add_argument("--show", type=int, default=20, help="disagreements printed")
    a = ap.parse_args(argv)
    if a.only is not None:
        data, shapes = generate(a.seed, a.only)
        print(f"head {a.only} ({', '.join(shapes) or 'unmutated'}): {data!r}")
        print(f"read_plain_head: {plain_reading(data)!r}")
        print(f"h11:             {h11_reading(data)!r}")
        print(f"outcome: {' '.join(compare(data))}")
        return 0
    t0 = time.perf_counter()
    tally = run(a.seed, a.start, a.count)
    took = time.perf_counter() - t0
    out = tally.outcomes
    print(f"heads: {tally.heads} (seed {a.seed}, from {a.start}) in {took:.1f} s")
    print(f"accepted by read_plain_head: {out['both'] + out['DISAGREE']}")
    print(f"accepted by h11: {tally.h11_accepted}")
    print(
        f"both accept and agree: {out['both']}; h11 only (left to gunicorn): {out['h11-only']}; "
        f"neither: {out['neither']}"
    )
    print(f"disagreements: {out['DISAGREE']}")
    print("\nshape                 heads   plain     h11")
    for shape in ("unmutated", *SHAPES):
        print(
            f"{shape:<20} {tally.seen_by_shape[shape]:>6} {tally.plain_by_shape[shape]:>7} "
            f"{tally.h11_by_shape[shape]:>7}"
        )
    for index, diff, data in tally.disagreements[: a.show]:
        print(f"\n#{index}: {diff}\n  {data[:300]!r}")
    return 1 if out["DISAGREE"] else 0


if __name__ == "__main__":
    sys.exit(main())
