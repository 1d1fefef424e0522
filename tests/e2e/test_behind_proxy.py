"""Behind the documented reverse proxy (``BASTION_BEHIND_PROXY=1``), a live ``bastion serve``
sees every request come from the proxy; what the user sees in their security history, and
what the rate limits count, is the client the proxy reported."""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pyotp

from tests import builders
from tests.conftest import basic
from tests.e2e.conftest import PUBLISHER_PASSWORD, LiveIndex, serving
from tests.e2e.test_serving import _multipart

#: The addresses the proxy appends: the publisher's, and someone guessing passwords.
PUBLISHER = "203.0.113.5"
GUESSER = "192.0.2.66"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class Browser:
    """A browser whose requests reach bastion through the proxy: each carries the
    ``X-Forwarded-For`` the proxy writes (what the client sent, then the client's address)."""

    def __init__(self, index: LiveIndex, address: str) -> None:
        self.index = index
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect
        )
        # The left entry is the client's own writing, which must count for nothing.
        self.opener.addheaders = [("X-Forwarded-For", f"198.51.100.9, {address}")]

    def get(self, path: str) -> str:
        with self.opener.open(self.index.url + path, timeout=30) as page:
            return str(page.read().decode())

    def post_form(self, path: str, fields: dict[str, str]) -> int:
        """The page's form posted with its CSRF token, as a browser does: the status."""
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', self.get(path))
        assert match, f"no CSRF token on {path}"
        data = urllib.parse.urlencode({"csrfmiddlewaretoken": match.group(1), **fields}).encode()
        try:
            with self.opener.open(self.index.url + path, data=data, timeout=30) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    def upload(self, token: str, dist: builders.Dist) -> int:
        body, content_type = _multipart(dist.fields, dist)
        request = urllib.request.Request(
            self.index.url + "/legacy/",
            data=body,
            headers={"Content-Type": content_type, "Authorization": basic(token)},
            method="POST",
        )
        try:
            with self.opener.open(request, timeout=60) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code


def _history(page: str) -> list[tuple[str, str]]:
    """The security history's rows as (the event's code, from): the code is the row's
    tooltip (``data-code``), beside the sentence shown."""
    table = page.split('id="history-heading"', 1)[1]
    rows = re.findall(
        r'<tr>\s*<td>.*?</td>\s*<td [^>]*data-code="([^"]*)">.*?</td>\s*<td>.*?</td>\s*'
        r"<td>(.*?)</td>\s*</tr>",
        table,
        re.S,
    )
    return [(what, re.sub(r"<[^>]+>", "", where).strip()) for what, where in rows]


def test_the_security_history_and_the_rate_limits_see_the_client_behind_the_proxy(
    tmp_path: Path,
) -> None:
    with serving(
        tmp_path, BASTION_BEHIND_PROXY="1", BASTION_RATE_LIMITS="login.ip=2/5m, login.user=off"
    ) as index:
        created = index.bastion(
            "user",
            "create",
            "alice",
            "--email",
            "alice@example.com",
            "--password-stdin",
            "--with-totp",
            "--json",
            stdin=PUBLISHER_PASSWORD + "\n",
        )
        uri = json.loads(created.stdout)["totp_uri"]
        secret = urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query)["secret"][0]
        token = index.bastion("token", "create", "alice").stdout.strip()

        publisher = Browser(index, PUBLISHER)
        assert publisher.upload(token, builders.wheel("proxied-demo", "1.0")) == 200

        # The guesser's two wrong passwords fill the login window of the guesser's address
        # (every request comes from the proxy's 127.0.0.1) ...
        guesser = Browser(index, GUESSER)
        wrong = {"username": "alice", "password": "not the password"}
        assert guesser.post_form("/account/login/", wrong) == 200
        assert guesser.post_form("/account/login/", wrong) == 200
        assert guesser.post_form("/account/login/", wrong) == 429
        # ... and not the publisher's, who logs in with the password and the app's code.
        right = {"username": "alice", "password": PUBLISHER_PASSWORD}
        assert publisher.post_form("/account/login/", right) == 302
        code = pyotp.TOTP(secret).now()
        assert publisher.post_form("/account/login/2fa/", {"totp_code": code}) == 302

        history = _history(publisher.get("/account/"))
    seen = {(what.split()[0], where) for what, where in history}
    assert ("account:login", PUBLISHER) in seen
    assert ("project:file:add", PUBLISHER) in seen
    assert ("account:token:use", PUBLISHER) in seen
    assert ("account:login:failure", GUESSER) in seen
    # Nothing recorded the proxy's address, nor what a client wrote on the left.
    assert not {where for _, where in history} & {"127.0.0.1", "198.51.100.9"}
