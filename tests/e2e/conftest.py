"""A live bastion (``bastion serve``) on a free loopback port, with its own data folder and,
on PostgreSQL runs, its own database."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def client_env(home: Path) -> dict[str, str]:
    """An environment for pip, uv and twine that knows nothing but what the test passes."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("PIP_", "UV_", "TWINE_", "PYTHON", "VIRTUAL_ENV", "DJANGO_", "BASTION_")
        )
    }
    env.update(
        {
            "HOME": str(home),
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "UV_NO_CONFIG": "1",
            "UV_CACHE_DIR": str(home / "uv-cache"),
            "UV_PYTHON_DOWNLOADS": "never",
            "PATH": f"{BIN}:{env.get('PATH', '/usr/bin:/bin')}",
        }
    )
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _database_url() -> str | None:
    base = os.environ.get("BASTION_DATABASE_URL")
    if not base or not base.startswith("postgres"):
        return None
    import psycopg

    name = f"e2e_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return base.rsplit("/", 1)[0] + "/" + name


PUBLISHER_PASSWORD = "e2e password that is long enough"


@dataclass
class LiveIndex:
    url: str
    data_dir: Path
    env: dict[str, str]

    def bastion(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "bastion"), *args],
            env=self.env,
            input=stdin,
            text=True,
            capture_output=True,
            timeout=120,
            check=True,
        )

    def publisher_token(self, name: str) -> str:
        """Create user ``name`` (with TOTP, as uploading requires 2FA) and an API token for it,
        through the command line as an operator would; return the token."""
        self.bastion(
            "user",
            "create",
            name,
            "--email",
            f"{name}@example.com",
            "--password-stdin",
            "--with-totp",
            stdin=PUBLISHER_PASSWORD + "\n",
        )
        return self.bastion("token", "create", name).stdout.strip()

    def get_json(self, path: str) -> tuple[int, dict[str, object]]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, {}

    def wait_published(self, name: str, version: str, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, doc = self.get_json(f"/pypi/{name}/{version}/json")
            if status == 200 and len(doc.get("urls", [])) >= count:  # type: ignore[arg-type]
                return
            time.sleep(0.2)
        raise AssertionError(f"{name} {version} was not published within {timeout}s")


@contextlib.contextmanager
def serving(data: Path, *serve_args: str, **settings: str) -> Iterator[LiveIndex]:
    """``bastion serve`` on a free loopback port over the data folder ``data``, with
    ``serve_args`` on its command line and ``settings`` (``BASTION_*`` variables) in its
    environment; stopped on leaving."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BASTION_", "DJANGO_"))}
    env["BASTION_DATA_DIR"] = str(data)
    env.update(settings)
    db = _database_url()
    if db:
        env["BASTION_DATABASE_URL"] = db
    log = open(data / "server.log", "w")  # noqa: SIM115 - closed with the server
    proc = subprocess.Popen(
        [str(BIN / "bastion"), "serve", "--port", str(port), *serve_args],
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/simple/", timeout=2):
                    break
            except OSError:  # URLError and the connection errors are OSErrors
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "bastion serve did not start:\n" + (data / "server.log").read_text()
                    ) from None
                time.sleep(0.2)
        yield LiveIndex(url, data, env)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def live_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveIndex]:
    with serving(tmp_path_factory.mktemp("bastion-data")) as index:
        yield index
