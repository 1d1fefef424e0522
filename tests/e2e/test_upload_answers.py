"""What twine and ``uv publish`` show against a live ``bastion serve`` with its real worker:
a malicious file refused with the reason, and one answer for one file whichever client sends
it (a Metadata-Version 2.1 sdist listing License-File, as setuptools long wrote them)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import builders
from tests.e2e.conftest import BIN, LiveIndex, client_env, serving
from tests.upload.test_verdict import MALICIOUS_SETUP

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveIndex]:
    # A generous wait: the worker runs at the lowest CPU priority on a loaded test machine.
    with serving(tmp_path_factory.mktemp("data"), BASTION_UPLOAD_VERDICT_WAIT="60") as live:
        yield live


@pytest.fixture(scope="module")
def token(index: LiveIndex, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The publisher's token, once the worker runs: an upload waits for a verdict only while a
    worker holds a live lease, and ``bastion serve`` starts its worker beside the web process
    (the first uploads may come before it is up; they are answered "held until scanned")."""
    token = index.publisher_token("publisher")
    home = tmp_path_factory.mktemp("warm-up")
    warm_up = write(builders.wheel("warm-up", "1.0"), home / "dist")
    assert twine(index, token, warm_up, home).returncode == 0
    index.wait_published("warm-up", "1.0", 1)
    return token


def write(dist: builders.Dist, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / dist.filename
    path.write_bytes(dist.data)
    return path


def twine(index: LiveIndex, token: str, path: Path, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(BIN / "twine"),
            "upload",
            "--non-interactive",
            "--disable-progress-bar",
            "--repository-url",
            index.url + "/legacy/",
            "-u",
            "__token__",
            "-p",
            token,
            str(path),
        ],
        env=client_env(home),
        capture_output=True,
        text=True,
        timeout=180,
    )


def uv_publish(
    index: LiveIndex, token: str, path: Path, home: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(BIN / "uv"),
            "publish",
            "--publish-url",
            index.url + "/legacy/",
            "--username",
            "__token__",
            "--password",
            token,
            str(path),
        ],
        env=client_env(home),
        capture_output=True,
        text=True,
        timeout=180,
    )


def states(index: LiveIndex) -> dict[str, str]:
    out = index.bastion("files", "--json", "--state", "published", "--state", "held").stdout
    return {row["filename"]: row["state"] for row in json.loads(out)}


def test_twine_shows_why_a_malicious_file_is_refused(
    index: LiveIndex, token: str, tmp_path: Path
) -> None:
    dist = builders.sdist(
        "samplepkg", "1.0", extra_members={"samplepkg-1.0/setup.py": MALICIOUS_SETUP}
    )
    result = twine(index, token, write(dist, tmp_path / "dist"), tmp_path)
    shown = " ".join((result.stdout + result.stderr).split())  # twine wraps long lines
    assert result.returncode != 0, shown
    assert "400" in shown and "samplepkg-1.0.tar.gz malicious" in shown, shown
    assert "held for an administrator's review" in shown, shown
    # and which finding decided it, where and when that code runs
    assert "Deciding finding: exfiltration at samplepkg-1.0/setup.py:7 (runs install" in shown
    assert states(index)["samplepkg-1.0.tar.gz"] == "held"
    # A clean file: accepted, and already published when twine returns.
    wheel = builders.wheel("samplepkg", "1.0")
    result = twine(index, token, write(wheel, tmp_path / "dist"), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert states(index)[wheel.filename] == "published"


def test_uv_shows_why_a_malicious_file_is_refused(
    index: LiveIndex, token: str, tmp_path: Path
) -> None:
    dist = builders.sdist(
        "uvsample", "1.0", extra_members={"uvsample-1.0/setup.py": MALICIOUS_SETUP}
    )
    result = uv_publish(index, token, write(dist, tmp_path / "dist"), tmp_path)
    shown = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0, shown
    assert "uvsample-1.0.tar.gz malicious" in shown, shown


@pytest.mark.parametrize("client", ["twine", "uv"])
def test_a_21_sdist_listing_license_file_is_accepted_from_either_client(
    index: LiveIndex, token: str, tmp_path: Path, client: str
) -> None:
    """pluggy 1.5.0 and six 1.17.0 have this shape: uv sent License-File in the form and was
    refused ("license-file introduced in metadata version 2.4, not 2.1"), twine was not."""
    name = f"licensed-{client}"
    meta = builders.metadata_text(name, "1.0", extra="License-File: LICENSE")
    dist = builders.sdist(
        name, "1.0", meta=meta, extra_members={f"licensed_{client}-1.0/LICENSE": b"MIT\n"}
    )
    path = write(dist, tmp_path / "dist")
    send = twine if client == "twine" else uv_publish
    result = send(index, token, path, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert states(index)[dist.filename] == "published"
