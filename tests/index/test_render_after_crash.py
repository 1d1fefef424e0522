"""A committed change always gets its pages rendered, even when the process that made it dies
between the commit and the rendering: the render task was queued in the change's own
transaction (a row of the same database), so the next ``bastion worker`` renders it.

Real processes, the real task queue (``django_tasks_db``), SQLite in a data folder of the test's
own; the process that changes the project is killed by ``os._exit`` at the commit, before its
own after-commit rendering runs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent

SETUP = """
import django; django.setup()
from bastion.accounts.models import User
from bastion.packages import services as packages
from bastion.packages.models import Release
owner = User.objects.create_user("owner", "owner@example.com", "a password long enough 1")
project = packages.create_project("Crash-Demo", owner)
Release.objects.create(project=project, version="1.0", canonical_version="1")
"""

# The first after-commit callback of the transaction ends the process, as a crash (a kill, a
# lost machine) after the commit would: the rendering registered after it never runs.
CRASH = """
import os
import django; django.setup()
from django.db import transaction
from bastion.packages import services as packages
project = packages.get_project("crash-demo")
release = packages.find_release(project, "1.0")
with transaction.atomic():
    transaction.on_commit(lambda: (print(release.project.last_serial, flush=True), os._exit(0)))
    packages.yank(release, reason="broken build", actor=None)
raise SystemExit("not reached: the process ends at the commit")
"""


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BASTION_", "DJANGO_"))}
    env.update(
        {
            "BASTION_DATA_DIR": str(data),
            "BASTION_SECRET_KEY": "test-secret-key-not-for-production-0123456789",
            "DJANGO_SETTINGS_MODULE": "bastion.settings",
        }
    )
    return env  # the task backend is bastion's default: the database queue


def _run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _page_serial(data: Path) -> str | None:
    page = data / "public" / "simple" / "crash-demo" / "index.html"
    if not page.exists():
        return None
    found = re.search(r"<!--SERIAL (\d+)-->", page.read_text())
    return found.group(1) if found else ""


def test_a_render_lost_at_the_commit_is_done_by_the_worker(tmp_path: Path) -> None:
    env = _env(tmp_path)
    _run(env, str(BIN / "bastion"), "migrate")
    _run(env, sys.executable, "-c", SETUP)
    assert _page_serial(tmp_path) is None  # a new project shows nothing until it changes

    serial = _run(env, sys.executable, "-c", CRASH).strip()
    assert serial.isdigit()
    # Committed (the serial is the database's) but not rendered: the process died first.
    assert _page_serial(tmp_path) is None

    _run(env, str(BIN / "bastion"), "worker", "--batch", "--nice", "0")
    assert _page_serial(tmp_path) == serial

    # The task is idempotent: run again (the same change queued twice), nothing changes.
    page = tmp_path / "public" / "simple" / "crash-demo" / "index.html"
    before = page.stat().st_ino
    _run(env, sys.executable, "-c", _RENDER_AGAIN)
    assert page.stat().st_ino == before


_RENDER_AGAIN = """
import django; django.setup()
from bastion.index.tasks import render_pages
assert render_pages.call("crash-demo") == "current"
"""
