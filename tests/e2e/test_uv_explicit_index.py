"""docs/installing.md's uv recipe for depending on PyPI packages, against a live bastion.

A private name is pinned to bastion through an explicit ``[[tool.uv.index]]`` and
``[tool.uv.sources]``; a stand-in for PyPI (a local index, the default one) offers a higher
version of the same name, as an attacker would. ``uv lock`` must take the private name from
bastion, even told to take the best match across indexes. The same project with bastion as a plain extra index and ``unsafe-best-match`` takes
the stand-in's version: the control that shows the stand-in is consulted at all. The upload
itself uses docs/publishing.md's uv project recipe (``uv publish --index bastion --token``).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from tests import builders
from tests.e2e.conftest import BIN, LiveIndex, client_env

pytestmark = pytest.mark.e2e

PRIVATE = "bastion-e2e-private"


def project(root: Path, index_url: str, *, pinned: bool) -> Path:
    """A uv project depending on the private name; pinned to bastion, or bastion only an
    extra index."""
    root.mkdir(parents=True)
    index = f"""
        [[tool.uv.index]]
        name = "bastion"
        url = "{index_url}/simple/"
        publish-url = "{index_url}/legacy/"
        """
    if pinned:
        index += f"""
        explicit = true

        [tool.uv.sources]
        {PRIVATE} = {{ index = "bastion" }}
        """
    (root / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [project]
            name = "consumer"
            version = "0.1.0"
            requires-python = ">=3.11"
            dependencies = ["{PRIVATE}>=1.0"]
            """
        )
        + textwrap.dedent(index)
    )
    return root


def stand_in_pypi(root: Path) -> str:
    """A local simple index (the default index of the test) offering the private name at 9.0."""
    wheel = builders.wheel(PRIVATE, "9.0")
    files = root / "files"
    files.mkdir(parents=True)
    (files / wheel.filename).write_bytes(wheel.data)
    page = root / "simple" / PRIVATE
    page.mkdir(parents=True)
    (page / "index.html").write_text(
        f'<!DOCTYPE html><html><body><a href="{(files / wheel.filename).as_uri()}">'
        f"{wheel.filename}</a></body></html>\n"
    )
    return (root / "simple").as_uri() + "/"


def locked_version(project_dir: Path, env: dict[str, str], *extra: str) -> tuple[str, str]:
    """The private name's locked version and index after a fresh ``uv lock``."""
    (project_dir / "uv.lock").unlink(missing_ok=True)
    done = subprocess.run(
        [str(BIN / "uv"), "lock", "--python", sys.executable, *extra],
        cwd=project_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lock = tomllib.loads((project_dir / "uv.lock").read_text())
    (entry,) = [p for p in lock["package"] if p["name"] == PRIVATE]
    return entry["version"], entry["source"].get("registry", "")


def test_a_name_pinned_to_an_explicit_bastion_index_never_comes_from_the_default_index(
    live_index: LiveIndex, tmp_path: Path
) -> None:
    env = client_env(tmp_path / "home")
    # The project's pyproject.toml is the configuration under test (HOME is empty, so no user
    # uv.toml is found either).
    del env["UV_NO_CONFIG"]
    env["UV_DEFAULT_INDEX"] = stand_in_pypi(tmp_path / "pypi")
    pinned = project(tmp_path / "pinned", live_index.url, pinned=True)

    # Publish 1.0 to bastion with the publishing recipe: the project's named index.
    token = live_index.publisher_token("uvrecipe")
    dist = builders.wheel(PRIVATE, "1.0")
    (pinned / "dist").mkdir()
    (pinned / "dist" / dist.filename).write_bytes(dist.data)
    published = subprocess.run(
        [str(BIN / "uv"), "publish", "--index", "bastion", "--token", token, "dist/*"],
        cwd=pinned,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert published.returncode == 0, published.stdout + published.stderr
    live_index.wait_published(PRIVATE, "1.0", 1)

    assert locked_version(pinned, env) == ("1.0", f"{live_index.url}/simple/")
    # The pin holds whatever the strategy across indexes.
    assert locked_version(pinned, env, "--index-strategy", "unsafe-best-match") == (
        "1.0",
        f"{live_index.url}/simple/",
    )

    # The control: bastion as a plain extra index, best match across indexes, takes 9.0.
    loose = project(tmp_path / "loose", live_index.url, pinned=False)
    version, _registry = locked_version(loose, env, "--index-strategy", "unsafe-best-match")
    assert version == "9.0"
