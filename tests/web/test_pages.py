"""What people see and can do on the pages, through Django's test client."""

from __future__ import annotations

import re
from typing import Any

import pyotp
import pytest
from django.test import Client

from bastion.events.models import Event
from bastion.packages.models import Release
from bastion.tokens.models import Token
from bastion.tokens.services import create_token
from tests.conftest import PASSWORD
from tests.web.conftest import World

pytestmark = pytest.mark.django_db

TOKEN_RE = re.compile(r"bastion-[A-Za-z0-9_\-=]{20,}")


def text(response: Any) -> str:
    return response.content.decode()


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- Home and search ---------------------------------------------------------------------------


def test_home_lists_recently_updated_published_projects(client: Client, world: World) -> None:
    response = client.get("/")
    assert response.status_code == 200
    body = text(response)
    assert "Recently updated" in body
    assert 'href="/project/demo-pkg/"' in body
    assert "A demonstration of widgets" in body
    assert "hidden-pkg" not in body  # its only file is held


@pytest.mark.parametrize("query", ["demo", "DEMO_pkg", "widgets"])
def test_search_finds_a_project_by_name_or_summary(
    client: Client, world: World, query: str
) -> None:
    body = text(client.get("/", {"q": query}))
    assert 'href="/project/demo-pkg/"' in body
    assert "hidden-pkg" not in body


def test_search_without_match_says_so(client: Client, world: World) -> None:
    body = text(client.get("/", {"q": "hidden"}))
    assert "No published project matches" in body
    assert "/project/hidden-pkg/" not in body


def test_search_query_is_escaped(client: Client, world: World) -> None:
    body = text(client.get("/", {"q": "<b>bold</b>"}))
    assert "<b>bold</b>" not in body
    assert "&lt;b&gt;bold&lt;/b&gt;" in body


# --- Project pages -----------------------------------------------------------------------------


def test_project_page_shows_the_latest_release(client: Client, world: World) -> None:
    response = client.get("/project/demo-pkg/")
    assert response.status_code == 200
    body = text(response)
    assert "Demo_Pkg" in body
    assert '<span class="version">1.0</span>' in body
    assert "Hello from the README." in body
    assert "A demonstration of widgets" in body
    assert "&gt;=3.9" in body
    assert "MIT" in body
    assert "Topic :: Software Development" in body
    assert "requests&gt;=2" in body


def test_readme_is_sanitised_again_on_display(client: Client, world: World) -> None:
    body = text(client.get("/project/demo-pkg/"))
    readme = body.split('class="readme-body">', 1)[1].split("</article>", 1)[0]
    assert "Hello from the README." in readme
    assert "<script" not in readme
    assert "readme-script" not in body
    assert "onerror" not in body
    assert "javascript:" not in readme


def test_readme_from_a_row_written_directly_is_sanitised(client: Client, world: World) -> None:
    Release.objects.filter(pk=world.current.pk).update(
        description_html='<p>ok</p><script src="https://evil.example/x.js"></script>'
        '<iframe src=https://evil.example/></iframe><p onclick="steal()">hi</p>'
    )
    body = text(client.get("/project/demo-pkg/1.0/"))
    assert "evil.example" not in body
    assert "steal()" not in body
    assert "<iframe" not in body
    assert "<p>ok</p>" in body


def test_project_link_with_a_dangerous_scheme_is_not_a_link(client: Client, world: World) -> None:
    body = text(client.get("/project/demo-pkg/"))
    assert (
        '<a href="https://git.example/demo" rel="nofollow noopener noreferrer">Source</a>' in body
    )
    assert 'href="javascript:' not in body


def test_project_page_shows_files_with_hashes_and_size(client: Client, world: World) -> None:
    body = text(client.get("/project/demo-pkg/"))
    f = world.current_file
    assert f.filename in body
    assert f.sha256_digest in body
    assert f.md5_digest in body
    assert f.blake2_256_digest in body
    assert f"({f.size} bytes)" in body
    assert f'href="/packages/{f.storage_key}"' in body


