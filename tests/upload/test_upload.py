"""The upload API: one test per validation rule, each asserting the status, the reason, and
that nothing was stored or made visible."""

from __future__ import annotations

import hashlib
import io
import zipfile
from typing import Any

import pytest
from django.conf import settings

from bastion.events.models import Event
from bastion.packages.models import File, FilenameRegistry, Project, Release
from tests import builders

pytestmark = pytest.mark.django_db(transaction=True)


def stored_files() -> list[str]:
    root = settings.BASTION.storage_dir
    return [p.name for p in root.rglob("*") if p.is_file()] if root.exists() else []


def assert_refused(response: Any, status: int, reason: str) -> None:
    assert response.status_code == status, response.content
    assert reason in response.reason_phrase, response.reason_phrase
    assert reason.split(" See ")[0] in response.content.decode()
    assert "Traceback" not in response.content.decode()


def assert_nothing_written(before_files: int = 0) -> None:
    assert File.objects.count() == before_files
    assert len([n for n in stored_files() if not n.endswith(".metadata")]) == before_files


def test_first_upload_creates_project_with_owner_and_publishes(
    upload: Any, user: Any, token: str, client: Any
) -> None:
    dist = builders.wheel("samplepkg-pkg", "1.0")
    response = upload(dist, token)
    assert response.status_code == 200, response.reason_phrase
    project = Project.objects.get(normalized_name="samplepkg-pkg")
    assert project.roles.get().user == user
    assert project.roles.get().role_name == "owner"
    file = File.objects.get()
    assert file.state == File.PUBLISHED
    assert file.sha256_digest == hashlib.sha256(dist.data).hexdigest()
    assert file.blake2_256_digest == hashlib.blake2b(dist.data, digest_size=32).hexdigest()
    assert FilenameRegistry.objects.filter(filename=dist.filename).exists()
    tags = set(Event.objects.values_list("tag", flat=True))
    assert {"project:create", "project:file:add", "project:file:publish"} <= tags
    page = client.get("/simple/samplepkg-pkg/")
    assert dist.filename in page.content.decode()


