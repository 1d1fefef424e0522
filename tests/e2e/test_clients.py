"""End to end with the real clients: publish with twine and uv, install with pip and uv.

Two small real projects are built here with setuptools: ``bastion-e2e-alpha`` (a wheel and an
sdist, published with twine) and ``bastion-e2e-beta`` (versions 1.0 and 2.0, depending on alpha,
published with ``uv publish``). Each is installed into a fresh virtual environment using only
``--index-url`` and imported.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.e2e.conftest import BIN, LiveIndex, client_env

pytestmark = pytest.mark.e2e


def build_project(
    root: Path, name: str, version: str, *, requires: list[str] | None = None
) -> list[Path]:
    module = name.replace("-", "_")
    src = root / f"{name}-{version}"
    (src / module).mkdir(parents=True)
    (src / module / "__init__.py").write_text(f'VERSION = "{version}"\n')
    deps = ", ".join(f'"{r}"' for r in requires or [])
    (src / "README.md").write_text(f"# {name}\n\nA project built by bastion's end-to-end test.\n")
    (src / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [build-system]
            requires = ["setuptools>=61"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "{name}"
            version = "{version}"
            description = "bastion end-to-end test project"
            readme = "README.md"
            requires-python = ">=3.8"
            dependencies = [{deps}]

            [tool.setuptools]
            packages = ["{module}"]
            """
        )
    )
    out = root / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--no-isolation",
            "--sdist",
            "--wheel",
            "--outdir",
            str(out),
            str(src),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return sorted(p for p in out.iterdir() if p.name.startswith(module + "-" + version))


