"""GET (and some HEAD) requests for every route of the URL conf, with hostile path segments,
query strings and headers; anonymous or with a logged-in session."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from urllib.parse import quote

from bench.fuzz import values
from bench.fuzz.wire import Request, request_bytes

ADMIN_MODELS = [
    "accounts/user",
    "events/event",
    "names/protectedname",
    "names/prohibitedname",
    "names/notprotected",
    "names/namespace",
    "names/nameoverride",
    "packages/project",
    "packages/release",
    "packages/role",
    "packages/file",
    "auth/group",
    "django_tasks_db/dbtaskresult",
    "nope/nothing",
]
PURPOSES = ["login", "reauth", "register", "x", ""]


@dataclass
class Context:
    authority: str
    projects: list[str] = field(default_factory=list)  # names as created
    versions: dict[str, list[str]] = field(default_factory=dict)
    file_keys: list[str] = field(default_factory=list)  # what follows /packages/
    users: list[str] = field(default_factory=list)
    token_ids: list[str] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)  # Cookie header values, one per user


def _pct(rng: random.Random) -> str:
    return rng.choice(
        [
            "%00",
            "%ff",
            "%FF",
            "%2f",
            "%2F",
            "%2e",
            "%2e%2e",
            "%c0%af",
            "%e2%80%ae",
            "%ed%a0%80",
            "%",
            "%%",
            "%zz",
            "%u0041",
            "%0a",
            "%0d%0a",
            "%20",
            "%3f",
            "%23",
            "%5c",
            "%7f",
            "%80",
        ]
    )


def segment(rng: random.Random, real: str) -> str:
    """A path segment: ``real`` as is, a variant of it, or something hostile; URL-encoded
    (or not quite)."""
    r = rng.random()
    if r < 0.35:
        return quote(real, safe="")
    if r < 0.5:
        return quote(values.name_variant(rng, real), safe="")
    if r < 0.6:
        return real + _pct(rng) if rng.random() < 0.5 else _pct(rng) + real
    if r < 0.7:
        return "".join(
            _pct(rng) if rng.random() < 0.3 else rng.choice(values.ALNUM)
            for _ in range(rng.randint(1, 30))
        )
    if r < 0.78:
        return rng.choice(
            [".", "..", "...", "", "~", "-", "_", "%2e%2e", ".%2e", "..;", ";x", "*", "index.html"]
        )
    if r < 0.85:
        n = rng.choice([100, 255, 256, 1000, 4000, rng.randint(1, 7000)])
        return quote((real or "a") * (n // max(1, len(real)) + 1), safe="")[:n]
    if r < 0.93:
        return quote(values.junk(rng), safe="")
    # Raw bytes in the request line: UTF-8, or not.
    return (
        rng.choice([values.junk(rng, 10), "\u00fc", "\u202e", "\u4e2d"])
        if rng.random() < 0.5
        else "\udcff"
    )


def _int_seg(rng: random.Random) -> str:
    return rng.choice(
        [
            "1",
            "0",
            "-1",
            "99999999999999999999999",
            "1.5",
            "1e3",
            "\u0663",
            "0x1",
            str(rng.randint(1, 10**6)),
            "9" * 400,
        ]
    )


def _uuid_seg(rng: random.Random, ctx: Context) -> str:
    if ctx.token_ids and rng.random() < 0.4:
        return rng.choice(ctx.token_ids)
    return rng.choice(
        [
            str(uuid.UUID(int=rng.getrandbits(128))),
            "00000000-0000-0000-0000-000000000000",
            "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
            str(uuid.UUID(int=rng.getrandbits(128))).upper(),
        ]
    )


def path_for(rng: random.Random, ctx: Context) -> str:
    name = rng.choice(ctx.projects) if ctx.projects else "x"
    vers = ctx.versions.get(name) or ["1.0"]
    ver = rng.choice(vers)
    n = segment(rng, name)
    v = segment(rng, ver) if rng.random() < 0.7 else quote(ver, safe="")
    user = segment(rng, rng.choice(ctx.users or ["fuzzer"]))
    key = rng.choice(ctx.file_keys) if ctx.file_keys else "ab/cd/x.whl"
    routes = [
        (30, lambda: "/simple/"),
        (60, lambda: f"/simple/{n}/"),
        (10, lambda: f"/simple/{n}"),
        (25, lambda: "/packages/" + _mutate_key(rng, key)),
        (40, lambda: f"/pypi/{n}/json"),
        (10, lambda: f"/pypi/{n}/json/"),
        (40, lambda: f"/pypi/{n}/{v}/json"),
        (40, lambda: f"/project/{n}/"),
        (40, lambda: f"/project/{n}/{v}/"),
        (8, lambda: "/"),
        (15, lambda: "/names/check/"),
        (10, lambda: "/account/login/"),
        (5, lambda: "/account/login/2fa/"),
        (3, lambda: "/account/logout/"),
        (8, lambda: "/account/"),
        (4, lambda: "/account/tokens/new/"),
        (3, lambda: "/account/tokens/revoke-all/"),
        (6, lambda: f"/account/tokens/{_uuid_seg(rng, ctx)}/revoke/"),
        (12, lambda: f"/manage/project/{n}/"),
        (5, lambda: f"/manage/project/{n}/release/{v}/yank/"),
        (5, lambda: f"/manage/project/{n}/release/{v}/unyank/"),
        (4, lambda: f"/manage/project/{n}/roles/invite/"),
        (3, lambda: f"/manage/project/{n}/roles/invitations/{_int_seg(rng)}/revoke/"),
        (4, lambda: f"/manage/project/{n}/roles/{user}/change/"),
        (4, lambda: f"/manage/project/{n}/roles/{user}/remove/"),
        (3, lambda: f"/account/projects/{n}/leave/"),
        (3, lambda: f"/account/invitations/{_int_seg(rng)}/accept/"),
        (3, lambda: f"/account/invitations/{_int_seg(rng)}/decline/"),
        (4, lambda: f"/manage/project/{n}/delete/"),
        (4, lambda: f"/manage/project/{n}/release/{v}/delete/"),
        (4, lambda: f"/manage/project/{n}/file/{_int_seg(rng)}/delete/"),
        (3, lambda: "/account/register/"),
        (3, lambda: "/account/email/resend/"),
        (5, lambda: f"/account/email/verify/{segment(rng, _signed_like(rng))}/"),
        (3, lambda: "/account/email/change/"),
        (5, lambda: f"/account/email/confirm/{segment(rng, _signed_like(rng))}/"),
        (3, lambda: "/account/password/change/"),
        (3, lambda: "/account/password/reset/"),
        (2, lambda: "/account/password/reset/sent/"),
        (2, lambda: "/account/password/reset/complete/"),
        (
            6,
            lambda: (
                f"/account/password/reset/{segment(rng, rng.choice(['MQ', 'Mg', 'MTIz', '', '!!', 'AAAA', 'LTE']))}/{segment(rng, rng.choice(['set-password', 'abc-def', '1-2', 'x']))}/"
            ),
        ),
        (3, lambda: "/account/reauth/"),
        (3, lambda: "/account/two-factor/"),
        (3, lambda: "/account/two-factor/totp/"),
        (2, lambda: "/account/two-factor/totp/remove/"),
        (2, lambda: "/account/two-factor/webauthn/add/"),
        (3, lambda: f"/account/two-factor/webauthn/{_int_seg(rng)}/remove/"),
        (2, lambda: "/account/two-factor/recovery-codes/generate/"),
        (2, lambda: "/account/two-factor/recovery-codes/"),
        (2, lambda: "/account/webauthn/register/options/"),
        (2, lambda: "/account/webauthn/register/verify/"),
        (
            4,
            lambda: f"/account/webauthn/authenticate/{segment(rng, rng.choice(PURPOSES))}/options/",
        ),
        (4, lambda: f"/account/webauthn/authenticate/{segment(rng, rng.choice(PURPOSES))}/verify/"),
        (3, lambda: "/_/secrets/disclose-token"),
        (2, lambda: "/_/github/disclose-token"),
        (6, lambda: "/admin/"),
        (3, lambda: "/admin/login/"),
        (20, lambda: f"/admin/{rng.choice(ADMIN_MODELS)}/"),
        (8, lambda: f"/admin/{rng.choice(ADMIN_MODELS)}/{segment(rng, _int_seg(rng))}/change/"),
        (4, lambda: f"/admin/{rng.choice(ADMIN_MODELS)}/{_int_seg(rng)}/delete/"),
        (4, lambda: f"/admin/{rng.choice(ADMIN_MODELS)}/{_int_seg(rng)}/history/"),
        (3, lambda: f"/admin/{rng.choice(ADMIN_MODELS)}/add/"),
        (3, lambda: f"/admin/{rng.choice(ADMIN_MODELS).split('/')[0]}/"),
        (3, lambda: f"/admin/r/{_int_seg(rng)}/{_int_seg(rng)}/"),
        (2, lambda: "/admin/jsi18n/"),
        (2, lambda: "/admin/password_change/"),
        (2, lambda: f"/admin/{segment(rng, 'x')}/"),
        (
            5,
            lambda: (
                f"/static/{segment(rng, rng.choice(['admin/css/base.css', 'web/site.css', '../settings.py', 'x']))}"
            ),
        ),
        (3, lambda: "/legacy/"),
        (2, lambda: "/legacy"),
        (2, lambda: f"/integrity/{n}/{v}/x.whl/provenance"),
        (
            6,
            lambda: (
                "/" + "/".join(segment(rng, values.word(rng)) for _ in range(rng.randint(1, 6)))
            ),
        ),
        (2, lambda: "//" + n + "//"),
        (2, lambda: "/simple/" + n + "/" + segment(rng, "x") + "/"),
    ]
    total = sum(w for w, _ in routes)
    pick = rng.uniform(0, total)
    for weight, make in routes:
        pick -= weight
        if pick <= 0:
            return make()
    return routes[0][1]()


def _signed_like(rng: random.Random) -> str:
    return rng.choice(["eyJ1IjoxfQ:1abc:def", "x:y:z", "a" * 200, ":", "::", "e30:1:x"])


def _mutate_key(rng: random.Random, key: str) -> str:
    r = rng.random()
    if r < 0.3:
        return key
    if r < 0.4:
        return key + ".metadata"
    if r < 0.5:
        return key.replace("/", "/../", 1)
    if r < 0.6:
        return "../" * rng.randint(1, 8) + "settings.py"
    if r < 0.7:
        return key.upper()
    if r < 0.8:
        return key[: rng.randint(0, len(key))]
    if r < 0.9:
        return key + rng.choice(["/", "%00", "%2f..", "~", ".bak", "/x"])
    return "/".join(segment(rng, p) for p in key.split("/"))


QUERY_KEYS = [
    "format",
    "next",
    "page",
    "p",
    "q",
    "o",
    "name",
    "e",
    "all",
    "_to_field",
    "_popup",
    "_changelist_filters",
    "is_active__exact",
    "id__in",
    "username__regex",
    "created__gte",
    "state__exact",
    "project__id__exact",
    "ordering",
    "per_page",
    "version",
    "token",
    "code",
    "uidb64",
    "x",
]


def query(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.45:
        return ""
    if r < 0.5:
        return "?"
    parts = []
    for _ in range(rng.randint(1, 6)):
        key = rng.choice(QUERY_KEYS) if rng.random() < 0.8 else quote(values.junk(rng, 10), safe="")
        val = rng.choice(
            [
                quote(values.hostile(rng)[:2000], safe=""),
                rng.choice(
                    [
                        "json",
                        "html",
                        "1",
                        "0",
                        "-1",
                        "99999999999999999999",
                        "abc",
                        "",
                        "%00",
                        "%ff",
                        "a%",
                        "//evil.example",
                        "http://evil.example/",
                        "javascript:alert(1)",
                        "1.2",
                        "-pk",
                        "0.1.2.-3",
                        "1,a",
                        "(",
                        "%2e%2e%2f",
                    ]
                ),
            ]
        )
        parts.append(f"{key}={val}" if rng.random() < 0.9 else key)
    sep = rng.choice(["&", "&", ";", "&&"])
    return "?" + sep.join(parts)


ACCEPTS = [
    "*/*",
    "text/html",
    "application/vnd.pypi.simple.v1+json",
    "application/vnd.pypi.simple.v1+html",
    "application/vnd.pypi.simple.latest+json",
    "application/vnd.pypi.simple.v1+json, text/html;q=0.1",
    "application/vnd.pypi.simple.v1+json;q=abc",
    "application/vnd.pypi.simple.v1+json;q=nan",
    "application/vnd.pypi.simple.v1+json;q=-1",
    "application/vnd.pypi.simple.v1+json;q=1e999",
    "application/vnd.pypi.simple.v2+json",
    "application/json",
    "text/plain",
    "image/png",
    ";;;,,,",
    ";q=1",
    "*/*;q=0",
    "text/html;level=1;q=0.5;q=0.9",
    ",".join([f"text/html;q=0.{i}" for i in range(10)] * 30),
    "",
]


def headers_for(
    rng: random.Random, ctx: Context, session: str | None
) -> list[tuple[str | bytes, str | bytes]]:
    host = ctx.authority
    if rng.random() < 0.08:
        host = rng.choice(
            [
                "evil.example",
                "",
                "localhost",
                "127.0.0.1",
                "[::1]",
                "127.0.0.1:1",
                "localhost:99999",
                "a" * 300,
                "127.0.0.1:" + "9" * 20,
                "\u00fc.example",
                "127.0.0.1, evil.example",
                "127.0.0.1\tx",
                "127.0.0.1@evil",
            ]
        )
    hdrs: list[tuple[str | bytes, str | bytes]] = [("Host", host)]
    if rng.random() < 0.8:
        hdrs.append(("Accept", rng.choice(ACCEPTS)))
    if rng.random() < 0.5:
        hdrs.append(
            ("User-Agent", rng.choice(["pip/26.0", "uv/0.9", "Mozilla/5.0", "", values.junk(rng)]))
        )
    cookie = session
    if rng.random() < 0.2:
        cookie = rng.choice(
            [
                "sessionid=" + values.junk(rng, 40),
                "sessionid=" + "a" * 32,
                "csrftoken=" + values.junk(rng, 64),
                (session or "") + "; sessionid=x",
                "=;=;;;",
                "a=" + "b" * 4000,
                "; ".join(f"c{k}=v" for k in range(200)),
                '"sessionid"="x"',
                "sessionid=\x00",
                "messages=" + values.junk(rng, 60),
                "messages=W1siX19qc29uX21lc3NhZ2UiLDAsMjAsIngiXV0:1abc:def",
            ]
        )
    if cookie:
        hdrs.append(
            (
                "Cookie",
                cookie.encode("utf-8", "surrogateescape") if isinstance(cookie, str) else cookie,
            )
        )
    if rng.random() < 0.15:
        hdrs.append(
            (
                "If-None-Match",
                rng.choice(
                    [
                        '"abc"',
                        "*",
                        'W/"x"',
                        "x",
                        '"' + "a" * 5000 + '"',
                        ", ".join(['"x"'] * 500),
                        "",
                        '"\x00"',
                    ]
                ),
            )
        )
    if rng.random() < 0.1:
        hdrs.append(
            (
                "Range",
                rng.choice(
                    [
                        "bytes=0-10",
                        "bytes=-5",
                        "bytes=10-5",
                        "bytes=0-0,1-1,2-2",
                        "bytes=x",
                        "items=0-1",
                        "bytes=99999999999999999999-",
                    ]
                ),
            )
        )
    if rng.random() < 0.08:
        hdrs.append(
            (
                "If-Modified-Since",
                rng.choice(
                    [
                        "Mon, 01 Jan 2024 00:00:00 GMT",
                        "yesterday",
                        "0",
                        "Mon, 99 Foo 9999 99:99:99 GMT",
                    ]
                ),
            )
        )
    if rng.random() < 0.08:
        hdrs.append(
            (
                "Accept-Encoding",
                rng.choice(["gzip", "br", "identity;q=0", "*;q=0", values.junk(rng)]),
            )
        )
    if rng.random() < 0.05:
        hdrs.append(("X-Forwarded-For", rng.choice(["1.2.3.4", "x", "1.2.3.4, ::1, junk", ""])))
    if rng.random() < 0.05:
        hdrs.append(("X-Forwarded-Host", "evil.example"))
    if rng.random() < 0.05:
        hdrs.append(
            ("Referer", rng.choice(["http://evil.example/", "", "\u00fc", values.junk(rng)]))
        )
    if rng.random() < 0.05:
        hdrs.append(("Accept-Language", rng.choice(["de", "zz-ZZ", "*", ",", "en;q=x", "a" * 500])))
    if rng.random() < 0.03:
        hdrs.append(("Authorization", rng.choice(["Basic x", "Bearer y", "Basic " + "A" * 500])))
    return hdrs


def make_get(ctx: Context, seed: int, index: int) -> Request:
    rng = random.Random(f"{seed}:get:{index}")
    path = path_for(rng, ctx)
    target = path + query(rng)
    if rng.random() < 0.02:
        target = rng.choice(
            [
                "*",
                "http://127.0.0.1" + target,
                "simple/",
                target + "#frag",
                target.replace("/", "\\"),
            ]
        )
    who = rng.random()
    session = None
    if ctx.sessions and who < 0.5:
        session = rng.choice(ctx.sessions)
    r = rng.random()
    method = "GET" if r < 0.88 else "HEAD" if r < 0.97 else rng.choice(["OPTIONS", "get", "TRACE"])
    headers = headers_for(rng, ctx, session)
    body = b""
    fresh = False
    if rng.random() < 0.01:
        body = rng.randbytes(rng.randint(0, 200))
        headers.append(("Content-Length", str(len(body))))
    try:
        raw_target = target.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw_target = target.encode("utf-8", "replace")
    if len(raw_target) > 8000:
        fresh = True  # beyond gunicorn's request-line limit: it answers 400 and closes
    raw = request_bytes(method, raw_target, headers, body)
    label = f"{method} {path.split('?')[0][:80]}"
    return Request(raw, "HEAD" if method == "HEAD" else "GET", fresh=fresh, label=label)