def test_install_command_uses_the_request_host(client: Client, world: World, settings: Any) -> None:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "index.example.org"]
    body = text(client.get("/project/demo-pkg/", HTTP_HOST="index.example.org"))
    assert "pip install --index-url http://index.example.org/simple/ demo-pkg==1.0" in body


def test_a_host_the_operator_did_not_list_is_refused(client: Client, world: World) -> None:
    """Links built from the Host header (install commands, emailed links) cannot be steered."""
    assert client.get("/project/demo-pkg/", HTTP_HOST="evil.example").status_code == 400


def test_install_command_prefers_the_configured_base_url(
    client: Client, world: World, bastion_settings: Any
) -> None:
    bastion_settings(base_url="https://pkgs.example.com")
    body = text(client.get("/project/demo-pkg/0.9/"))
    assert "pip install --index-url https://pkgs.example.com/simple/ demo-pkg==0.9" in body


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/project/Demo_Pkg/", "/project/demo-pkg/"),
        ("/project/demo.pkg/", "/project/demo-pkg/"),
        ("/project/DEMO-PKG/1.0/", "/project/demo-pkg/1.0/"),
        ("/project/demo-pkg/1.0.0/", "/project/demo-pkg/1.0/"),
    ],
)
def test_non_normalised_names_redirect_permanently(
    client: Client, world: World, path: str, target: str
) -> None:
    response = client.get(path)
    assert response.status_code == 301
    assert response["Location"] == target


def test_yanked_release_is_marked_with_its_reason(client: Client, world: World) -> None:
    body = text(client.get("/project/demo-pkg/"))
    history = body.split("Release history", 1)[1]
    assert "0.9" in history
    assert "badge-yanked" in history
    assert "Broken on Windows, use 1.0" in history

    body = text(client.get("/project/demo-pkg/0.9/"))
    assert "notice-yanked" in body
    assert "Broken on Windows, use 1.0" in body


def test_unpublished_files_are_invisible(client: Client, world: World) -> None:
    body = text(client.get("/project/demo-pkg/"))
    assert world.pending_file.filename not in body
    assert "/project/demo-pkg/2.0/" not in body
    assert client.get("/project/demo-pkg/2.0/").status_code == 404
    hidden = client.get("/project/hidden-pkg/")  # a page, as its simple page exists (empty)
    assert hidden.status_code == 200
    assert "No files published yet." in text(hidden)
    assert "must stay hidden" not in text(hidden) and ".whl" not in text(hidden)
    assert "held for review" not in text(hidden)  # for its owners only
    assert client.get("/project/hidden-pkg/1.0/").status_code == 404
    assert client.get("/project/no-such-thing/").status_code == 404
    assert client.get("/project/demo-pkg/9.9/").status_code == 404
    assert client.get("/project/demo-pkg/not a version/").status_code == 404


def test_the_owners_of_a_project_without_published_files_are_told_why(world: World) -> None:
    body = text(logged_in(world.owner).get("/project/hidden-pkg/"))
    assert "No files published yet." in body
    assert "1 file held for review." in body
    assert "Manage project" in body
    assert "held for review" not in text(logged_in(world.stranger).get("/project/hidden-pkg/"))
    assert logged_in(world.owner).get("/project/Hidden_Pkg/")["Location"] == "/project/hidden-pkg/"


def test_manage_link_only_for_owners(world: World) -> None:
    assert "Manage project" in text(logged_in(world.owner).get("/project/demo-pkg/"))
    assert "Manage project" not in text(logged_in(world.maintainer).get("/project/demo-pkg/"))
    assert "Manage project" not in text(Client().get("/project/demo-pkg/"))


# --- Logging in and out ------------------------------------------------------------------------


