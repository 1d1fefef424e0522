"""Through the upload pipeline, a release is scanned against the project's previous one: what
it newly does is in its findings, and counts in its verdict (the suite's task backend runs the
scan task at once, as the worker would)."""

from __future__ import annotations

from typing import Any

import pytest

from bastion.packages import services as packages
from bastion.packages.models import File
from tests import builders

pytestmark = pytest.mark.django_db(transaction=True)


def rules(file: File) -> dict[str, dict[str, Any]]:
    return {f["rule"]: f for f in file.scan_findings}


def test_a_release_that_adds_a_startup_file_is_flagged_with_the_file(
    upload: Any, token: str
) -> None:
    assert upload(builders.wheel("samplepkg", "1.0"), token).status_code == 200
    pth = {"samplepkg_boot.pth": b"import samplepkg\n"}
    assert upload(builders.wheel("samplepkg", "1.1", extra_members=pth), token).status_code == 200
    file = File.objects.get(release__version="1.1")
    finding = rules(file)["release-diff-pth"]
    assert finding["severity"] == "medium" and finding["file"] == "samplepkg_boot.pth"
    assert file.scan_verdict == "suspicious" and file.flagged
    assert file.state == File.PUBLISHED  # BASTION_SUSPICIOUS_ACTION=publish: flagged for review
    # the first release had nothing to be compared with
    first = File.objects.get(release__version="1.0")
    assert not [f for f in first.scan_findings if f["rule"].startswith("release-diff")]


def test_a_release_that_starts_depending_on_a_days_old_project_is_held(
    upload: Any, token: str, make_user: Any, make_token: Any
) -> None:
    other = make_token(make_user("mallory"))
    assert upload(builders.wheel("tinyhelper", "1.0"), other).status_code == 200
    assert upload(builders.wheel("samplepkg", "1.0"), token).status_code == 200
    new = builders.wheel("samplepkg", "1.1", requires_dist=["tinyhelper>=1.0"])
    response = upload(new, token)
    assert response.status_code == 400
    file = File.objects.get(filename=new.filename)
    assert file.state == File.HELD and file.scan_verdict == "malicious"
    finding = rules(file)["release-diff-dependency"]
    assert finding["severity"] == "high"
    assert "tinyhelper" in finding["message"] and "0 day(s)" in finding["message"]
    assert finding["excerpt"] == "Requires-Dist: tinyhelper>=1.0"


def test_a_young_dependency_of_the_same_owner_is_only_noted(upload: Any, token: str) -> None:
    assert upload(builders.wheel("tinyhelper", "1.0"), token).status_code == 200
    assert upload(builders.wheel("samplepkg", "1.0"), token).status_code == 200
    new = builders.wheel("samplepkg", "1.1", requires_dist=["tinyhelper"])
    assert upload(new, token).status_code == 200
    file = File.objects.get(filename=new.filename)
    assert rules(file)["release-diff-dependency"]["severity"] == "low"
    assert file.state == File.PUBLISHED and file.scan_verdict == "clean"


def test_the_young_dependency_threshold_is_the_operators(
    upload: Any, token: str, make_user: Any, make_token: Any, bastion_settings: Any
) -> None:
    bastion_settings(scan_young_dependency_days=0)
    other = make_token(make_user("mallory"))
    assert upload(builders.wheel("tinyhelper", "1.0"), other).status_code == 200
    assert upload(builders.wheel("samplepkg", "1.0"), token).status_code == 200
    new = builders.wheel("samplepkg", "1.1", requires_dist=["tinyhelper"])
    assert upload(new, token).status_code == 200
    assert File.objects.get(filename=new.filename).state == File.PUBLISHED


def test_a_new_dependency_on_a_look_alike_of_a_popular_name_is_held(
    upload: Any, token: str
) -> None:
    assert upload(builders.wheel("samplepkg", "1.0", requires_dist=["requests"]), token)
    new = builders.wheel("samplepkg", "1.1", requires_dist=["requests", "reqeusts"])
    assert upload(new, token).status_code == 400
    finding = rules(File.objects.get(filename=new.filename))["release-diff-dependency"]
    assert finding["severity"] == "high" and "imitates 'requests'" in finding["message"]


def test_the_previous_release_is_the_highest_lower_version_of_the_same_kind(
    upload: Any, token: str
) -> None:
    for version in ("1.0", "2.0"):
        assert upload(builders.wheel("samplepkg", version), token).status_code == 200
    assert upload(builders.sdist("samplepkg", "1.2"), token).status_code == 200
    wheel = builders.wheel("samplepkg", "1.5")
    assert upload(wheel, token).status_code == 200
    new = File.objects.select_related("release").get(filename=wheel.filename)
    previous = packages.previous_file(new)
    assert previous is not None and previous.filename == "samplepkg-1.0-py3-none-any.whl"
    sdist = File.objects.select_related("release").get(packagetype=File.SDIST)
    assert packages.previous_file(sdist) is None  # no earlier sdist


def test_a_held_malicious_release_is_no_baseline(upload: Any, token: str) -> None:
    assert upload(builders.wheel("samplepkg", "1.0"), token).status_code == 200
    evil = b"import base64; exec(base64.b64decode('cHJpbnQoMSk=' * 40))\n"
    bad = builders.wheel("samplepkg", "1.1", extra_members={"samplepkg_boot.pth": evil})
    assert upload(bad, token).status_code == 400
    again = builders.wheel("samplepkg", "1.2", extra_members={"samplepkg_boot.pth": evil})
    assert upload(again, token).status_code == 400
    file = File.objects.select_related("release").get(filename=again.filename)
    previous = packages.previous_file(file)
    assert previous is not None and previous.release.version == "1.0"
    assert rules(file)["release-diff-pth"]["severity"] == "high"
