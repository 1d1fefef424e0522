"""The rate-limit settings an operator writes, and how a limit answers."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory

from bastion import ratelimit


def test_parse_rates_reads_the_operator_setting() -> None:
    assert ratelimit.parse_rates("") == {}
    assert ratelimit.parse_rates(" login.ip=10/5m, upload.user=off,2fa.user=5/h ") == {
        "login.ip": "10/5m",
        "upload.user": "off",
        "2fa.user": "5/h",
    }


@pytest.mark.parametrize(
    "text",
    [
        "login=10/5m",
        "nosuch.ip=1/m",
        "login.host=1/m",
        "login.ip=ten/m",
        "login.ip=10/w",
        "login.ip",
    ],
)
def test_parse_rates_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(ValueError, match="BASTION_RATE_LIMITS"):
        ratelimit.parse_rates(text)


def test_a_full_window_refuses_until_it_passes(
    bastion_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import django_ratelimit.core

    bastion_settings(rate_limits={"login.ip": "2/m", "login.user": "off"})
    clock = [1_000_000.0]
    monkeypatch.setattr(django_ratelimit.core.time, "time", lambda: clock[0])
    request = RequestFactory().post("/account/login/", REMOTE_ADDR="192.0.2.7")
    for _ in range(2):
        ratelimit.check(request, "login", user="alice")
        ratelimit.hit(request, "login", user="alice")
    with pytest.raises(ratelimit.RateLimited) as exc:
        ratelimit.check(request, "login", user="alice")
    assert 0 < exc.value.retry_after <= 60
    assert "too many unsuccessful login attempts" in exc.value.message
    # Another address has its own window; the same address after the window passes is free.
    other = RequestFactory().post("/account/login/", REMOTE_ADDR="192.0.2.8")
    ratelimit.check(other, "login", user="alice")
    clock[0] += 61
    ratelimit.check(request, "login", user="alice")


def test_behind_a_proxy_the_window_is_the_one_of_the_address_the_proxy_saw(
    bastion_settings: Any,
) -> None:
    bastion_settings(rate_limits={"login.ip": "1/m", "login.user": "off"})

    def via_proxy(client_sent: str, proxy_saw: str) -> Any:
        return RequestFactory().post(
            "/account/login/",
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR=f"{client_sent}, {proxy_saw}",
        )

    bastion_settings(behind_proxy=True)
    ratelimit.hit(via_proxy("198.51.100.9", "203.0.113.5"), "login")
    with pytest.raises(ratelimit.RateLimited):  # whatever the client writes on the left
        ratelimit.check(via_proxy("198.51.100.10", "203.0.113.5"), "login")
    ratelimit.check(via_proxy("198.51.100.9", "203.0.113.6"), "login")  # another client
    # Not behind a proxy, the header is the client's own writing: the peer is limited.
    bastion_settings(behind_proxy=False)
    ratelimit.hit(via_proxy("198.51.100.9", "203.0.113.7"), "login")
    with pytest.raises(ratelimit.RateLimited):
        ratelimit.check(via_proxy("198.51.100.9", "203.0.113.8"), "login")


def test_a_disabled_scope_never_limits(bastion_settings: Any) -> None:
    bastion_settings(rate_limits={"upload.ip": "off", "upload.user": "0"})
    request = RequestFactory().post("/legacy/")
    for _ in range(50):
        ratelimit.check(request, "upload", user="alice")
        ratelimit.hit(request, "upload", user="alice")


@pytest.mark.django_db
def test_a_full_window_is_answered_with_a_page_for_people_and_a_line_for_programs(
    bastion_settings: Any,
) -> None:
    """One 429 answer (``ratelimit.answer``): a browser is shown the reason on a page; any
    other client gets it as one line, which is also the status line's reason phrase."""
    from django.test import Client

    bastion_settings(rate_limits={"login.ip": "1/5m", "login.user": "off"})
    client = Client()
    client.post("/account/login/", {"username": "alice", "password": "wrong"})
    page = client.post(
        "/account/login/", {"username": "alice", "password": "wrong"}, HTTP_ACCEPT="text/html"
    )
    assert page.status_code == 429
    assert page["Content-Type"].startswith("text/html")
    assert "too many unsuccessful login attempts" in page.content.decode()
    line = client.post("/account/login/", {"username": "alice", "password": "wrong"})
    assert line.status_code == 429
    assert 0 < int(line["Retry-After"]) <= 300
    text = line.content.decode()
    assert text.startswith("There have been too many unsuccessful login attempts.")
    assert line.reason_phrase == text.strip()
