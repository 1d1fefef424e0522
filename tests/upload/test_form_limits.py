"""Every upload form field is bounded before anything reads it; refusals are one clean line;
a release stops taking new files after ``BASTION_NEW_FILES_DAYS``."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from bastion.names.normalize import MAX_NAME_LENGTH
from bastion.names.policy import check_name
from bastion.packages.models import File, Project, Release
from bastion.upload.services import FIELD_LIMITS, OTHER_FIELD_LIMIT
from bastion.upload.views import MAX_REASON, error_response
from tests import builders
from tests.upload.test_upload import assert_nothing_written, assert_refused

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("length", [2_000, 20_000, 70_000])
def test_a_long_name_is_refused_at_once(upload: Any, token: str, length: int) -> None:
    """The review's names: 2,000 characters took the worker to 4 GB, 20,000 pinned a thread."""
    dist = builders.wheel("samplepkg", "1.0")
    started = time.monotonic()
    response = upload(dist, token, fields=dist.form(name="a" * length))
    assert_refused(response, 400, f"'name' field must be {MAX_NAME_LENGTH} characters or less.")
    assert time.monotonic() - started < 10  # a sanity bound; it takes milliseconds
    assert_nothing_written()
    assert not Project.objects.exists()


def test_the_longest_name_allowed_is_checked_by_the_name_policy(upload: Any, token: str) -> None:
    name = "a" * MAX_NAME_LENGTH
    dist = builders.wheel(name, "1.0")
    response = upload(dist, token)
    assert response.status_code == 200, response.reason_phrase
    assert Project.objects.filter(normalized_name=name).exists()


def test_the_name_policy_bounds_itself_for_every_caller() -> None:
    started = time.monotonic()
    verdict = check_name("x" * 70_000)
    assert verdict.blocked
    assert f"at most {MAX_NAME_LENGTH} characters" in (verdict.reason or "")
    assert len(verdict.reason or "") < 200
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    "field", ["version", "summary", "author", "license", "keywords", "home_page", "classifiers"]
)
def test_every_field_has_a_limit(upload: Any, token: str, field: str) -> None:
    limit = FIELD_LIMITS[field]
    dist = builders.wheel("samplepkg", "1.0")
    response = upload(dist, token, fields=dist.form(**{field: "v" * (limit + 1)}))
    assert_refused(response, 400, f"'{field}' field must be {limit} characters or less.")
    assert_nothing_written()


