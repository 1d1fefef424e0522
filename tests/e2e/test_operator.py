"""What an operator meets on a live index: one verdict on a project name from the command
line, the web page and an upload; the access log; a project whose files are all held; a
command whose reader goes away; ``bastion check --repair``'s exit status."""

from __future__ import annotations

import html
import os
import re
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import builders
from tests.conftest import basic
from tests.e2e.conftest import BIN, LiveIndex, serving

pytestmark = pytest.mark.e2e

EXISTING = "acme-widgets"
#: API tokens by user name, made when the module's index starts.
TOKENS: dict[str, str] = {}


def bare_env(**variables: str) -> dict[str, str]:
    """This process's environment without bastion's settings, plus ``variables``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BASTION_", "DJANGO_"))}
    env.update(variables)
    return env


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveIndex]:
    """A live index with its access log in ``<data>/access.log``, a publisher (``pat``) and
    ``acme-widgets`` 1.0 published by pat."""
    data = tmp_path_factory.mktemp("bastion-data")
    with serving(data, "--access-log", str(data / "access.log")) as live:
        TOKENS["pat"] = live.publisher_token("pat")
        status, _ = post_upload(live, builders.wheel(EXISTING, "1.0"), "pat")
        assert status == 200
        live.wait_published(EXISTING, "1.0", 1)
        yield live


def post_upload(live: LiveIndex, dist: builders.Dist, user: str) -> tuple[int, str]:
    """POST ``dist`` to /legacy/ as twine does, with ``user``'s token; the status and the
    body (the reason)."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in dist.fields
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="content"; '
        f'filename="{dist.filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
        + dist.data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    request = urllib.request.Request(
        live.url + "/legacy/",
        data=b"".join(parts),
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Authorization": basic(TOKENS[user]),
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def get(live: LiveIndex, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(live.url + path, timeout=30) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def page_text(markup: str) -> str:
    """The words a reader sees in some HTML (the pages put spaces between their tags)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", markup)).split())


def web_verdict(live: LiveIndex, name: str) -> str:
    status, body = get(live, "/names/check/?" + urllib.parse.urlencode({"name": name}))
    assert status == 200
    found = re.search(r'id="name-verdict">(.*?)</p>', body, re.S)
    assert found is not None, body
    return page_text(found.group(1))


def cli_verdict(live: LiveIndex, name: str) -> str:
    done = live.bastion("check-name", name)
    assert done.stderr == ""  # the index's own database: no offline note
    return done.stdout.strip()


# -- one decision on a name ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (
            "numpy",  # a popular PyPI project this index lacks (BASTION_RESERVE_PROTECTED_NAMES)
            "The name 'numpy' isn't allowed: it is reserved for the protected project 'numpy'. "
            "A moderator can grant it.",
        ),
        ("legacy", "The name 'legacy' isn't allowed."),  # a word of the index's own URLs
        (
            "reqeusts",
            "The name 'reqeusts' is too similar to an existing project, 'requests' (one edit: "
            "two letters swapped).",
        ),
        (
            "acme-widgetz",  # a look-alike of this index's own project
            "The name 'acme-widgetz' is too similar to an existing project, 'acme-widgets' "
            "(one edit: 'z' for the neighbouring key 's').",
        ),
    ],
)
def test_a_refused_name_has_one_verdict_and_one_reason(
    index: LiveIndex, name: str, reason: str
) -> None:
    assert cli_verdict(index, name) == f"REFUSED  {name}: {reason}"
    assert web_verdict(index, name) == f"Refused. {reason}"
    status, body = post_upload(index, builders.wheel(name, "1.0"), "pat")
    assert status == 400
    assert body.startswith(reason + " See ")


def test_an_existing_project_is_taken_everywhere(index: LiveIndex) -> None:
    reason = (
        "'Acme_Widgets' is an existing project on this index: only its owners and "
        "maintainers can upload to it."
    )
    assert cli_verdict(index, "Acme_Widgets") == f"taken    Acme_Widgets: {reason}"
    assert web_verdict(index, "Acme_Widgets") == f"Taken. {reason} See the project."
    TOKENS["stranger"] = index.publisher_token("stranger")
    status, body = post_upload(index, builders.wheel("Acme_Widgets", "2.0"), "stranger")
    assert status == 403
    assert "isn't allowed to upload to project 'acme-widgets'" in body


def test_a_free_name_is_available_everywhere(index: LiveIndex) -> None:
    assert cli_verdict(index, "acme-gadgets") == "allowed  acme-gadgets"
    assert web_verdict(index, "acme-gadgets").startswith("Available. “acme-gadgets” can be")
    assert post_upload(index, builders.wheel("acme-gadgets", "1.0"), "pat")[0] == 200


def test_without_a_database_check_name_says_what_it_cannot_know(tmp_path: Path) -> None:
    env = bare_env(BASTION_DATA_DIR=str(tmp_path / "nothing-here"))
    done = subprocess.run(
        [str(BIN / "bastion"), "check-name", "numpy", "acme-widgetz"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    assert done.stderr.splitlines() == [
        f"bastion check-name: no database at {tmp_path / 'nothing-here' / 'bastion.sqlite3'}, "
        "checking offline: this index's projects, the operator's protected and prohibited "
        "names, namespaces and moderator overrides are not known (set BASTION_DATA_DIR to "
        "the index's data folder)"
    ]
    assert done.stdout.splitlines() == [
        "REFUSED  numpy: The name 'numpy' isn't allowed: it is reserved for the protected "
        "project 'numpy'. A moderator can grant it.",
        "allowed  acme-widgetz",  # the index's own projects are not known
    ]
    assert not (tmp_path / "nothing-here").exists()


# -- the access log -------------------------------------------------------------------------


def test_the_access_log_has_the_fast_paths_answers_and_uploads(index: LiveIndex) -> None:
    status, page = get(index, f"/simple/{EXISTING}/")
    assert status == 200
    link = re.search(r'href="(/packages/[^"#]+)', page)
    assert link is not None
    assert get(index, link.group(1))[0] == 200
    log = index.data_dir / "access.log"
    deadline = time.monotonic() + 10
    while True:
        lines = log.read_text().splitlines()
        wanted = {
            f'"GET /simple/{EXISTING}/ HTTP/1.1" 200',
            f'"GET {link.group(1)} HTTP/1.1" 200',
            '"POST /legacy/ HTTP/1.1" 200',
        }
        missing = {w for w in wanted if not any(w in line for line in lines)}
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not missing, lines


def test_an_access_log_in_a_missing_folder_is_refused_at_start(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(BIN / "bastion"), "serve", "--access-log", str(tmp_path / "no" / "access.log")],
        env=bare_env(BASTION_DATA_DIR=str(tmp_path / "data")),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr == f"bastion serve: --access-log: no folder {tmp_path / 'no'}\n"


# -- a project whose files are all held ----------------------------------------------------


def test_a_project_whose_files_are_all_held_has_a_page_that_says_so(index: LiveIndex) -> None:
    dist = builders.wheel("held-demo", "1.0")
    assert post_upload(index, dist, "pat")[0] == 200
    index.wait_published("held-demo", "1.0", 1)
    index.bastion("hold", dist.filename, "--reason", "review")
    deadline = time.monotonic() + 30
    while True:  # the simple page is rendered again by the worker
        status, page = get(index, "/simple/held-demo/")
        if dist.filename not in page or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status == 200 and dist.filename not in page
    status, page = get(index, "/project/held-demo/")
    assert status == 200
    text = page_text(page)
    assert "held-demo" in text
    assert "No files published yet." in text
    assert dist.filename not in text and "held for review" not in text  # for its owners only
    assert get(index, "/project/Held_Demo/")[0] == 200  # redirected to its canonical name
    assert get(index, "/project/held-demo/1.0/")[0] == 404  # no release shows
    assert get(index, "/project/never-uploaded/")[0] == 404


# -- a reader that goes away -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (("files", "--state", "published"), 141),
        (("check-name", "--offline", *[f"name-{i}" for i in range(2000)]), 141),
        (("--help",), 0),  # argparse ignores a failed write of its help, and exits 0
    ],
)
def test_a_closed_pipe_ends_the_command_quietly(
    index: LiveIndex, args: tuple[str, ...], status: int
) -> None:
    proc = subprocess.Popen(
        [str(BIN / "bastion"), *args],
        env=index.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # as `| head` does once it has its lines: before this command writes
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == status
    assert err == ""


# -- check --repair --------------------------------------------------------------------------


def test_check_repair_exits_zero_once_everything_is_repaired(index: LiveIndex) -> None:
    public = index.data_dir / "public" / "packages"
    links = [p for p in public.rglob("*") if p.is_file() and not p.name.endswith(".metadata")]
    assert links
    links[0].unlink()  # as a restore from a backup without the public tree leaves it
    found = subprocess.run(
        [str(BIN / "bastion"), "check"], env=index.env, capture_output=True, text=True, timeout=120
    )
    assert found.returncode == 1
    assert "published but not downloadable" in found.stdout
    repaired = subprocess.run(
        [str(BIN / "bastion"), "check", "--repair"],
        env=index.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "-> linked into the public tree" in repaired.stdout
    assert links[0].exists()
    again = subprocess.run(
        [str(BIN / "bastion"), "check"], env=index.env, capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0, again.stdout
    orphan = index.data_dir / "files" / "ab" / "cd" / ("ef" * 30)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"left by a crash")
    left = subprocess.run(
        [str(BIN / "bastion"), "check", "--repair"],
        env=index.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert left.returncode == 1  # an orphan is only listed: a problem remains
    assert "(orphan) -> not repaired" in left.stdout
    orphan.unlink()


def test_check_help_says_what_the_exit_status_means() -> None:
    done = subprocess.run(
        [str(BIN / "bastion"), "check", "--help"], capture_output=True, text=True, timeout=60
    )
    text = " ".join(done.stdout.split())
    assert "with --repair: when everything found was repaired), 1 when problems remain" in text


# -- a Redis cache without its library -----------------------------------------------------


def test_a_redis_cache_without_its_library_stops_serve_at_start(tmp_path: Path) -> None:
    import importlib.util

    if importlib.util.find_spec("redis") is not None:
        pytest.skip("the redis library is installed here")
    done = subprocess.run(
        [str(BIN / "bastion"), "serve", "--port", "1"],
        env=bare_env(
            BASTION_DATA_DIR=str(tmp_path / "data"),
            BASTION_CACHE_BACKEND="django.core.cache.backends.redis.RedisCache",
            BASTION_CACHE_LOCATION="redis://127.0.0.1:6379",
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr == (
        "bastion serve: BASTION_CACHE_BACKEND: django.core.cache.backends.redis.RedisCache "
        "needs the redis library: pip install 'bastion[redis]'\n"
    )
    assert not (tmp_path / "data").exists()  # nothing was started
