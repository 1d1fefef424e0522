"""Owners deleting files, releases and projects: gone from /simple/ and /packages/, the
filenames burned for ever, the name of a deleted project free again, held files kept for the
moderators, and the events written with the change or not at all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client

from bastion.events.models import Event
from bastion.packages import deletion
from bastion.packages import services as packages
from bastion.packages.models import File, FilenameRegistry, Project, Release, Role
from tests import builders

pytestmark = pytest.mark.django_db(transaction=True)


def simple(client: Client, name: str) -> str:
    response = client.get(f"/simple/{name}/")
    return response.content.decode() if response.status_code == 200 else ""


def downloadable(client: Client, file: File) -> bool:
    return client.get(f"/packages/{file.storage_key}").status_code == 200


def stored(key: str) -> bool:
    return (settings.BASTION.storage_dir / key).is_file()


@pytest.fixture
def published(upload: Callable[..., Any], token: str) -> dict[str, builders.Dist]:
    """``samplepkg`` 1.0 (wheel and sdist) and 2.0 (wheel), all published by alice."""
    dists = {
        "wheel": builders.wheel("samplepkg", "1.0"),
        "sdist": builders.sdist("samplepkg", "1.0"),
        "next": builders.wheel("samplepkg", "2.0"),
    }
    for dist in dists.values():
        response = upload(dist, token)
        assert response.status_code == 200, response.reason_phrase
    assert File.objects.filter(state=File.PUBLISHED).count() == 3
    return dists


def test_delete_a_file(
    published: dict[str, builders.Dist], user: Any, upload: Callable[..., Any], token: str
) -> None:
    client = Client()
    wheel = File.objects.get(filename=published["wheel"].filename)
    assert wheel.filename in simple(client, "samplepkg")
    assert downloadable(client, wheel)
    mail.outbox.clear()

    deletion.delete_file(wheel, actor=user)

    wheel.refresh_from_db()
    assert wheel.state == File.REMOVED
    page = simple(client, "samplepkg")
    assert wheel.filename not in page
    assert published["sdist"].filename in page  # the rest of the release stays
    assert not downloadable(client, wheel)
    assert FilenameRegistry.objects.filter(filename=wheel.filename).exists()
    event = Event.objects.filter(tag="project:file:remove").get()
    assert event.additional["filename"] == wheel.filename
    assert event.actor_name == "alice"
    assert any(wheel.filename in m.body and m.to == ["alice@example.com"] for m in mail.outbox)

    # The filename cannot carry other bytes, and the same bytes do not come back.
    other = builders.wheel("samplepkg", "1.0", code="VALUE = 2\n")
    response = upload(other, token)
    assert response.status_code == 400
    assert "previously used by a file that has since been deleted" in response.reason_phrase
    # Not the "identical re-upload" 200: twine would report a success for a file nobody can get.
    response = upload(published["wheel"], token)
    assert response.status_code == 400
    assert "previously used by a file that has since been deleted" in response.reason_phrase
    wheel.refresh_from_db()
    assert wheel.state == File.REMOVED
    assert wheel.filename not in simple(client, "samplepkg")

    with pytest.raises(deletion.DeletionError, match="was already deleted"):
        deletion.delete_file(wheel, actor=user)


def test_delete_a_release(
    published: dict[str, builders.Dist], user: Any, upload: Callable[..., Any], token: str
) -> None:
    client = Client()
    release = Release.objects.get(version="1.0")
    files = list(release.files.all())
    deletion.delete_release(release, actor=user)

    assert not Release.objects.filter(version="1.0").exists()
    assert not File.objects.filter(pk__in=[f.pk for f in files]).exists()
    page = simple(client, "samplepkg")
    assert published["next"].filename in page
    for f in files:
        assert f.filename not in page
        assert not downloadable(client, f)
        assert not stored(f.storage_key)  # no orphan left for `bastion check`
        assert FilenameRegistry.objects.filter(filename=f.filename).exists()
    tags = list(Event.objects.values_list("tag", flat=True))
    assert tags.count("project:file:remove") == 2
    assert "project:release:remove" in tags
    assert client.get("/pypi/samplepkg/1.0/json").status_code == 404

    response = upload(published["wheel"], token)
    assert response.status_code == 400
    assert "previously used by a file that has since been deleted" in response.reason_phrase
    assert not Release.objects.filter(version="1.0").exists()


def test_delete_a_project_frees_the_name_but_not_the_filenames(
    published: dict[str, builders.Dist],
    user: Any,
    upload: Callable[..., Any],
    make_user: Callable[..., Any],
    make_token: Callable[..., str],
) -> None:
    client = Client()
    project = Project.objects.get(normalized_name="samplepkg")
    files = list(File.objects.all())
    deletion.delete_project(project, actor=user)

    assert b"samplepkg" not in client.get("/simple/").content
    assert not Project.objects.exists()
    assert not Role.objects.exists()
    assert client.get("/simple/samplepkg/").status_code == 404
    assert not (settings.BASTION.public_dir / "simple" / "samplepkg" / "index.html").exists()
    for f in files:
        assert not downloadable(client, f)
        assert not stored(f.storage_key)
    event = Event.objects.filter(tag="project:remove").get()
    assert event.additional["roles"] == {"alice": "owner"}
    assert sorted(event.additional["releases"]) == ["1.0", "2.0"]
    assert any("deleted the project 'samplepkg'" in m.body for m in mail.outbox)

    # Someone else may register the name now, but not with the old filenames.
    bob = make_user("bob")
    bob_token = make_token(bob)
    response = upload(published["wheel"], bob_token)
    assert response.status_code == 400
    assert "previously used" in response.reason_phrase
    response = upload(builders.wheel("samplepkg", "3.0"), bob_token)
    assert response.status_code == 200, response.reason_phrase
    reborn = Project.objects.get(normalized_name="samplepkg")
    assert packages.role_of(bob, reborn) == Role.OWNER
    assert packages.role_of(user, reborn) is None


def test_held_files_are_kept_for_the_moderators(
    published: dict[str, builders.Dist], user: Any
) -> None:
    client = Client()
    wheel = File.objects.get(filename=published["wheel"].filename)
    packages.hold_file(wheel, reason="scan verdict: malicious")
    before = Event.objects.count()
    with pytest.raises(deletion.DeletionError, match="held for review"):
        deletion.delete_file(wheel, actor=user)
    with pytest.raises(deletion.DeletionError, match=r"Release 1\.0 cannot be deleted"):
        deletion.delete_release(wheel.release, actor=user)
    with pytest.raises(deletion.DeletionError, match="The project 'samplepkg' cannot be deleted"):
        deletion.delete_project(wheel.release.project, actor=user)
    assert Event.objects.count() == before
    assert File.objects.count() == 3
    assert File.objects.filter(state=File.PUBLISHED).count() == 2
    assert published["sdist"].filename in simple(client, "samplepkg")


def test_a_failing_deletion_writes_no_event(
    published: dict[str, builders.Dist], user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events and rows change in one transaction: a failure at the last step leaves the
    release, its files' states and the audit trail as they were."""
    release = Release.objects.get(version="1.0")
    before = Event.objects.count()

    def broken(files: list[File]) -> None:
        raise RuntimeError("storage unavailable")

    monkeypatch.setattr(deletion, "_forget_blobs", broken)
    with pytest.raises(RuntimeError, match="storage unavailable"):
        deletion.delete_release(release, actor=user)
    assert Release.objects.filter(pk=release.pk).exists()
    assert set(release.files.values_list("state", flat=True)) == {File.PUBLISHED}
    assert Event.objects.count() == before
    assert not Event.objects.filter(
        tag__in=["project:release:remove", "project:file:remove"]
    ).exists()