def test_an_unknown_field_has_a_limit_too(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0")
    response = upload(dist, token, fields=dist.form(gpg_comment="z" * (OTHER_FIELD_LIMIT + 1)))
    assert_refused(
        response, 400, f"'gpg_comment' field must be {OTHER_FIELD_LIMIT} characters or less."
    )


def test_a_long_action_is_not_echoed(upload: Any, token: str) -> None:
    """The review's 70 KB ``:action`` was echoed into the status line."""
    dist = builders.wheel("samplepkg", "1.0")
    response = upload(dist, token, fields=dist.form(**{":action": "x" * 70_000}))
    assert_refused(response, 400, "':action' field must be 32 characters or less.")
    assert len(response.reason_phrase) < 100


def test_an_unknown_short_action_is_named(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0")
    response = upload(dist, token, fields=dist.form(**{":action": "remove_pkg"}))
    assert_refused(response, 400, "Unknown action 'remove_pkg'.")


@pytest.mark.parametrize("action", [None, ""], ids=["absent", "empty"])
def test_a_form_without_an_action_is_refused_as_pypi_does(
    upload: Any, token: str, action: str | None
) -> None:
    """PyPI routes ``/legacy/`` on ``:action``; a POST without one reaches its upload page,
    which allows no POST. It was taken as a file upload and its file published."""
    dist = builders.wheel("samplepkg", "1.0")
    response = upload(dist, token, fields=dist.form(**{":action": action}))
    assert_refused(response, 405, "The method POST is not allowed for this resource.")
    assert response["Allow"] == "POST"
    assert_nothing_written()


@pytest.mark.parametrize("md5", ["é" * 32, "z" * 32, "0" * 31, "\x00" * 32])
def test_a_malformed_md5_digest_is_refused(upload: Any, token: str, md5: str) -> None:
    """A non-ASCII md5 made the digest comparison raise (a 500)."""
    dist = builders.wheel("samplepkg", "1.0")
    response = upload(dist, token, fields=dist.form(md5_digest=md5))
    assert_refused(
        response,
        400,
        "Invalid value for md5_digest. Error: Use a valid, hex-encoded, MD5 message digest.",
    )
    assert_nothing_written()


def test_control_characters_never_reach_the_status_line(upload: Any, token: str) -> None:
    """A refusal quoting a value with control characters made gunicorn fail ("Invalid
    status")."""
    dist = builders.wheel("samplepkg", "1.0")
    response = upload(dist, token, fields=dist.form(version="1.0\x01\x1b[31m\x7f\x85"))
    assert response.status_code == 400
    reason = response.reason_phrase
    assert reason and all(0x20 <= ord(c) < 0x7F or 0xA0 <= ord(c) <= 0xFF for c in reason)
    assert "\n" not in response.content.decode().rstrip("\n")


def test_error_response_is_one_bounded_latin1_line() -> None:
    response = error_response(400, "bad \x00 value\r\nX-Injected: 1 ☃ " + "y" * 5000)
    reason = response.reason_phrase
    assert "\r" not in reason and "\n" not in reason and "\x00" not in reason
    assert len(reason) == MAX_REASON
    assert reason.endswith("...")
    reason.encode("latin-1")  # what HTTP/1.1 allows in a reason phrase
    assert response.content.decode().count("\n") == 1


def _age(release: Release, days: float) -> None:
    Release.objects.filter(pk=release.pk).update(created=timezone.now() - timedelta(days=days))


def test_new_files_for_an_old_release_are_refused(upload: Any, token: str) -> None:
    first = builders.wheel("samplepkg", "1.0")
    assert upload(first, token).status_code == 200
    _age(Release.objects.get(), 15)
    other = builders.wheel("samplepkg", "1.0", tag="py2-none-any", code="VALUE = 2\n")
    response = upload(other, token)
    assert_refused(
        response, 400, "Uploading new files to releases older than 14 days is not allowed."
    )
    assert File.objects.count() == 1


def test_a_young_release_takes_new_files_and_old_reuploads_stay_idempotent(
    upload: Any, token: str
) -> None:
    first = builders.wheel("samplepkg", "1.0")
    assert upload(first, token).status_code == 200
    _age(Release.objects.get(), 13)
    assert (
        upload(
            builders.wheel("samplepkg", "1.0", tag="py2-none-any", code="VALUE = 2\n"), token
        ).status_code
        == 200
    )
    _age(Release.objects.get(), 30)
    # twine --skip-existing re-sends files it already uploaded: still a 200.
    assert upload(first, token).status_code == 200
    # A new release of the project is not affected.
    assert upload(builders.wheel("samplepkg", "1.1"), token).status_code == 200


def test_the_release_age_is_configurable(upload: Any, token: str, bastion_settings: Any) -> None:
    bastion_settings(new_files_days=3)
    assert upload(builders.wheel("samplepkg", "1.0"), token).status_code == 200
    _age(Release.objects.get(), 4)
    response = upload(
        builders.wheel("samplepkg", "1.0", tag="py2-none-any", code="VALUE = 2\n"), token
    )
    assert_refused(
        response, 400, "Uploading new files to releases older than 3 days is not allowed."
    )
    bastion_settings(new_files_days=0)
    assert (
        upload(
            builders.wheel("samplepkg", "1.0", tag="py2-none-any", code="VALUE = 2\n"), token
        ).status_code
        == 200
    )