def test_identical_reupload_is_200_and_changes_nothing(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0")
    assert upload(dist, token).status_code == 200
    events = Event.objects.count()
    response = upload(dist, token)
    assert response.status_code == 200
    assert File.objects.count() == 1
    assert Event.objects.count() == events


def test_reused_filename_with_other_content(upload: Any, token: str) -> None:
    first = builders.wheel("samplepkg", "1.0")
    assert upload(first, token).status_code == 200
    second = builders.wheel("samplepkg", "1.0", code="VALUE = 2\n")
    response = upload(second, token)
    assert_refused(response, 400, f"File already exists ('{second.filename}'")
    assert File.objects.count() == 1


def test_filename_never_reused_after_deletion(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0")
    assert upload(dist, token).status_code == 200
    File.objects.all().delete()
    other = builders.wheel("samplepkg", "1.0", code="VALUE = 3\n")
    response = upload(other, token)
    assert_refused(
        response, 400, "This filename was previously used by a file that has since been deleted."
    )


def test_no_auth(upload: Any, db: Any) -> None:
    response = upload(builders.wheel("samplepkg", "1.0"), None)
    assert_refused(response, 403, "Invalid or non-existent authentication information.")
    assert_nothing_written()
    assert not Project.objects.exists()


def test_wrong_token(upload: Any, user: Any) -> None:
    response = upload(
        builders.wheel("samplepkg", "1.0"),
        "bastion-AgEIYmFzdGlvbgIkMDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAwAAAGIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    )
    assert response.status_code == 403
    assert "Invalid API Token" in response.reason_phrase
    assert_nothing_written()


def test_password_is_never_accepted(upload: Any, user: Any) -> None:
    from tests.conftest import PASSWORD, basic

    response = upload(
        builders.wheel("samplepkg", "1.0"), None, auth=basic(PASSWORD, username="alice")
    )
    assert_refused(response, 403, "Username/Password authentication is no longer supported.")
    assert_nothing_written()


def test_wrong_digest(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0")
    fields = dist.form(sha256_digest="0" * 64)
    response = upload(dist, token, fields=fields)
    assert_refused(
        response,
        400,
        "The digest supplied does not match a digest calculated from the uploaded file.",
    )
    assert_nothing_written()


def test_no_digest(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0")
    response = upload(dist, token, fields=dist.form(sha256_digest=None))
    assert_refused(response, 400, "Error: Include at least one message digest.")


def test_invalid_version(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0")
    response = upload(dist, token, fields=dist.form(version="not a version!"))
    assert response.status_code == 400
    assert "not a version!" in response.reason_phrase
    assert_nothing_written()


def test_local_version_refused(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0+local")
    response = upload(dist, token)
    assert_refused(response, 400, "The use of local versions in '1.0+local' is not allowed.")


def test_invalid_name(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0")
    response = upload(dist, token, fields=dist.form(name="-bad name-"))
    assert_refused(response, 400, "'-bad name-' is an invalid value for Name.")


def test_unknown_metadata_version(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0")
    response = upload(dist, token, fields=dist.form(metadata_version="9.9"))
    assert_refused(response, 400, "'9.9' is not a valid metadata version.")


def test_invalid_classifier(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0")
    response = upload(dist, token, fields=dist.form(classifiers="Made Up :: Classifier"))
    assert_refused(response, 400, "'Made Up :: Classifier' is not a valid classifier.")


def test_direct_url_dependency_refused(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0", requires_dist=["evil @ https://example.com/evil.whl"])
    response = upload(dist, token)
    assert_refused(
        response, 400, "Can't have direct dependency: evil @ https://example.com/evil.whl"
    )


def test_unknown_filetype(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0")
    response = upload(dist, token, fields=dist.form(filetype="bdist_egg"))
    assert_refused(response, 400, "Invalid value for filetype. Error: Use a known file type.")


def test_missing_content(client: Any, token: str) -> None:
    from tests.conftest import basic

    dist = builders.wheel("samplepkg", "1.0")
    payload: dict[str, list[str]] = {}
    for k, v in dist.fields:
        payload.setdefault(k, []).append(v)
    response = client.post("/legacy/", payload, HTTP_AUTHORIZATION=basic(token))
    assert_refused(response, 400, "Upload payload does not have a file.")


def test_bad_extension(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0")
    response = upload(dist, token, filename="samplepkg-1.0.exe")
    assert_refused(response, 400, "Invalid file extension: Use .tar.gz, .whl or .zip extension.")


def test_extension_does_not_match_filetype(upload: Any, token: str) -> None:
    dist = builders.sdist("samplepkg", "1.0")
    response = upload(dist, token, fields=dist.form(filetype="bdist_wheel", pyversion="py3"))
    assert_refused(
        response,
        400,
        "Invalid file extension: Extension .tar.gz is invalid for filetype bdist_wheel.",
    )


def test_filename_must_match_project(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0")
    response = upload(dist, token, filename="other-1.0-py3-none-any.whl")
    assert_refused(response, 400, "Start filename for 'samplepkg' with 'samplepkg'.")


def test_filename_version_must_match(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0")
    response = upload(dist, token, filename="samplepkg-2.0-py3-none-any.whl")
    assert_refused(response, 400, "Version in filename should be '1.0' not '2.0'.")


def test_sdist_filename_pep625(upload: Any, token: str) -> None:
    dist = builders.sdist("samplepkg-pkg", "1.0")
    response = upload(dist, token, filename="samplepkg-pkg-1.0.tar.gz")
    assert_refused(
        response,
        400,
        "Filename 'samplepkg-pkg-1.0.tar.gz' is invalid, should be 'samplepkg_pkg-1.0.tar.gz'.",
    )


def test_pre_pep625_sdist_name_accepted_when_the_operator_allows_it(
    upload: Any, token: str, bastion_settings: Any
) -> None:
    bastion_settings(strict_sdist_filenames=False)
    dist = builders.sdist("samplepkg-pkg", "1.0")
    assert upload(dist, token, filename="samplepkg-pkg-1.0.tar.gz").status_code == 200
    response = upload(
        builders.sdist("samplepkg-pkg", "1.1"), token, filename="samplepkg-pkg-9.9.tar.gz"
    )
    assert response.status_code == 400


def test_unsupported_platform_tag(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0", tag="py3-none-weird_os")
    response = upload(dist, token)
    assert_refused(
        response,
        400,
        "Binary wheel 'samplepkg-1.0-py3-none-weird_os.whl' has an unsupported platform tag 'weird_os'.",
    )


def test_not_a_zip(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0")
    junk = b"this is not a zip file at all" * 10
    fields = dist.form(sha256_digest=hashlib.sha256(junk).hexdigest())
    response = upload(dist, token, fields=fields, data=junk)
    assert_refused(response, 400, "Invalid distribution file.")
    assert_nothing_written()


def test_mismatched_metadata(upload: Any, token: str) -> None:
    """The METADATA inside the file must agree with the form, field by field."""
    dist = builders.wheel("samplepkg", "1.0", summary="The real summary")
    response = upload(dist, token, fields=dist.form(summary="A different summary"))
    assert_refused(
        response,
        400,
        "Metadata field 'Summary' sent with the upload does not match the METADATA inside the file.",
    )
    assert_nothing_written()


def test_field_omitted_from_the_form_is_taken_from_the_file(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0", requires_dist=["evil-dep>=1"])
    response = upload(dist, token, fields=dist.form(requires_dist=None))
    # The form omitted Requires-Dist: the file's own value is taken and shown.
    assert response.status_code == 200
    release = Release.objects.get()
    assert release.metadata["requires_dist"] == ["evil-dep>=1"]


def test_wheel_without_record(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0", omit=("{dist_info}/RECORD",))
    response = upload(dist, token)
    assert_refused(
        response, 400, "does not contain the required RECORD file: samplepkg-1.0.dist-info/RECORD"
    )


def test_wheel_without_metadata(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0", omit=("{dist_info}/METADATA",))
    response = upload(dist, token)
    assert_refused(
        response,
        400,
        "does not contain the required METADATA file: samplepkg-1.0.dist-info/METADATA",
    )


def _rezip(
    dist: builders.Dist,
    extra: dict[str, bytes],
    compress: int = zipfile.ZIP_DEFLATED,
    symlink: tuple[str, str] | None = None,
) -> tuple[bytes, list[tuple[str, str]]]:
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(dist.data)) as src, zipfile.ZipFile(buf, "w", compress) as out:
        for info in src.infolist():
            out.writestr(info, src.read(info))
        for name, data in extra.items():
            out.writestr(zipfile.ZipInfo(name), data, compress_type=compress)
        if symlink is not None:
            info = zipfile.ZipInfo(symlink[0])
            info.external_attr = (0o120777) << 16
            out.writestr(info, symlink[1])
    data = buf.getvalue()
    return data, dist.form(sha256_digest=hashlib.sha256(data).hexdigest())


def test_zip_bomb(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0")
    data, fields = _rezip(dist, {"samplepkg/bomb.bin": b"\0" * (200 * 1024 * 1024)})
    assert len(data) < 1024 * 1024
    response = upload(dist, token, fields=fields, data=data)
    assert_refused(response, 400, "Invalid distribution file. File exceeds compression ratio of 50")
    assert_nothing_written()


def test_path_traversal_member(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0")
    data, fields = _rezip(dist, {"../../etc/evil.py": b"x = 1\n"})
    response = upload(dist, token, fields=fields, data=data)
    assert_refused(
        response, 400, "Invalid distribution file. Member path climbs out of the archive with '..'"
    )
    assert_nothing_written()


def test_absolute_path_member(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0")
    data, fields = _rezip(dist, {"/etc/evil.py": b"x = 1\n"})
    response = upload(dist, token, fields=fields, data=data)
    assert_refused(response, 400, "Invalid distribution file. Member has an absolute path")


def test_symlink_member_in_wheel(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0")
    data, fields = _rezip(dist, {}, symlink=("samplepkg/link", "../../../../etc/passwd"))
    response = upload(dist, token, fields=fields, data=data)
    assert_refused(response, 400, "Invalid distribution file. Symlink points outside the archive")
    assert_nothing_written()


def test_escaping_symlink_in_sdist(upload: Any, token: str) -> None:
    dist = builders.sdist("samplepkg", "1.0", links={"samplepkg-1.0/evil": "/etc/passwd"})
    response = upload(dist, token)
    assert_refused(response, 400, "Invalid distribution file. Symlink points outside the archive")
    assert_nothing_written()


def test_internal_symlink_in_sdist_is_accepted(upload: Any, token: str) -> None:
    dist = builders.sdist(
        "samplepkg", "1.0", links={"samplepkg-1.0/docs/README": "../pyproject.toml"}
    )
    assert upload(dist, token).status_code == 200


def test_unsupported_compression(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0")
    data, fields = _rezip(dist, {"samplepkg/x.py": b"x=1\n"}, compress=zipfile.ZIP_BZIP2)
    response = upload(dist, token, fields=fields, data=data)
    assert_refused(
        response, 400, "Invalid distribution file. File does not use a supported compression type"
    )


def test_sdist_with_two_top_level_dirs(upload: Any, token: str) -> None:
    dist = builders.sdist("samplepkg", "1.0", extra_members={"other/x.py": b"x=1\n"})
    response = upload(dist, token)
    assert_refused(
        response,
        400,
        "Invalid distribution file. Incorrect number of top-level directories in sdist",
    )


def test_oversize_file(upload: Any, token: str, bastion_settings: Any) -> None:
    bastion_settings(max_file_size=1000)
    dist = builders.wheel("samplepkg", "1.0", code="x = '" + "a" * 5000 + "'\n")
    response = upload(dist, token)
    assert_refused(response, 400, "File too large. Limit for project 'samplepkg' is 0 MB.")
    assert_nothing_written()


def test_admin_raised_limit_allows_larger_file(
    upload: Any, token: str, bastion_settings: Any
) -> None:
    assert upload(builders.wheel("samplepkg", "1.0"), token).status_code == 200
    bastion_settings(max_file_size=1000)
    Project.objects.filter(normalized_name="samplepkg").update(upload_limit=10 * 1024 * 1024)
    dist = builders.wheel("samplepkg", "1.1", code="x = '" + "a" * 5000 + "'\n")
    assert upload(dist, token).status_code == 200


def test_only_one_sdist_per_release(upload: Any, token: str) -> None:
    assert upload(builders.sdist("samplepkg", "1.0"), token).status_code == 200
    dist = builders.sdist("samplepkg", "1.0.0")
    response = upload(dist, token)
    assert_refused(response, 400, "Only one sdist may be uploaded per release.")
    assert File.objects.count() == 1


def test_description_must_render(upload: Any, token: str) -> None:
    bad = "Title\n=====\n\n.. raw:: html\n\n   <script>x</script>\n\n`broken <\n"
    dist = builders.wheel("samplepkg", "1.0", description=bad)
    response = upload(dist, token)
    assert_refused(response, 400, "The description failed to render for 'text/x-rst'.")


def test_not_owner_cannot_upload(
    upload: Any, user: Any, token: str, make_user: Any, make_token: Any
) -> None:
    assert upload(builders.wheel("samplepkg", "1.0"), token).status_code == 200
    mallory = make_user("mallory")
    response = upload(builders.wheel("samplepkg", "1.1"), make_token(mallory))
    assert_refused(response, 403, "The given token isn't allowed to upload to project 'samplepkg'.")
    assert File.objects.count() == 1


def test_project_scoped_token_cannot_create_projects(
    upload: Any, user: Any, token: str, make_token: Any
) -> None:
    assert upload(builders.wheel("samplepkg", "1.0"), token).status_code == 200
    scoped = make_token(user, projects=["samplepkg"])
    assert upload(builders.wheel("samplepkg", "1.1"), scoped).status_code == 200
    response = upload(builders.wheel("another", "1.0"), scoped)
    assert_refused(
        response, 403, "Invalid API Token: project-scoped token cannot create new projects"
    )
    assert not Project.objects.filter(normalized_name="another").exists()


def test_expired_token(upload: Any, user: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from bastion.tokens.models import Token
    from bastion.tokens.services import create_token

    raw, token = create_token(user, "soon", expires=timezone.now() + timedelta(seconds=60))
    # Move the server-side window into the past as if time had passed.
    past = int((timezone.now() - timedelta(seconds=1)).timestamp())
    Token.objects.filter(pk=token.pk).update(caveats=[[3, user.pk], [0, past, 0]])
    response = upload(builders.wheel("samplepkg", "1.0"), raw)
    assert_refused(response, 403, "Invalid API Token: token is expired")


def test_legacy_without_slash_redirects(client: Any) -> None:
    response = client.post("/legacy")
    assert response.status_code == 308
    assert response["Location"] == "/legacy/"


def test_request_larger_than_any_limit_is_refused_before_reading(
    upload: Any, token: str, bastion_settings: Any
) -> None:
    bastion_settings(max_file_size=1024)
    import os

    dist = builders.wheel(
        "samplepkg", "1.0", extra_members={"samplepkg/blob.bin": os.urandom(17 * 1024 * 1024)}
    )
    response = upload(dist, token)
    assert response.status_code == 413
    assert "File too large." in response.reason_phrase
    assert_nothing_written()


def test_typosquat_of_popular_project_refused(upload: Any, token: str) -> None:
    response = upload(builders.wheel("reqeusts", "1.0"), token)
    assert response.status_code == 400
    assert "The name 'reqeusts' is too similar to an existing project" in response.reason_phrase
    assert "requests" in response.reason_phrase
    assert not Project.objects.exists()
    assert_nothing_written()


def test_stdlib_name_refused(upload: Any, token: str) -> None:
    response = upload(builders.wheel("sqlite3", "1.0"), token)
    assert_refused(
        response,
        400,
        "The name 'sqlite3' isn't allowed (conflict with Python Standard Library module name).",
    )


def test_lookalike_of_a_local_project_refused(upload: Any, token: str) -> None:
    assert upload(builders.wheel("acme-internal-tools", "1.0"), token).status_code == 200
    response = upload(builders.wheel("acme-internal-tool", "1.0"), token)
    assert response.status_code == 400
    assert "too similar to an existing project" in response.reason_phrase
    assert "acme-internal-tools" in response.reason_phrase


def test_plugin_family_names_are_accepted(upload: Any, token: str) -> None:
    assert upload(builders.wheel("django-acme-widgets", "1.0"), token).status_code == 200
    assert upload(builders.wheel("types-acmelib", "1.0"), token).status_code == 200


def test_exact_popular_name_is_reserved_unless_the_operator_allows_it(
    upload: Any, token: str, bastion_settings: Any
) -> None:
    response = upload(builders.wheel("requests", "99.0"), token)
    assert response.status_code == 400
    assert "reserved for the protected project 'requests'" in response.reason_phrase
    bastion_settings(reserve_protected_names=False)
    assert upload(builders.wheel("requests", "99.0"), token).status_code == 200


def test_namespace_belongs_to_its_owner(
    upload: Any, user: Any, token: str, make_user: Any, make_token: Any
) -> None:
    from bastion.names.models import Namespace

    Namespace.objects.create(prefix="acme", owner=user)
    assert upload(builders.wheel("acme-billing", "1.0"), token).status_code == 200
    mallory = make_user("mallory")
    response = upload(builders.wheel("acme-payments", "1.0"), make_token(mallory))
    assert response.status_code == 400
    assert "the namespace 'acme' belongs to another owner" in response.reason_phrase


def test_license_file_in_old_metadata_version_is_tolerated(upload: Any, token: str) -> None:
    """setuptools wrote License-File into Metadata-Version 2.1 files for years; PyPI and the
    installers accept them, so does bastion (the field is dropped from the stored metadata)."""
    meta = builders.metadata_text("samplepkg", "1.0", extra="License-File: LICENSE")
    dist = builders.wheel("samplepkg", "1.0", meta=meta)
    response = upload(dist, token)
    assert response.status_code == 200, response.reason_phrase
    assert Release.objects.get().metadata_version == "2.1"


def test_quoted_author_names_with_commas(upload: Any, token: str) -> None:
    author = '"Guido van Rossum, Jukka Lehtosalo, Lukasz Langa" <levkivskyi@gmail.com>'
    meta = builders.metadata_text("samplepkg", "1.0").replace(
        "Author-email: Test Author <author@example.com>", f"Author-email: {author}"
    )
    dist = builders.wheel("samplepkg", "1.0", meta=meta)
    fields = dist.form(author_email=author)
    response = upload(dist, token, fields=fields)
    assert response.status_code == 200, response.reason_phrase


def test_popular_name_is_not_a_lookalike_of_a_local_project(
    upload: Any, token: str, bastion_settings: Any
) -> None:
    bastion_settings(reserve_protected_names=False)
    assert upload(builders.wheel("gunicorn", "99.0"), token).status_code == 200
    assert upload(builders.wheel("uvicorn", "99.0"), token).status_code == 200


def test_license_file_must_exist_in_the_distribution(upload: Any, token: str) -> None:
    meta = (
        builders.metadata_text("samplepkg", "1.0").replace(
            "Metadata-Version: 2.1", "Metadata-Version: 2.4"
        )
        + ""
    )
    meta = meta.replace("Classifier:", "License-File: LICENSE\nClassifier:", 1)
    dist = builders.wheel("samplepkg", "1.0", meta=meta)
    fields = dist.form(metadata_version="2.4", license_file="LICENSE")
    response = upload(dist, token, fields=fields)
    assert_refused(
        response,
        400,
        "License-File LICENSE does not exist in distribution file samplepkg-1.0-py3-none-any.whl at samplepkg-1.0.dist-info/licenses/LICENSE",
    )
    licensed = builders.wheel(
        "samplepkg",
        "1.0",
        meta=meta,
        extra_members={"samplepkg-1.0.dist-info/licenses/LICENSE": b"MIT\n"},
    )
    assert (
        upload(
            licensed, token, fields=licensed.form(metadata_version="2.4", license_file="LICENSE")
        ).status_code
        == 200
    )


@pytest.mark.django_db
def test_a_verdict_for_a_file_deleted_while_waiting_is_skipped() -> None:
    """A release or project deleted while its file waited for the scanner: nothing to decide."""
    from bastion.upload.tasks import apply_verdict

    assert apply_verdict(987654, "malicious", 1.0, []) == "skipped"


def test_project_creation_is_rate_limited_per_user(
    upload: Any, token: str, bastion_settings: Any
) -> None:
    bastion_settings(rate_limits={"project-create.user": "2/h"})
    for name in ("samplepkg", "samplepkg-two"):
        assert upload(builders.wheel(name, "1.0"), token).status_code == 200
    # A new version of an existing project is not a new project.
    assert upload(builders.wheel("samplepkg", "1.1"), token).status_code == 200
    response = upload(builders.wheel("samplepkg-three", "1.0"), token)
    assert_refused(response, 429, "Too many new projects created")
    assert 0 < int(response["Retry-After"]) <= 3600
    assert not Project.objects.filter(normalized_name="samplepkg-three").exists()
    assert File.objects.count() == 3


def test_uploads_are_rate_limited_per_user_and_address(
    upload: Any, token: str, bastion_settings: Any, make_user: Any, make_token: Any
) -> None:
    bastion_settings(rate_limits={"upload.user": "2/h", "upload.ip": "3/h"})
    assert upload(builders.wheel("samplepkg", "1.0"), token).status_code == 200
    assert upload(builders.wheel("samplepkg", "1.1"), token).status_code == 200
    response = upload(builders.wheel("samplepkg", "1.2"), token)
    assert_refused(response, 429, "Too many uploads")
    assert int(response["Retry-After"]) > 0
    assert File.objects.count() == 2
    # Another user from the same address has their own user window, but the address's is full
    # after one more attempt.
    other = make_token(make_user("bob"))
    assert upload(builders.wheel("samplepkg-bob", "1.0"), other).status_code == 200
    assert_refused(upload(builders.wheel("samplepkg-bob", "1.1"), other), 429, "Too many uploads")
    assert File.objects.count() == 3


def test_release_keeps_the_version_as_typed(upload: Any, token: str, client: Any) -> None:
    """PyPI shows a version as its author wrote it; the canonical form identifies the release."""
    dist = builders.wheel(
        "samplepkg", "1.0.0rc1", meta=builders.metadata_text("samplepkg", "1.0.0-RC1")
    )
    response = upload(dist, token, fields=dist.form(version="1.0.0-RC1"))
    assert response.status_code == 200, response.reason_phrase
    release = Release.objects.get(project__normalized_name="samplepkg")
    assert release.version == "1.0.0-RC1"
    assert client.get("/pypi/samplepkg/json").json()["info"]["version"] == "1.0.0-RC1"
    # Any spelling finds it.
    assert client.get("/pypi/samplepkg/1.0.0rc1/json").status_code == 200


def test_metadata_with_a_nul_character_is_refused(upload: Any, token: str) -> None:
    meta = builders.metadata_text("samplepkg", "1.0").replace(
        "A test project", "A test\x00project", 1
    )
    dist = builders.wheel("samplepkg", "1.0", meta=meta)
    response = upload(dist, token, fields=dist.form(summary=None))
    assert_refused(response, 400, "The metadata inside the file contains a NUL character.")
    assert_nothing_written()