def second_factor(client: Client, user: Any) -> Any:
    """The login's second step, with the code the user's authenticator app shows now."""
    return client.post("/account/login/2fa/", {"totp_code": pyotp.TOTP(user.totp_seed).now()})


def test_login_and_logout(client: Client, world: World) -> None:
    page = client.get("/account/login/")
    assert page.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in text(page)

    bad = client.post("/account/login/", {"username": "olivia", "password": "wrong"})
    assert bad.status_code == 200
    assert "Please enter a correct username and password" in text(bad)

    before = client.session.session_key
    response = client.post("/account/login/", {"username": "olivia", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/account/login/2fa/"  # the password alone is not enough
    assert client.get("/account/").status_code == 302
    response = second_factor(client, world.owner)
    assert response.status_code == 302
    assert response["Location"] == "/account/"
    assert client.session.session_key != before  # the session is rotated on login
    assert Event.objects.filter(tag="account:login", actor_id=world.owner.pk).exists()
    assert "olivia" in text(client.get("/account/"))

    assert client.get("/account/logout/").status_code == 405  # logging out needs a POST
    response = client.post("/account/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/account/").status_code == 302


def test_login_follows_a_local_next(client: Client, world: World) -> None:
    client.post(
        "/account/login/?next=/project/demo-pkg/",
        {"username": "olivia", "password": PASSWORD, "next": "/project/demo-pkg/"},
    )
    assert second_factor(client, world.owner)["Location"] == "/project/demo-pkg/"


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "/\\evil.example/", "javascript:alert(1)"],
)
def test_login_does_not_follow_a_foreign_next(client: Client, world: World, target: str) -> None:
    page = text(client.get("/account/login/", {"next": target}))
    assert "evil.example" not in page
    client.post("/account/login/", {"username": "olivia", "password": PASSWORD, "next": target})
    response = second_factor(client, world.owner)
    assert response.status_code == 302
    assert response["Location"] == "/account/"


def test_logout_does_not_follow_a_foreign_next(world: World) -> None:
    response = logged_in(world.owner).post("/account/logout/", {"next": "https://evil.example/"})
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


def test_frozen_account_cannot_log_in(client: Client, world: World) -> None:
    world.stranger.is_frozen = True
    world.stranger.save(update_fields=["is_frozen"])
    response = client.post("/account/login/", {"username": "steve", "password": PASSWORD})
    assert response.status_code == 200
    # The authentication backend refuses frozen accounts like a wrong password: the page
    # does not tell a guesser which accounts exist or are frozen.
    assert "Please enter a correct username and password" in text(response)
    assert "_auth_user_id" not in client.session


# --- Account and tokens ------------------------------------------------------------------------


def test_account_needs_login(client: Client) -> None:
    response = client.get("/account/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/login/?next=/account/")


def test_account_lists_projects_with_roles(world: World) -> None:
    body = text(logged_in(world.maintainer).get("/account/"))
    assert "Demo_Pkg" in body
    assert "Maintainer" in body
    assert "/manage/project/demo-pkg/" not in body
    body = text(logged_in(world.owner).get("/account/"))
    assert "/manage/project/demo-pkg/" in body


