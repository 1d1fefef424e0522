"""The management page of a project: collaborators and invitations, deletion, the security
history; and who may do what there (owners, admins) and who may not (maintainers, strangers,
anonymous), through Django's test client."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bastion.events.models import Event
from bastion.packages import roles
from bastion.packages import services as packages
from bastion.packages.models import File, FilenameRegistry, Project, Release, Role, RoleInvitation
from bastion.web.reauth import SESSION_KEY as REAUTH_KEY
from tests import builders
from tests.web.conftest import World

MANAGE = "/manage/project/demo-pkg/"


def text(response: Any) -> str:
    return response.content.decode()


def logged_in(user: Any, *, fresh: bool = True) -> Client:
    client = Client()
    client.force_login(user)
    if fresh:
        session = client.session
        session[REAUTH_KEY] = int(time.time())
        session.save()
    return client


def invite(client: Client, username: str, role: str = Role.MAINTAINER) -> Any:
    return client.post(MANAGE + "roles/invite/", {"username": username, "role": role})


# --- The page ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_owner_sees_collaborators_deletion_and_history(world: World) -> None:
    body = text(logged_in(world.owner).get(MANAGE))
    assert "Collaborators" in body
    assert "mallory" in body and "Maintainer" in body
    assert 'action="/manage/project/demo-pkg/roles/invite/"' in body
    assert 'action="/manage/project/demo-pkg/release/1.0/delete/"' in body
    assert f'action="/manage/project/demo-pkg/file/{world.current_file.pk}/delete/"' in body
    assert 'action="/manage/project/demo-pkg/delete/"' in body
    # The history: newest first, this project only.
    history = body.split('id="project-history-heading"')[1]
    assert "project:release:yank" in history
    assert history.index("project:file:add") < history.index("project:create")
    assert "hidden-pkg" not in history
    # The only owner cannot be demoted or removed from the page.
    assert "last owner" in body
    assert "/roles/olivia/remove/" not in body


@pytest.mark.django_db
def test_admin_sees_the_history(world: World, make_user: Callable[..., Any]) -> None:
    admin = make_user("root", admin=True)
    response = logged_in(admin).get(MANAGE)
    assert response.status_code == 200
    assert "project:role:add" in text(response)


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["maintainer", "stranger"])
def test_history_is_not_for_others(world: World, who: str) -> None:
    response = logged_in(getattr(world, who)).get(MANAGE)
    assert response.status_code == 403
    assert "project:create" not in text(response)


@pytest.mark.django_db
def test_a_project_registered_again_does_not_show_the_old_history(
    world: World, make_user: Callable[..., Any]
) -> None:
    packages.create_project("reborn", world.owner)
    old = Project.objects.get(normalized_name="reborn")
    Event.objects.filter(subject_name="reborn").update(ip_address="192.0.2.7")
    old.delete()
    bob = make_user("bob")
    packages.create_project("reborn", bob)
    body = text(logged_in(bob).get("/manage/project/reborn/"))
    assert "192.0.2.7" not in body
    assert "bob" in body.split('id="project-history-heading"')[1]


# --- Invitations -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_invitation_lifecycle(
    world: World, make_user: Callable[..., Any], django_capture_on_commit_callbacks: Any
) -> None:
    bob = make_user("bob")
    owner = logged_in(world.owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = invite(owner, "bob")
    assert response.status_code == 302
    assert response["Location"] == MANAGE
    page = text(owner.get(MANAGE))
    assert "bob was invited to become maintainer" in page
    assert "Pending invitations" in page and ">bob<" in page
    assert any(
        m.to == ["bob@example.com"] and "invited you to become maintainer" in m.body
        for m in mail.outbox
    )
    assert packages.role_of(bob, world.project) is None

    bob_client = logged_in(bob)
    account = text(bob_client.get("/account/"))
    invitation = RoleInvitation.objects.get()
    assert "Demo_Pkg" in account
    assert f'action="/account/invitations/{invitation.pk}/accept/"' in account
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = bob_client.post(f"/account/invitations/{invitation.pk}/accept/")
    assert response.status_code == 302
    assert "You are now maintainer of &#x27;Demo_Pkg&#x27;." in text(bob_client.get("/account/"))
    assert packages.role_of(bob, world.project) == Role.MAINTAINER
    assert any(m.to == ["olivia@example.com"] and "bob accepted" in m.body for m in mail.outbox)
    assert Event.objects.filter(tag="project:role:accept", actor_id=bob.pk).exists()
    assert Event.objects.filter(tag="account:role:accept", subject_name="bob").exists()
    assert ">bob<" in text(owner.get(MANAGE)).split("Pending invitations")[0]


@pytest.mark.django_db
def test_decline_and_revoke(world: World, make_user: Callable[..., Any]) -> None:
    bob, carol = make_user("bob"), make_user("carol")
    owner = logged_in(world.owner)
    assert invite(owner, "bob").status_code == 302
    assert invite(owner, "carol").status_code == 302
    bob_inv = RoleInvitation.objects.get(invitee=bob)
    carol_inv = RoleInvitation.objects.get(invitee=carol)

    response = logged_in(bob).post(f"/account/invitations/{bob_inv.pk}/decline/")
    assert response.status_code == 302
    assert packages.role_of(bob, world.project) is None

    response = owner.post(MANAGE + f"roles/invitations/{carol_inv.pk}/revoke/")
    assert response.status_code == 302
    assert "The invitation of carol was revoked." in text(owner.get(MANAGE))
    response = logged_in(carol).post(f"/account/invitations/{carol_inv.pk}/accept/")
    assert response.status_code == 400
    assert "This invitation does not exist, or was revoked." in text(response)
    assert packages.role_of(carol, world.project) is None
    assert not RoleInvitation.objects.exists()


@pytest.mark.django_db
def test_expired_invitation(world: World, make_user: Callable[..., Any]) -> None:
    bob = make_user("bob")
    assert invite(logged_in(world.owner), "bob").status_code == 302
    invitation = RoleInvitation.objects.get()
    RoleInvitation.objects.update(expires=timezone.now() - timedelta(minutes=1))
    client = logged_in(bob)
    account = text(client.get("/account/"))
    assert "expired" in account
    assert f"/account/invitations/{invitation.pk}/accept/" not in account
    response = client.post(f"/account/invitations/{invitation.pk}/accept/")
    assert response.status_code == 400
    assert "has expired. Ask an owner to invite you again." in text(response)
    assert packages.role_of(bob, world.project) is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("mallory", "User &#x27;mallory&#x27; already has maintainer role for project"),
        ("olivia", "User &#x27;olivia&#x27; already has owner role for project"),
        ("steve", "User &#x27;steve&#x27; already has an active invite. Please try again later."),
        ("nobody", "No user found with the username &#x27;nobody&#x27;."),
        ("", "Username: This field is required."),
    ],
)
def test_refused_invitations_say_why(world: World, username: str, message: str) -> None:
    owner = logged_in(world.owner)
    roles.invite(world.project, "steve", Role.MAINTAINER, actor=world.owner)
    before = (Event.objects.count(), RoleInvitation.objects.count())
    response = invite(owner, username)
    assert response.status_code == 400
    assert message in text(response)
    assert (Event.objects.count(), RoleInvitation.objects.count()) == before


@pytest.mark.django_db
def test_inviting_an_owner_needs_a_recent_reauthentication(
    world: World, make_user: Callable[..., Any]
) -> None:
    make_user("bob")
    client = logged_in(world.owner, fresh=False)
    response = invite(client, "bob", Role.OWNER)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account-reauth") + "?next=")
    assert not RoleInvitation.objects.exists()
    # Promoting a maintainer is adding an owner too.
    response = client.post(MANAGE + "roles/mallory/change/", {"role": Role.OWNER})
    assert response["Location"].startswith(reverse("account-reauth"))
    assert packages.role_of(world.maintainer, world.project) == Role.MAINTAINER
    # A maintainer invitation needs no prompt.
    assert invite(client, "bob").status_code == 302
    assert RoleInvitation.objects.get().role_name == Role.MAINTAINER


# --- Changing and removing roles; the last owner -----------------------------------------------


@pytest.mark.django_db
def test_owner_changes_and_removes_a_collaborator(world: World) -> None:
    client = logged_in(world.owner)
    response = client.post(MANAGE + "roles/mallory/change/", {"role": Role.OWNER})
    assert response.status_code == 302
    assert packages.role_of(world.maintainer, world.project) == Role.OWNER
    response = client.post(MANAGE + "roles/mallory/remove/")
    assert response.status_code == 302
    assert packages.role_of(world.maintainer, world.project) is None
    assert "mallory was removed from" in text(client.get(MANAGE))
    tags = set(Event.objects.values_list("tag", flat=True))
    assert {"project:role:change", "project:role:remove", "account:role:remove"} <= tags


@pytest.mark.django_db
def test_the_last_owner_stays_on_every_path(world: World) -> None:
    client = logged_in(world.owner)
    before = Event.objects.count()
    message = "&#x27;olivia&#x27; is the last owner of &#x27;Demo_Pkg&#x27;"
    response = client.post(MANAGE + "roles/olivia/change/", {"role": Role.MAINTAINER})
    assert response.status_code == 400
    assert message in text(response)
    response = client.post(MANAGE + "roles/olivia/remove/")
    assert response.status_code == 400
    assert message in text(response)
    response = client.post("/account/projects/demo-pkg/leave/")
    assert response.status_code == 400
    assert message in text(response)
    assert packages.role_of(world.owner, world.project) == Role.OWNER
    assert Event.objects.count() == before


@pytest.mark.django_db
def test_a_maintainer_can_leave(world: World) -> None:
    client = logged_in(world.maintainer)
    assert 'action="/account/projects/demo-pkg/leave/"' in text(client.get("/account/"))
    response = client.post("/account/projects/demo-pkg/leave/")
    assert response.status_code == 302
    assert response["Location"] == "/account/"
    assert packages.role_of(world.maintainer, world.project) is None
    assert Event.objects.filter(tag="project:role:remove", additional__left=True).exists()
    response = client.post("/account/projects/demo-pkg/leave/")
    assert response.status_code == 400
    assert "You have no role on" in text(response)


# --- Who may post ------------------------------------------------------------------------------


def management_posts(world: World) -> list[tuple[str, dict[str, str]]]:
    invitation = RoleInvitation.objects.get()
    return [
        (MANAGE + "roles/invite/", {"username": "steve", "role": Role.MAINTAINER}),
        (MANAGE + f"roles/invitations/{invitation.pk}/revoke/", {}),
        (MANAGE + "roles/mallory/change/", {"role": Role.OWNER}),
        (MANAGE + "roles/mallory/remove/", {}),
        (MANAGE + "roles/olivia/change/", {"role": Role.MAINTAINER}),
        (MANAGE + "roles/olivia/remove/", {}),
        (MANAGE + "delete/", {"confirm": "demo-pkg"}),
        (MANAGE + "release/1.0/delete/", {"confirm": "1.0"}),
        (
            MANAGE + f"file/{world.current_file.pk}/delete/",
            {"confirm": world.current_file.filename},
        ),
    ]


def snapshot() -> tuple[Any, ...]:
    return (
        sorted(Role.objects.values_list("user__username", "role_name")),
        sorted(RoleInvitation.objects.values_list("invitee__username", "role_name")),
        sorted(File.objects.values_list("filename", "state")),
        Release.objects.count(),
        Project.objects.count(),
        Event.objects.count(),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["maintainer", "stranger", "no-2fa-owner", "anonymous"])
def test_others_are_refused_every_management_post(
    world: World, make_user: Callable[..., Any], who: str
) -> None:
    make_user("bob")
    roles.invite(world.project, "bob", Role.MAINTAINER, actor=world.owner)
    if who == "anonymous":
        client = Client()
    elif who == "no-2fa-owner":
        weak = make_user("weak", two_factor=False)
        Role.objects.filter(user=world.owner).update(user=weak)
        client = logged_in(weak)
    else:
        client = logged_in(getattr(world, who))
    before = snapshot()
    for url, data in management_posts(world):
        response = client.post(url, data)
        if who == "anonymous":
            assert response.status_code == 302, url
            assert response["Location"].startswith("/account/login/?next="), url
        else:
            assert response.status_code == 403, url
            reason = text(response)
            assert "isn&#x27;t allowed to" in reason or "Two-factor authentication" in reason
    assert snapshot() == before


@pytest.mark.django_db
def test_only_the_invitee_answers(world: World, make_user: Callable[..., Any]) -> None:
    make_user("bob")
    invitation = roles.invite(world.project, "bob", Role.OWNER, actor=world.owner)
    before = snapshot()
    for who in (world.owner, world.stranger):
        client = logged_in(who)
        for action in ("accept", "decline"):
            response = client.post(f"/account/invitations/{invitation.pk}/{action}/")
            assert response.status_code == 400
            assert "does not exist" in text(response)
    response = Client().post(f"/account/invitations/{invitation.pk}/accept/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/login/")
    assert snapshot() == before


@pytest.mark.django_db
def test_management_posts_refuse_get(world: World) -> None:
    client = logged_in(world.owner)
    for url in (MANAGE + "delete/", MANAGE + "release/1.0/delete/", MANAGE + "roles/invite/"):
        assert client.get(url).status_code == 405
    assert Project.objects.filter(pk=world.project.pk).exists()


@pytest.mark.django_db
def test_csrf_is_enforced_on_the_invite_form(world: World, make_user: Callable[..., Any]) -> None:
    make_user("bob")
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.owner)
    response = invite(client, "bob")
    assert response.status_code == 403
    assert "CSRF" in text(response)
    assert not RoleInvitation.objects.exists()
    page = text(client.get(MANAGE))
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert csrf is not None
    response = client.post(
        MANAGE + "roles/invite/",
        {"username": "bob", "role": Role.MAINTAINER, "csrfmiddlewaretoken": csrf.group(1)},
    )
    assert response.status_code == 302
    assert RoleInvitation.objects.filter(invitee__username="bob").exists()


# --- Deletion ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "typed", "message"),
    [
        ("delete/", "demo", "Could not delete project - &#x27;demo&#x27; is not the same as"),
        ("release/1.0/delete/", "1.0.0", "Could not delete release - &#x27;1.0.0&#x27;"),
        ("release/1.0/delete/", "", "Confirm the request"),
    ],
)
def test_deletion_must_be_confirmed(world: World, url: str, typed: str, message: str) -> None:
    before = snapshot()
    response = logged_in(world.owner).post(MANAGE + url, {"confirm": typed})
    assert response.status_code == 400
    assert message in text(response)
    assert snapshot() == before


@pytest.mark.django_db
def test_owner_deletes_a_release_then_the_project(world: World) -> None:
    client = logged_in(world.owner)
    filename = world.current_file.filename
    response = client.post(MANAGE + "release/1.0/delete/", {"confirm": "1.0"})
    assert response.status_code == 302
    assert "Release 1.0 was deleted." in text(client.get(MANAGE))
    assert not Release.objects.filter(pk=world.current.pk).exists()
    assert FilenameRegistry.objects.filter(filename=filename).exists()
    assert client.post(MANAGE + "release/1.0/delete/", {"confirm": "1.0"}).status_code == 404

    response = client.post(MANAGE + "delete/", {"confirm": "Demo_Pkg"})
    assert response.status_code == 302
    assert response["Location"] == "/account/"
    assert not Project.objects.filter(normalized_name="demo-pkg").exists()
    assert Event.objects.filter(tag="project:remove", subject_name="demo-pkg").exists()
    assert client.get(MANAGE).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_deleted_file_leaves_simple_and_packages_and_cannot_be_uploaded_again(
    user: Any, token: str, upload: Callable[..., Any]
) -> None:
    dist = builders.wheel("samplepkg", "1.0")
    assert upload(dist, token).status_code == 200
    assert upload(builders.sdist("samplepkg", "1.0"), token).status_code == 200
    file = File.objects.get(filename=dist.filename)
    client = logged_in(user)
    assert dist.filename in text(client.get("/simple/samplepkg/"))
    assert client.get(f"/packages/{file.storage_key}").status_code == 200

    response = client.post(
        f"/manage/project/samplepkg/file/{file.pk}/delete/", {"confirm": dist.filename}
    )
    assert response.status_code == 302
    assert dist.filename not in text(client.get("/simple/samplepkg/"))
    assert client.get(f"/packages/{file.storage_key}").status_code == 404
    assert any(dist.filename in m.body and "deleted" in m.body for m in mail.outbox)

    response = upload(builders.wheel("samplepkg", "1.0", code="VALUE = 9\n"), token)
    assert response.status_code == 400
    assert "previously used by a file that has since been deleted" in response.reason_phrase

    # Deleting the project takes it out of the simple index altogether.
    response = client.post("/manage/project/samplepkg/delete/", {"confirm": "samplepkg"})
    assert response.status_code == 302
    assert client.get("/simple/samplepkg/").status_code == 404
    assert "samplepkg" not in text(client.get("/simple/"))
