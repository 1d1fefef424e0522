"""One file, one answer, whichever client sends it.

setuptools wrote ``License-File`` into Metadata-Version 2.1 files for years (pluggy 1.5.0 and
six 1.17.0 on PyPI are such sdists). twine leaves a field newer than the declared version out
of the form; ``uv publish`` sends it. The file's own check drops such a field, and so does the
form's: both clients' uploads of the same file get the same answer.
"""

from __future__ import annotations

from typing import Any

import pytest

from bastion.packages.models import File, Release
from bastion.upload import metadata
from tests import builders

pytestmark = pytest.mark.django_db

LICENSE_21 = builders.metadata_text("samplepkg", "1.0", extra="License-File: LICENSE")


def old_sdist(*, with_license: bool = True) -> builders.Dist:
    """A Metadata-Version 2.1 sdist whose PKG-INFO lists ``License-File: LICENSE``."""
    members = {"samplepkg-1.0/LICENSE": b"MIT\n"} if with_license else {}
    return builders.sdist("samplepkg", "1.0", meta=LICENSE_21, extra_members=members)


def twine_form(dist: builders.Dist) -> list[tuple[str, str]]:
    """twine drops License-File from a form below Metadata-Version 2.4."""
    return dist.form()


def uv_form(dist: builders.Dist) -> list[tuple[str, str]]:
    """uv sends every field it read, License-File included, under the file's 2.1."""
    return dist.form(license_file="LICENSE")


@pytest.mark.parametrize("with_license", [True, False], ids=["license", "no-license"])
@pytest.mark.parametrize("form", [twine_form, uv_form], ids=["twine", "uv"])
def test_twine_and_uv_forms_of_one_sdist_get_one_answer(
    upload: Any, token: str, form: Any, with_license: bool
) -> None:
    """Each client's form for the same sdist, on a fresh index: the same answer (a 2.1 file's
    License-File is not checked, whoever sends it)."""
    dist = old_sdist(with_license=with_license)
    response = upload(dist, token, fields=form(dist))
    assert (response.status_code, response.reason_phrase) == (200, "OK")
    assert File.objects.get().state == File.PUBLISHED


def test_the_uv_form_publishes_the_file_with_its_own_metadata(upload: Any, token: str) -> None:
    dist = old_sdist()
    response = upload(dist, token, fields=uv_form(dist))
    assert response.status_code == 200, response.reason_phrase
    file = File.objects.get()
    assert file.state == File.PUBLISHED
    assert Release.objects.get().metadata_version == "2.1"


def test_a_field_the_declared_version_has_is_still_validated(upload: Any, token: str) -> None:
    """Only a field newer than the declared version is dropped: under 2.4 the License-File the
    form names must be in the file."""
    meta = LICENSE_21.replace("Metadata-Version: 2.1", "Metadata-Version: 2.4")
    dist = builders.sdist("samplepkg", "1.0", meta=meta)
    response = upload(dist, token, fields=dist.form(metadata_version="2.4", license_file="LICENSE"))
    assert response.status_code == 400
    assert response.reason_phrase.startswith("License-File LICENSE does not exist")


def test_declared_fields_keeps_what_the_version_has_and_drops_newer_fields() -> None:
    raw: Any = {
        "metadata_version": "2.1",
        "name": "samplepkg",
        "version": "1.0",
        "license_files": ["LICENSE"],  # 2.4
        "dynamic": ["Summary"],  # 2.2
        "description_content_type": "text/markdown",  # 2.1
    }
    assert metadata.declared_fields(raw) == {
        "metadata_version": "2.1",
        "name": "samplepkg",
        "version": "1.0",
        "description_content_type": "text/markdown",
    }
    assert metadata.declared_fields({**raw, "metadata_version": "2.4"}) == {
        **raw,
        "metadata_version": "2.4",
    }
