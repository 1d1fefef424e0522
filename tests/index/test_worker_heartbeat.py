"""bastion's gunicorn worker tells the arbiter it is alive twice a second, not per request."""

from __future__ import annotations

import time

from bastion import serving


class _Heartbeat:
    def __init__(self) -> None:
        self.beats = 0

    def notify(self) -> None:
        self.beats += 1


def test_heartbeat_is_sent_at_most_every_interval() -> None:
    worker = serving.PollingThreadWorker.__new__(serving.PollingThreadWorker)
    worker.tmp = _Heartbeat()
    for _ in range(1000):  # a busy loop: one turn per request
        worker.notify()
    assert worker.tmp.beats == 1
    worker._next_notify = time.monotonic() - 0.001  # the interval has passed
    worker.notify()
    assert worker.tmp.beats == 2
    # Far inside the arbiter's timeout, which `bastion serve` sets to 120 s.
    assert worker._next_notify - time.monotonic() <= serving.NOTIFY_EVERY
