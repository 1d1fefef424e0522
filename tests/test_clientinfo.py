"""One reading of the client's address per request, shared by the rate limits and the audit
trail (the live check behind a proxy is in tests/e2e/test_behind_proxy.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from bastion import clientinfo
from bastion.clientinfo import ClientInfo
from bastion.events.models import Event

PEER = {"REMOTE_ADDR": "10.0.0.1", "HTTP_USER_AGENT": "twine/6.0"}


def test_without_a_trusted_proxy_the_client_is_the_peer() -> None:
    meta = {**PEER, "HTTP_X_FORWARDED_FOR": "203.0.113.5"}
    assert clientinfo.from_meta(meta, behind_proxy=False) == ClientInfo(
        "10.0.0.1", "twine/6.0", forwarded=False
    )


def test_behind_a_trusted_proxy_the_client_is_the_entry_it_appended() -> None:
    meta = {**PEER, "HTTP_X_FORWARDED_FOR": "198.51.100.9, 203.0.113.5"}
    assert clientinfo.from_meta(meta, behind_proxy=True) == ClientInfo(
        "203.0.113.5", "twine/6.0", forwarded=True
    )
    # A request that reached the server without passing the proxy has no header: the peer.
    assert clientinfo.from_meta(PEER, behind_proxy=True).address == "10.0.0.1"


@pytest.mark.parametrize(
    ("forwarded", "address"),
    [
        ("2001:DB8:0:0::1", "2001:db8::1"),  # one spelling: one rate-limit window
        ("fe80::1%eth0", "fe80::1"),  # an address column cannot hold a zone
        ("unknown", None),  # what some proxies write: not the proxy's address either
        ("203.0.113.5:4711", None),
    ],
)
def test_an_address_is_kept_in_one_spelling_or_not_at_all(
    forwarded: str, address: str | None
) -> None:
    client = clientinfo.from_meta({**PEER, "HTTP_X_FORWARDED_FOR": forwarded}, behind_proxy=True)
    assert client.address == address
    assert client.limit_key == (address or "unknown")


@pytest.mark.django_db
def test_the_audit_trail_records_the_address_behind_the_proxy(
    client: Client, bastion_settings: Any, user: Any
) -> None:
    bastion_settings(behind_proxy=True)
    client.post(
        "/account/login/",
        {"username": user.username, "password": "wrong"},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="198.51.100.9, 203.0.113.5",
    )
    failure = Event.objects.get(tag="account:login:failure")
    assert failure.ip_address == "203.0.113.5"
