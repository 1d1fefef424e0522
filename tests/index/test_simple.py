"""The simple API: PEP 503 HTML, PEP 691 JSON (validated against the PEP's schema), PEP 592,
PEP 658/714, PEP 700, ETags and 304s, redirects, and only published files."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import jsonschema
import pytest

from bastion.packages.models import File
from tests import builders

pytestmark = pytest.mark.django_db(transaction=True)
JSON = "application/vnd.pypi.simple.v1+json"

# The JSON schema given in PEP 691 for a project detail response, extended with the keys
# that PEPs 700, 714, 740 and 792 add.
DETAIL_SCHEMA = {
    "type": "object",
    "required": ["meta", "name", "files"],
    "properties": {
        "meta": {
            "type": "object",
            "required": ["api-version"],
            "properties": {"api-version": {"type": "string", "pattern": "^1\\.[0-9]+$"}},
        },
        "name": {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"},
        "versions": {"type": "array", "items": {"type": "string"}},
        "project-status": {"type": "object", "required": ["status"]},
        "files": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["filename", "url", "hashes"],
                "properties": {
                    "filename": {"type": "string"},
                    "url": {"type": "string"},
                    "hashes": {"type": "object", "additionalProperties": {"type": "string"}},
                    "requires-python": {"type": ["string", "null"]},
                    "dist-info-metadata": {"type": ["boolean", "object"]},
                    "core-metadata": {"type": ["boolean", "object"]},
                    "gpg-sig": {"type": "boolean"},
                    "yanked": {"type": ["boolean", "string"]},
                    "size": {"type": "integer", "minimum": 0},
                    "upload-time": {"type": "string", "pattern": "Z$"},
                },
            },
        },
    },
}
ROOT_SCHEMA = {
    "type": "object",
    "required": ["meta", "projects"],
    "properties": {
        "meta": {"type": "object", "required": ["api-version"]},
        "projects": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string"}},
            },
        },
    },
}


@pytest.fixture
def published(upload: Any, token: str) -> dict[str, builders.Dist]:
    dists = {
        "wheel": builders.wheel("Samplepkg.Pkg", "1.0"),
        "sdist": builders.sdist("Samplepkg.Pkg", "1.0"),
        "wheel2": builders.wheel("Samplepkg.Pkg", "2.0b1", requires_python=">=3.9,<4"),
    }
    for dist in dists.values():
        response = upload(dist, token)
        assert response.status_code == 200, response.reason_phrase
    return dists


def test_json_detail_follows_pep_691_and_700(
    client: Any, published: dict[str, builders.Dist]
) -> None:
    response = client.get("/simple/samplepkg-pkg/", HTTP_ACCEPT=JSON)
    assert response.status_code == 200
    assert response["Content-Type"] == JSON
    doc = json.loads(response.content)
    jsonschema.validate(doc, DETAIL_SCHEMA)
    assert doc["meta"]["api-version"] == "1.4"
    assert doc["versions"] == ["1.0", "2.0b1"]
    by_name = {f["filename"]: f for f in doc["files"]}
    wheel = by_name[published["wheel"].filename]
    assert wheel["size"] == len(published["wheel"].data)
    assert wheel["hashes"]["sha256"] == hashlib.sha256(published["wheel"].data).hexdigest()
    assert wheel["core-metadata"] == wheel["data-dist-info-metadata"]
    assert by_name[published["sdist"].filename]["core-metadata"] is False
    assert by_name[published["wheel2"].filename]["requires-python"] == ">=3.9,<4"


def test_metadata_file_hash_recomputed_from_what_is_served(
    client: Any, published: dict[str, builders.Dist]
) -> None:
    doc = json.loads(client.get("/simple/samplepkg-pkg/", HTTP_ACCEPT=JSON).content)
    for f in doc["files"]:
        body = b"".join(client.get(f["url"]).streaming_content)
        assert hashlib.sha256(body).hexdigest() == f["hashes"]["sha256"]
        if f["core-metadata"]:
            meta = b"".join(client.get(f["url"] + ".metadata").streaming_content)
            assert hashlib.sha256(meta).hexdigest() == f["core-metadata"]["sha256"]
            assert meta.startswith(b"Metadata-Version: 2.1")


def test_html_detail_pep_503_592_658_629(
    client: Any, published: dict[str, builders.Dist], user: Any
) -> None:
    from django.db import transaction

    from bastion.packages import services

    with transaction.atomic():
        release = services.find_release(services.get_project("samplepkg-pkg"), "1.0")  # type: ignore[arg-type]
        services.yank(release, reason="bad <build>", actor=user)  # type: ignore[arg-type]
    response = client.get("/simple/samplepkg-pkg/")
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert '<meta name="pypi:repository-version" content="1.4">' in html
    wheel = published["wheel"]
    digest = hashlib.sha256(wheel.data).hexdigest()
    assert f"#sha256={digest}" in html
    assert 'data-yanked="bad &lt;build&gt;"' in html
    assert 'data-core-metadata="sha256=' in html and 'data-dist-info-metadata="sha256=' in html
    assert 'data-requires-python="&gt;=3.9,&lt;4"' in html
    doc = json.loads(client.get("/simple/samplepkg-pkg/?format=" + JSON).content)
    yanked = {f["filename"]: f["yanked"] for f in doc["files"]}
    assert yanked[wheel.filename] == "bad <build>"
    assert yanked[published["wheel2"].filename] is False


def test_content_negotiation(client: Any, published: dict[str, builders.Dist]) -> None:
    def ctype(accept: str) -> str:
        return str(client.get("/simple/samplepkg-pkg/", HTTP_ACCEPT=accept)["Content-Type"])

    assert ctype(JSON) == JSON
    assert ctype("application/vnd.pypi.simple.v1+html") == "application/vnd.pypi.simple.v1+html"
    assert ctype("text/html").startswith("text/html")
    assert ctype(f"text/html;q=0.5, {JSON};q=0.9") == JSON
    assert ctype(f"{JSON};q=0.1, text/html").startswith("text/html")
    assert ctype("application/unknown").startswith("text/html")
    assert client.get("/simple/samplepkg-pkg/?format=application/nope").status_code == 406
    assert client.get("/simple/samplepkg-pkg/", HTTP_ACCEPT=JSON)["Vary"] == "Accept"


def test_etag_and_304(
    client: Any, published: dict[str, builders.Dist], upload: Any, token: str
) -> None:
    first = client.get("/simple/samplepkg-pkg/", HTTP_ACCEPT=JSON)
    etag = first["ETag"]
    again = client.get("/simple/samplepkg-pkg/", HTTP_ACCEPT=JSON, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    assert (
        client.get("/simple/samplepkg-pkg/", HTTP_IF_NONE_MATCH=etag).status_code == 200
    )  # HTML differs
    assert upload(builders.wheel("samplepkg-pkg", "3.0"), token).status_code == 200
    changed = client.get("/simple/samplepkg-pkg/", HTTP_ACCEPT=JSON, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert "samplepkg_pkg-3.0-py3-none-any.whl" in changed.content.decode()


def test_non_normalized_name_redirects(client: Any, published: dict[str, builders.Dist]) -> None:
    response = client.get("/simple/Samplepkg.Pkg/")
    assert response.status_code == 301
    assert response["Location"] == "/simple/samplepkg-pkg/"
    assert client.get("/simple/no-such-project/").status_code == 404


def test_root_index(client: Any, published: dict[str, builders.Dist]) -> None:
    doc = json.loads(client.get("/simple/", HTTP_ACCEPT=JSON).content)
    jsonschema.validate(doc, ROOT_SCHEMA)
    assert [p["name"] for p in doc["projects"]] == ["Samplepkg.Pkg"]
    assert (
        '<a href="/simple/samplepkg-pkg/">Samplepkg.Pkg</a>'
        in client.get("/simple/").content.decode()
    )


def test_only_published_files_are_listed_or_served(
    client: Any, published: dict[str, builders.Dist], user: Any
) -> None:
    from django.db import transaction

    from bastion.packages import services

    wheel = File.objects.get(filename=published["wheel"].filename)
    url = f"/packages/{wheel.storage_key}"
    assert client.get(url).status_code == 200
    with transaction.atomic():
        wheel.scan_verdict = "malicious"
        services.hold_file(wheel, reason="test")
    assert client.get(url).status_code == 404
    assert client.get(url + ".metadata").status_code == 404
    doc = json.loads(client.get("/simple/samplepkg-pkg/", HTTP_ACCEPT=JSON).content)
    assert wheel.filename not in [f["filename"] for f in doc["files"]]
    status = client.get("/pypi/samplepkg-pkg/1.0/json")
    assert wheel.filename not in status.content.decode()


def test_download_headers(client: Any, published: dict[str, builders.Dist]) -> None:
    wheel = File.objects.get(filename=published["wheel"].filename)
    response = client.get(f"/packages/{wheel.storage_key}")
    assert response["Content-Type"] == "application/zip"
    assert int(response["Content-Length"]) == len(published["wheel"].data)
    sdist = File.objects.get(filename=published["sdist"].filename)
    response = client.get(f"/packages/{sdist.storage_key}")
    assert response["Content-Type"] == "application/x-tar"
    assert "Content-Encoding" not in response
    assert client.get("/packages/../../etc/passwd").status_code == 404


def test_json_api(client: Any, published: dict[str, builders.Dist]) -> None:
    doc = json.loads(client.get("/pypi/samplepkg-pkg/json").content)
    assert doc["info"]["version"] == "1.0"  # pre-releases are not "latest"
    assert doc["info"]["name"] == "Samplepkg.Pkg"
    assert doc["vulnerabilities"] == []
    assert set(doc["releases"]) == {"1.0", "2.0b1"}
    wheel = next(f for f in doc["urls"] if f["packagetype"] == "bdist_wheel")
    for key in ("md5", "sha256", "blake2b_256"):
        assert key in wheel["digests"]
    assert (
        wheel["digests"]["blake2b_256"]
        == hashlib.blake2b(published["wheel"].data, digest_size=32).hexdigest()
    )
    release = json.loads(client.get("/pypi/samplepkg-pkg/2.0b1/json").content)
    assert release["info"]["version"] == "2.0b1"
    assert "releases" not in release
    assert client.get("/pypi/Samplepkg.Pkg/json").status_code == 301
    assert client.get("/pypi/samplepkg-pkg/9.9/json").status_code == 404