def test_token_is_shown_once(world: World) -> None:
    client = logged_in(world.owner)
    response = client.post(
        "/account/tokens/new/",
        {"name": "ci upload", "project": "demo-pkg", "expires_days": "30", "upload_only": "on"},
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = text(response)
    match = TOKEN_RE.search(body)
    assert match is not None
    raw = match.group(0)
    assert "only time the token is shown" in body

    token = Token.objects.get(user=world.owner, name="ci upload")
    assert token.projects == ["demo-pkg"]
    assert token.upload_only
    assert token.expires is not None
    assert raw not in str(Token.objects.filter(pk=token.pk).values().get())

    account = text(client.get("/account/"))
    assert "ci upload" in account
    assert "demo-pkg" in account
    assert "upload only" in account
    assert raw not in account
    assert TOKEN_RE.search(account) is None
    assert "account:token:create" in account  # the security history


def test_token_for_a_project_of_someone_else_is_refused(world: World) -> None:
    client = logged_in(world.stranger)
    response = client.post("/account/tokens/new/", {"name": "sneaky", "project": "demo-pkg"})
    assert response.status_code == 400
    assert "Select a valid choice" in text(response)
    assert not Token.objects.filter(user=world.stranger).exists()


def test_duplicate_token_name_is_reported(world: World) -> None:
    create_token(world.owner, "twice")
    response = logged_in(world.owner).post("/account/tokens/new/", {"name": "twice"})
    assert response.status_code == 400
    assert "already have a token named" in text(response)


def test_token_create_needs_login(client: Client) -> None:
    response = client.post("/account/tokens/new/", {"name": "x"})
    assert response.status_code == 302
    assert response["Location"].startswith("/account/login/")


def test_revoke_one_token(world: World) -> None:
    _, keep = create_token(world.owner, "keep")
    _, drop = create_token(world.owner, "drop")
    client = logged_in(world.owner)
    response = client.post(f"/account/tokens/{drop.pk}/revoke/")
    assert response.status_code == 302
    assert list(Token.objects.filter(user=world.owner)) == [keep]
    body = text(client.get("/account/"))
    assert "was revoked" in body
    assert "account:token:revoke" in body


def test_cannot_revoke_the_token_of_someone_else(world: World) -> None:
    _, theirs = create_token(world.owner, "theirs")
    response = logged_in(world.stranger).post(f"/account/tokens/{theirs.pk}/revoke/")
    assert response.status_code == 404
    assert Token.objects.filter(pk=theirs.pk).exists()


def test_revoke_all_tokens(world: World) -> None:
    create_token(world.owner, "a")
    create_token(world.owner, "b")
    _, other = create_token(world.stranger, "other")
    response = logged_in(world.owner).post("/account/tokens/revoke-all/")
    assert response.status_code == 302
    assert not Token.objects.filter(user=world.owner).exists()
    assert Token.objects.filter(pk=other.pk).exists()


def test_revoke_needs_post(world: World) -> None:
    _, token = create_token(world.owner, "get-me")
    client = logged_in(world.owner)
    assert client.get(f"/account/tokens/{token.pk}/revoke/").status_code == 405
    assert client.get("/account/tokens/revoke-all/").status_code == 405
    assert Token.objects.filter(pk=token.pk).exists()


# --- Managing a project ------------------------------------------------------------------------


def test_owner_sees_the_manage_page(world: World) -> None:
    response = logged_in(world.owner).get("/manage/project/demo-pkg/")
    assert response.status_code == 200
    body = text(response)
    assert "Manage Demo_Pkg" in body
    assert "2.0" in body  # owners see releases whose files are not published yet
    assert "1 not published" in body
    assert "/manage/project/demo-pkg/release/1.0/yank/" in body
    assert "/manage/project/demo-pkg/release/0.9/unyank/" in body


def test_owner_can_yank_and_unyank(world: World) -> None:
    client = logged_in(world.owner)
    response = client.post(
        "/manage/project/demo-pkg/release/1.0/yank/", {"reason": "Security issue, use 1.1"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/manage/project/demo-pkg/"
    world.current.refresh_from_db()
    assert world.current.yanked
    assert world.current.yanked_reason == "Security issue, use 1.1"
    assert Event.objects.filter(tag="project:release:yank", actor_id=world.owner.pk).exists()
    assert "Release 1.0 was yanked." in text(client.get("/manage/project/demo-pkg/"))
    assert "Security issue, use 1.1" in text(client.get("/project/demo-pkg/1.0/"))

    response = client.post("/manage/project/demo-pkg/release/1.0/unyank/")
    assert response.status_code == 302
    world.current.refresh_from_db()
    assert not world.current.yanked
    assert world.current.yanked_reason == ""


@pytest.mark.parametrize("who", ["maintainer", "stranger"])
def test_others_cannot_yank(world: World, who: str) -> None:
    user = getattr(world, who)
    client = logged_in(user)
    page = client.get("/manage/project/demo-pkg/")
    assert page.status_code == 403
    assert f"The user &#x27;{user.username}&#x27; isn&#x27;t allowed to yank" in text(page)

    response = client.post("/manage/project/demo-pkg/release/1.0/yank/", {"reason": "mine"})
    assert response.status_code == 403
    assert "allowed to yank" in text(response)
    response = client.post("/manage/project/demo-pkg/release/0.9/unyank/")
    assert response.status_code == 403
    world.current.refresh_from_db()
    world.old.refresh_from_db()
    assert not world.current.yanked
    assert world.old.yanked


def test_anonymous_is_sent_to_login(client: Client, world: World) -> None:
    response = client.get("/manage/project/demo-pkg/")
    assert response.status_code == 302
    assert response["Location"] == "/account/login/?next=/manage/project/demo-pkg/"
    response = client.post("/manage/project/demo-pkg/release/1.0/yank/", {"reason": "x"})
    assert response.status_code == 302
    assert response["Location"] == "/account/login/?next=/manage/project/demo-pkg/"
    world.current.refresh_from_db()
    assert not world.current.yanked


def test_manage_unknown_project_or_release(world: World) -> None:
    client = logged_in(world.owner)
    assert client.get("/manage/project/nope/").status_code == 404
    assert client.post("/manage/project/demo-pkg/release/7.0/yank/").status_code == 404


# --- Framework protections ---------------------------------------------------------------------


def test_csrf_is_enforced(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.owner)
    response = client.post("/manage/project/demo-pkg/release/1.0/yank/", {"reason": "x"})
    assert response.status_code == 403
    assert "CSRF" in text(response)
    world.current.refresh_from_db()
    assert not world.current.yanked

    response = client.post("/account/tokens/new/", {"name": "no-csrf"})
    assert response.status_code == 403
    assert not Token.objects.filter(name="no-csrf").exists()

    # With the token from the page, the same request goes through.
    page = text(client.get("/manage/project/demo-pkg/"))
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert csrf is not None
    response = client.post(
        "/manage/project/demo-pkg/release/1.0/yank/",
        {"reason": "x", "csrfmiddlewaretoken": csrf.group(1)},
    )
    assert response.status_code == 302


@pytest.mark.parametrize("path", ["/", "/project/demo-pkg/", "/account/login/", "/project/nope/"])
def test_security_headers(client: Client, world: World, path: str) -> None:
    response = client.get(path)
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_pages_have_no_inline_script_or_style(world: World) -> None:
    client = logged_in(world.owner)
    for path in ["/", "/?q=demo", "/project/demo-pkg/", "/account/", "/manage/project/demo-pkg/"]:
        body = text(client.get(path))
        assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body) is None, path
        assert "<style" not in body, path
        assert re.search(r"\sstyle=", body) is None, path
        assert re.search(r"\son[a-z]+=", body) is None, path


def test_name_check_page(client: Client, db: Any) -> None:
    refused = text(client.get("/names/check/?name=reqeusts"))
    assert "Refused." in refused
    assert "too similar to an existing project" in refused and "requests" in refused
    assert "Available." in text(client.get("/names/check/?name=django-acme-widgets"))
    assert "Standard Library" in text(client.get("/names/check/?name=subprocess"))


def test_name_check_page_knows_the_index_projects(client: Client, world: World) -> None:
    body = text(client.get("/names/check/?name=Demo.Pkg"))
    assert "Taken." in body
    assert "is an existing project on this index" in body
    assert 'href="/project/demo-pkg/"' in body
    refused = text(client.get("/names/check/?name=demo-pkgg"))
    assert "Refused." in refused and "too similar to an existing project" in refused
