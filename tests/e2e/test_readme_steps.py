"""The README's first steps, typed as written into a fresh shell on a fresh clone.

The lines come from README.md's "First steps" block, so the test follows the README: change a
line there and this runs the new line. They run in order, in one new bash process, in a
``git clone`` of this repository (plus the working tree's uncommitted changes to tracked files)
in a temporary folder, with an environment that has no ``BASTION_*``, ``PIP_*`` or ``PYTHON*``
variable of the test run. The one change made to the lines: the port 8000 becomes a free one.

The suite never downloads (tests only talk to servers they start), so what the Makefile would
fetch from PyPI is provided beforehand, and this is what the test cannot exercise:

* ``.venv`` is created before the steps run, by ``python -m venv`` (the Makefile's own rule for
  it is skipped since it exists), with a ``.pth`` file that puts the test run's site-packages on
  its path: the Makefile's ``pip install -e .`` then finds every dependency (and twine, for the
  README's ``pip install twine``) already installed and installs only bastion itself, for real,
  from the clone. Downloading the dependencies from PyPI is not exercised.
* pip builds that editable install without build isolation (setuptools from the same path,
  the venv's own older setuptools removed),
  and any other request for an index fails at once (pip's index is a closed loopback port), so
  a line that would need the internet fails here instead of downloading.
* ``dist/`` holds a wheel of ``yourproject`` made by the test, standing for the reader's own.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

from tests import builders
from tests.e2e.conftest import _free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def first_steps(readme: str) -> list[str]:
    """The shell lines of the README's "First steps" code block, in order."""
    section = readme.split("\n## First steps\n", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert found, "README.md's First steps section has no ```sh block"
    return [line for line in found.group(1).splitlines() if line.strip()]


def fresh_clone(target: Path) -> None:
    """``git clone`` of this repository, with the working tree's changes to tracked files."""
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True, timeout=120)
    diff = subprocess.run(
        ["git", "-C", str(ROOT), "diff", "HEAD", "--binary"],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout
    if diff:
        subprocess.run(
            ["git", "-C", str(target), "apply", "--whitespace=nowarn"],
            input=diff,
            check=True,
            timeout=60,
        )


def offline_venv(venv: Path) -> None:
    """A venv whose path includes the test run's site-packages (see the module docstring)."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    # Python 3.11's venv seeds an old setuptools, which would shadow the test run's newer one
    # for the editable build (a real install builds in isolation with a current setuptools).
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "uninstall", "--quiet", "-y", "setuptools"],
        check=True,
        timeout=300,
    )
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "bastion-test-run.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")


def shell_env(home: Path) -> dict[str, str]:
    """A new shell's environment: nothing of the test run's bastion, pip or Python settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("BASTION_", "DJANGO_", "PIP_", "UV_", "TWINE_", "PYTHON", "VIRTUAL_ENV")
        )
    }
    # The test run's venv off PATH: `python3` is the machine's, as for a reader.
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env.update(
        HOME=str(home),
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_BUILD_ISOLATION="0",
        # No index but the one a line names: anything else is a closed port, refused at once.
        PIP_INDEX_URL="http://127.0.0.1:9/simple/",
        PIP_RETRIES="0",
        PIP_TIMEOUT="5",
    )
    return env


def script(lines: list[str], port: int) -> str:
    """The lines as a bash script that stops at the first that fails, naming it."""
    out = []
    for number, line in enumerate(lines, 1):
        line = line.replace("8000", str(port))
        out.append(line)
        if not line.split("#", 1)[0].rstrip().endswith("&"):
            quoted = line.replace("'", "'\\''")
            out.append(
                f"status=$?; if [ $status -ne 0 ]; then "
                f"echo 'README line {number} failed with '$status': {quoted}' >&2; exit 1; fi"
            )
    return "\n".join(out) + "\n"


def stop_group(pgid: int) -> None:
    """End every process the shell started (the background `make serve` and its children)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


def test_the_readme_first_steps_work_typed_in_order(tmp_path: Path) -> None:
    if os.environ.get("BASTION_DATABASE_URL"):
        pytest.skip("the README's steps use the default SQLite index: run on the SQLite pass")
    clone = tmp_path / "bastion"
    fresh_clone(clone)
    lines = first_steps((clone / "README.md").read_text())
    assert any("8000" in line for line in lines), "the README names no port to replace"
    offline_venv(clone / ".venv")
    dist = builders.wheel("yourproject", "0.1.0")
    (clone / "dist").mkdir()
    (clone / "dist" / dist.filename).write_bytes(dist.data)
    port = _free_port()
    (tmp_path / "first-steps.sh").write_text(script(lines, port))
    (tmp_path / "home").mkdir()

    log_path = tmp_path / "shell.log"
    with open(log_path, "wb") as log:
        shell = subprocess.Popen(
            ["bash", str(tmp_path / "first-steps.sh")],
            cwd=clone,
            env=shell_env(tmp_path / "home"),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            code = shell.wait(timeout=900)
        finally:
            stop_group(shell.pid)
    output = log_path.read_text(errors="replace")
    assert code == 0, output[-6000:]

    # The last line installed the uploaded project from the index into the clone's venv.
    installed = subprocess.run(
        [str(clone / ".venv" / "bin" / "python"), "-c", "import yourproject; print('ok')"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert installed.stdout.strip() == "ok", installed.stderr
    # The index kept its data in the clone's ./data, as the README says.
    assert f"bastion: data in {clone / 'data'}" in output
    assert (clone / "data" / "bastion.sqlite3").is_file()


def test_make_serve_installs_only_the_runtime(tmp_path: Path) -> None:
    """`make serve` installs bastion without its test extras (pytest, playwright, mypy...);
    `make test` adds them. Read from make's own plan (``make -n``), nothing is run."""
    venv = tmp_path / "venv"
    plans = {
        target: subprocess.run(
            ["make", "-n", "-C", str(ROOT), target, f"VENV={venv}"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        for target in ("serve", "test")
    }
    assert "pip install --quiet -e .\n" in plans["serve"]
    assert "[test]" not in plans["serve"]
    assert f"{venv}/bin/bastion serve --host 127.0.0.1 --port 8000" in plans["serve"]
    assert "pip install --quiet -e '.[test]'" in plans["test"]


def test_make_wait_stops_when_the_make_serve_it_waits_for_has_stopped(tmp_path: Path) -> None:
    """The README's `make wait PID=$!` after a `make serve &` that failed says so at once
    instead of waiting out its ten minutes."""
    ended = subprocess.Popen(["true"])
    ended.wait()
    done = subprocess.run(
        ["make", "-C", str(ROOT), "wait", f"PORT={_free_port()}", f"PID={ended.pid}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert f"wait: `make serve` (process {ended.pid}) has stopped; its output says why" in (
        done.stderr
    )