@pytest.fixture(scope="module")
def published(live_index: LiveIndex, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    token = live_index.publisher_token("publisher")
    assert token.startswith("bastion-")
    root = tmp_path_factory.mktemp("projects")
    home = tmp_path_factory.mktemp("home")
    env = client_env(home)

    alpha = build_project(root, "bastion-e2e-alpha", "1.0")
    assert {p.suffix for p in alpha} == {".whl", ".gz"}
    twine = subprocess.run(
        [
            str(BIN / "twine"),
            "upload",
            "--non-interactive",
            "--repository-url",
            live_index.url + "/legacy/",
            "-u",
            "__token__",
            "-p",
            token,
            *map(str, alpha),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert twine.returncode == 0, twine.stdout + twine.stderr

    beta = build_project(root, "bastion-e2e-beta", "1.0", requires=["bastion-e2e-alpha>=1.0"])
    beta += build_project(root, "bastion-e2e-beta", "2.0", requires=["bastion-e2e-alpha>=1.0"])
    uv = subprocess.run(
        [
            str(BIN / "uv"),
            "publish",
            "--publish-url",
            live_index.url + "/legacy/",
            "--username",
            "__token__",
            "--password",
            token,
            *map(str, beta),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert uv.returncode == 0, uv.stdout + uv.stderr
    live_index.wait_published("bastion-e2e-alpha", "1.0", 2)
    live_index.wait_published("bastion-e2e-beta", "1.0", 2)
    live_index.wait_published("bastion-e2e-beta", "2.0", 2)
    return {"token": token, "env": env, "home": home, "alpha": alpha, "beta": beta}


def _venv(path: Path, env: dict[str, str]) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, env=env, timeout=120)
    return path / "bin" / "python"


def _pip_install(
    python: Path, index: str, env: dict[str, str], *reqs: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--no-cache-dir",
            "--index-url",
            index + "/simple/",
            *reqs,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _version_in(python: Path, module: str, env: dict[str, str]) -> str:
    out = subprocess.run(
        [str(python), "-c", f"import {module}; print({module}.VERSION)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout.strip()


def test_pip_installs_both_projects(
    live_index: LiveIndex, published: dict[str, object], tmp_path: Path
) -> None:
    env = published["env"]
    assert isinstance(env, dict)
    python = _venv(tmp_path / "venv", env)
    result = _pip_install(python, live_index.url, env, "bastion-e2e-beta")
    assert result.returncode == 0, result.stdout + result.stderr
    assert _version_in(python, "bastion_e2e_beta", env) == "2.0"
    assert _version_in(python, "bastion_e2e_alpha", env) == "1.0"


def test_uv_installs_both_projects(
    live_index: LiveIndex, published: dict[str, object], tmp_path: Path
) -> None:
    env = published["env"]
    assert isinstance(env, dict)
    venv = tmp_path / "uvenv"
    subprocess.run(
        [str(BIN / "uv"), "venv", "--python", sys.executable, str(venv)],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    result = subprocess.run(
        [
            str(BIN / "uv"),
            "pip",
            "install",
            "--no-cache",
            "--python",
            str(venv / "bin" / "python"),
            "--index-url",
            live_index.url + "/simple/",
            "bastion-e2e-beta==1.0",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert _version_in(venv / "bin" / "python", "bastion_e2e_beta", env) == "1.0"
    assert _version_in(venv / "bin" / "python", "bastion_e2e_alpha", env) == "1.0"


def test_pip_download_gets_the_published_bytes(
    live_index: LiveIndex, published: dict[str, object], tmp_path: Path
) -> None:
    env = published["env"]
    assert isinstance(env, dict)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-cache-dir",
            "--index-url",
            live_index.url + "/simple/",
            "-d",
            str(tmp_path),
            "bastion-e2e-alpha",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (downloaded,) = list(tmp_path.iterdir())
    originals = {p.name: p for p in published["alpha"]}  # type: ignore[attr-defined]
    assert downloaded.read_bytes() == originals[downloaded.name].read_bytes()


def test_twine_reupload_of_identical_file_succeeds_and_skip_existing(
    live_index: LiveIndex, published: dict[str, object]
) -> None:
    env = published["env"]
    alpha = published["alpha"]
    result = subprocess.run(
        [
            str(BIN / "twine"),
            "upload",
            "--non-interactive",
            "--repository-url",
            live_index.url + "/legacy/",
            "-u",
            "__token__",
            "-p",
            str(published["token"]),
            *map(str, alpha),
        ],  # type: ignore[call-overload]
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_twine_shows_the_reason_for_a_refusal(
    live_index: LiveIndex, published: dict[str, object], tmp_path: Path
) -> None:
    env = published["env"]
    assert isinstance(env, dict)
    wheel = next(p for p in published["alpha"] if p.suffix == ".whl")  # type: ignore[attr-defined]
    result = subprocess.run(
        [
            str(BIN / "twine"),
            "upload",
            "--non-interactive",
            "--repository-url",
            live_index.url + "/legacy/",
            "-u",
            "__token__",
            "-p",
            "bastion-not-a-real-token",
            str(wheel),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "Invalid API Token" in result.stdout + result.stderr


def test_yanked_version_is_skipped_unless_pinned(
    live_index: LiveIndex, published: dict[str, object], tmp_path: Path
) -> None:
    env = published["env"]
    assert isinstance(env, dict)
    live_index.bastion("yank", "bastion-e2e-beta", "2.0", "--reason", "broken build")
    status, doc = live_index.get_json("/pypi/bastion-e2e-beta/2.0/json")
    assert status == 200 and doc["info"]["yanked"] is True  # type: ignore[index]
    python = _venv(tmp_path / "venv", env)
    result = _pip_install(python, live_index.url, env, "bastion-e2e-beta")
    assert result.returncode == 0, result.stdout + result.stderr
    assert _version_in(python, "bastion_e2e_beta", env) == "1.0"
    pinned = _pip_install(python, live_index.url, env, "bastion-e2e-beta==2.0")
    assert pinned.returncode == 0, pinned.stdout + pinned.stderr
    assert "broken build" in pinned.stdout + pinned.stderr
    assert _version_in(python, "bastion_e2e_beta", env) == "2.0"
    live_index.bastion("yank", "bastion-e2e-beta", "2.0", "--undo")


def test_served_hashes_match_served_bytes(
    live_index: LiveIndex, published: dict[str, object]
) -> None:
    import urllib.request

    req = urllib.request.Request(
        live_index.url + "/simple/bastion-e2e-alpha/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    )
    with urllib.request.urlopen(req) as resp:
        import json

        doc = json.loads(resp.read())
    assert len(doc["files"]) == 2
    for f in doc["files"]:
        with urllib.request.urlopen(live_index.url + f["url"]) as resp:
            body = resp.read()
            assert int(resp.headers["Content-Length"]) == len(body) == f["size"]
        assert hashlib.sha256(body).hexdigest() == f["hashes"]["sha256"]
        if f["core-metadata"]:
            with urllib.request.urlopen(live_index.url + f["url"] + ".metadata") as resp:
                meta = resp.read()
            assert hashlib.sha256(meta).hexdigest() == f["core-metadata"]["sha256"]
            assert b"Name: bastion-e2e-alpha" in meta
