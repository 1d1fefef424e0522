"""A throwaway ``bastion serve`` on a free loopback port: start, accounts, sessions, the
processes to watch, the log to read tracebacks from."""

from __future__ import annotations

import html
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from bench.fuzz.wire import Client, Request, Response, request_bytes, wait_until_up

BIN = Path(sys.executable).parent
PASSWORD = "fuzz password that is long enough"
# Rate limits would answer 429 long before the fuzz is done, and hide what is behind them.
RATE_LIMITS = ",".join(
    f"{scope}.{kind}=off"
    for scope in ("login", "2fa", "upload", "project-create", "token-create", "email", "disclose")
    for kind in ("ip", "user")
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _children(pid: int) -> list[tuple[int, str]]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid != pid:
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmd = fh.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
        out.append((int(entry), cmd))
    return out


@dataclass
class Session:
    user: str
    cookies: dict[str, str] = field(default_factory=dict)

    def header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())


class Server:
    """``bastion serve`` with its own data folder; stdout and stderr go to ``server.log``."""

    def __init__(self, data_dir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.host = "127.0.0.1"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BASTION_", "DJANGO_"))}
        env["BASTION_DATA_DIR"] = str(data_dir)
        env["BASTION_RATE_LIMITS"] = RATE_LIMITS
        # The logged-in sessions stay re-authenticated for the whole run, so that the pages
        # behind a re-authentication are fuzzed too, not only their redirect.
        env["BASTION_REAUTH_SECONDS"] = str(7 * 86400)
        env.update(extra_env or {})
        self.env = env
        self.log_path = data_dir / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log = None

    # -- life ----------------------------------------------------------------------------

    def bastion(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [str(BIN / "bastion"), *args],
            env=self.env,
            input=stdin,
            text=True,
            capture_output=True,
            timeout=300,
        )
        if done.returncode:
            raise RuntimeError(f"bastion {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def start(self, timeout: float = 120) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [str(BIN / "bastion"), "serve", "--port", str(self.port)],
            env=self.env,
            stdout=self._log,
            stderr=self._log,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if wait_until_up(self.host, self.port, time.monotonic() + 1):
                resp = Client(self.host, self.port).send(self.get("/simple/"))
                if resp.status == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError("bastion serve did not start:\n" + self.log_path.read_text()[-5000:])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self._log is not None:
            self._log.close()

    # -- the processes ------------------------------------------------------------------

    def web_worker_pid(self) -> int | None:
        """The gunicorn worker (the process that runs the application)."""
        assert self.proc is not None
        for pid, cmd in _children(self.proc.pid):
            if "gunicorn" in cmd:
                workers = _children(pid)
                return workers[0][0] if workers else None
        return None

    def task_worker_pid(self) -> int | None:
        assert self.proc is not None
        for pid, cmd in _children(self.proc.pid):
            if "bastion worker" in cmd:
                return pid
        return None

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def log_since(self, offset: int) -> str:
        with open(self.log_path, "rb") as fh:
            fh.seek(offset)
            return fh.read().decode("utf-8", "replace")

    # -- requests ------------------------------------------------------------------------

    @property
    def authority(self) -> str:
        return f"{self.host}:{self.port}"

    def get(self, path: str, cookies: str = "", accept: str = "*/*") -> Request:
        headers: list[tuple[str | bytes, str | bytes]] = [
            ("Host", self.authority),
            ("Accept", accept),
            ("User-Agent", "bastion-fuzz"),
        ]
        if cookies:
            headers.append(("Cookie", cookies))
        return Request(request_bytes("GET", path, headers), "GET")

    def post_form(self, path: str, data: dict[str, str], session: Session) -> Request:
        body = urlencode(data).encode()
        headers: list[tuple[str | bytes, str | bytes]] = [
            ("Host", self.authority),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Content-Length", str(len(body))),
            ("Cookie", session.header()),
            ("Referer", f"http://{self.authority}{path}"),
            ("Origin", f"http://{self.authority}"),
        ]
        return Request(request_bytes("POST", path, headers, body), "POST")

    # -- accounts ------------------------------------------------------------------------

    def create_user(self, name: str, *, admin: bool = False) -> str:
        """A user with TOTP (uploads and tokens need a second factor): its TOTP secret."""
        args = ["user", "create", name, "--email", f"{name}@example.com", "--password-stdin"]
        args += ["--with-totp", "--json"] + (["--admin"] if admin else [])
        uri = json.loads(self.bastion(*args, stdin=PASSWORD + "\n"))["totp_uri"]
        found = re.search(r"secret=([A-Z2-7]+)", uri)
        assert found, uri
        return found.group(1)

    def create_token(self, user: str, *extra: str) -> tuple[str, str]:
        doc = json.loads(self.bastion("token", "create", user, "--json", *extra))
        return doc["token"], doc["id"]

    def login(self, client: Client, user: str, totp_secret: str) -> Session:
        """Log in through the pages, as a person would: password, then the TOTP code."""
        import pyotp

        session = Session(user)

        def send(req: Request) -> Response:
            resp = client.send(req)
            session.cookies.update(resp.cookies())
            return resp

        def csrf(body: bytes) -> str:
            found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
            assert found, body[:2000]
            return html.unescape(found.group(1).decode())

        page = send(self.get("/account/login/"))
        token = csrf(page.body)
        resp = send(
            self.post_form(
                "/account/login/",
                {"username": user, "password": PASSWORD, "csrfmiddlewaretoken": token},
                session,
            )
        )
        assert resp.status == 302, (resp.status, resp.body[:2000])
        page = send(self.get("/account/login/2fa/", session.header()))
        token = csrf(page.body)
        totp = pyotp.TOTP(totp_secret)
        for _ in range(3):
            resp = send(
                self.post_form(
                    "/account/login/2fa/",
                    {"totp_code": totp.now(), "csrfmiddlewaretoken": token},
                    session,
                )
            )
            if resp.status == 302:
                return session
            time.sleep(31 - time.time() % 30)  # a code works once: wait for the next one
        raise RuntimeError(f"could not log in {user}: {resp.status} {resp.body[:500]!r}")


class RssSampler(threading.Thread):
    """Samples the RSS of the given processes every ``interval`` seconds."""

    def __init__(self, pids: dict[str, int], interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.interval = interval
        self.samples: dict[str, list[tuple[float, int]]] = {k: [] for k in pids}
        self._halt = threading.Event()
        self.t0 = time.monotonic()

    def sample(self) -> None:
        now = time.monotonic() - self.t0
        for key, pid in self.pids.items():
            kib = rss_kib(pid)
            if kib is not None:
                self.samples[key].append((now, kib))

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self._halt.set()
        self.join()
        self.sample()
