"""Where the commands find the index: the real ``bastion`` command, run from other folders.

A command run from the wrong folder must say which folder it looked at and how to point it at
the index (exit 2, one line, no traceback), never create a new, empty ``./data`` there.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bastion.cli import build_parser
from bastion.cli_support import CREATES_INDEX, WITHOUT_INDEX

BIN = Path(sys.executable).parent

#: Every command that needs an existing index, with arguments it would accept.
NEEDS_INDEX: dict[str, list[str]] = {
    "check": ["check"],
    "worker": ["worker", "--batch", "--nice", "0"],
    "rescan": ["rescan"],
    "user": ["user", "create", "alice", "--email", "alice@example.com", "--password-stdin"],
    "token": ["token", "create", "alice"],
    "yank": ["yank", "demo", "1.0", "--reason", "broken"],
    "release": ["release", "demo-1.0-py3-none-any.whl"],
    "hold": ["hold", "demo-1.0-py3-none-any.whl"],
    "files": ["files"],
    "render": ["render"],
}


def bastion(cwd: Path, *args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """The real command, run in ``cwd`` with no ``BASTION_*`` variable but ``variables``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BASTION_", "DJANGO_"))}
    env.update(variables)
    return subprocess.run(
        [str(BIN / "bastion"), *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def test_every_command_either_needs_an_index_or_is_listed_as_not_needing_one() -> None:
    assert _commands(build_parser()) == set(NEEDS_INDEX) | WITHOUT_INDEX | CREATES_INDEX


def test_a_command_run_from_another_folder_says_where_it_looked_and_creates_nothing(
    tmp_path: Path,
) -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:
        done = dict(
            zip(
                NEEDS_INDEX,
                pool.map(lambda args: bastion(tmp_path, *args), NEEDS_INDEX.values()),
                strict=True,
            )
        )
    for command, result in done.items():
        assert result.returncode == 2, (command, result.stderr)
        assert result.stderr.splitlines() == [
            f"bastion {command}: no bastion index at {tmp_path / 'data'} (no such folder); "
            "set BASTION_DATA_DIR to your index's data folder (the default is ./data under the "
            "folder you run bastion in), or create an index there with `bastion migrate`"
        ], command
        assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []  # no ./data left behind


def test_the_configured_data_folder_is_found_from_anywhere(tmp_path: Path) -> None:
    home, elsewhere = tmp_path / "index", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    created = bastion(home, "migrate")
    assert created.returncode == 0, created.stderr
    data = home / "data"
    assert (data / "bastion.sqlite3").is_file()
    assert (data / "secret_key").stat().st_mode & 0o777 == 0o600

    lost = bastion(elsewhere, "files")
    assert lost.returncode == 2
    assert f"no bastion index at {elsewhere / 'data'}" in lost.stderr
    found = bastion(elsewhere, "files", BASTION_DATA_DIR=str(data))
    assert found.returncode == 0, found.stderr
    assert not (elsewhere / "data").exists()


def test_a_data_folder_without_a_database_is_not_made_into_one(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "secret_key").write_text("k" * 50)
    done = bastion(tmp_path, "token", "list", "alice")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"bastion token: no bastion index at {data} (no database {data / 'bastion.sqlite3'}); "
        "set BASTION_DATA_DIR to your index's data folder (the default is ./data under the "
        "folder you run bastion in), or create an index there with `bastion migrate`"
    ]
    assert sorted(p.name for p in data.iterdir()) == ["secret_key"]


def test_reading_the_settings_creates_no_folder(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BASTION_", "DJANGO_"))}
    env["DJANGO_SETTINGS_MODULE"] = "bastion.settings"
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('ready')"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.strip() == "ready", done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_database_without_bastion_s_tables_is_named(tmp_path: Path) -> None:
    from tests.e2e.conftest import _database_url

    url = _database_url()  # a new, empty PostgreSQL database on the PostgreSQL pass
    if url is None:
        pytest.skip("needs PostgreSQL (BASTION_DATABASE_URL): SQLite is covered above")
    (tmp_path / "data").mkdir()
    done = bastion(tmp_path, "files", BASTION_DATABASE_URL=url, BASTION_SECRET_KEY="k" * 50)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"bastion files: the database of the index at {tmp_path / 'data'} has no tables yet; "
        "run `bastion migrate` (or `bastion serve`) first"
    ]
