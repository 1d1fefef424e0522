"""The subcommands about the installation as a whole: ``serve`` (migrations, static files,
pages, then gunicorn and the background worker), ``migrate`` and ``check`` (storage, scan
queue and public tree against the database; it spans every domain, so it lives above them).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

from bastion.cli_support import make_index_folder, migrate, setup_django


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "serve", help="Run the index (production server, migrations, worker)."
    )
    p.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
    p.add_argument("--port", type=int, default=8000, help="Port to listen on (default 8000).")
    p.add_argument("--workers", type=int, default=1, help="Web processes (default 1).")
    p.add_argument("--threads", type=int, default=4, help="Threads per web process (default 4).")
    p.add_argument(
        "--no-worker",
        action="store_true",
        help="Do not start the background worker (run `bastion worker` elsewhere).",
    )
    p.add_argument(
        "--access-log",
        metavar="PATH|-",
        help="Log one line per request (gunicorn's access log) to PATH, or to standard "
        "output with '-'. Off by default: with it, every request goes through gunicorn's own "
        "parser, which costs the installers' fast path some of its speed.",
    )
    p.set_defaults(handler=cmd_serve)

    p = subparsers.add_parser("migrate", help="Create or upgrade the database schema.")
    p.set_defaults(handler=cmd_migrate)

    p = subparsers.add_parser(
        "check",
        help="Check that every stored file exists and matches its hashes, that every pending "
        "file has its scan queued, and that no partial upload was left behind.",
        description="Check that every stored file exists and matches its hashes, that "
        "exactly the published files are downloadable, that every pending file has its scan "
        "queued, and that no partial upload was left behind. Exit status: 0 when nothing is "
        "wrong (with --repair: when everything found was repaired), 1 when problems remain "
        "(orphans and missing or altered files are only listed, never repaired).",
    )
    p.add_argument(
        "--repair",
        action="store_true",
        help="Re-link published files, unlink others, give dead workers' tasks back, queue the "
        "missing scans, remove stale partial files, re-render pages.",
    )
    p.add_argument(
        "--partial-age",
        type=float,
        default=10.0,
        metavar="MINUTES",
        help="Report (and repair) partial files untouched for this long (default 10: a live "
        "upload may be writing a younger one); 0 when nothing is running.",
    )
    p.add_argument("--json", action="store_true", help="Print the result as JSON.")
    p.set_defaults(handler=cmd_check)


def cmd_migrate(args: argparse.Namespace) -> int:
    make_index_folder()
    setup_django()
    migrate(verbosity=1)
    return 0


#: Django's cache backends that need a library bastion does not depend on: the module, and
#: what to install.
_CACHE_LIBRARIES = {
    "django.core.cache.backends.redis.RedisCache": ("redis", "pip install 'bastion[redis]'"),
    "django.core.cache.backends.memcached.PyMemcacheCache": (
        "pymemcache",
        "pip install pymemcache",
    ),
    "django.core.cache.backends.memcached.PyLibMCCache": ("pylibmc", "pip install pylibmc"),
}


def cache_problem(backend: str) -> str | None:
    """Why the configured cache cannot work in this installation, if it cannot: said before
    serving, since Django imports a cache's library only when a request first uses it (a
    login's rate limit would answer 500)."""
    import importlib.util

    from django.utils.module_loading import import_string

    needed = _CACHE_LIBRARIES.get(backend)
    if needed is not None and importlib.util.find_spec(needed[0]) is None:
        return f"BASTION_CACHE_BACKEND: {backend} needs the {needed[0]} library: {needed[1]}"
    try:
        import_string(backend)
    except ImportError as exc:
        return f"BASTION_CACHE_BACKEND: cannot import {backend} ({exc})"
    return None


def _access_log(value: str | None) -> tuple[list[str], str | None]:
    """gunicorn's arguments for ``--access-log``, or why the path cannot be written."""
    if not value:
        return [], None
    if value == "-":
        return ["--access-logfile", "-"], None
    path = os.path.abspath(value)
    if not os.path.isdir(os.path.dirname(path)):
        return [], f"--access-log: no folder {os.path.dirname(path)}"
    return ["--access-logfile", path], None


def cmd_serve(args: argparse.Namespace) -> int:
    from bastion.config import from_environ

    settings_now = from_environ(os.environ)  # checked by bastion.cli before any command
    access_log, problem = _access_log(args.access_log)
    problem = problem or cache_problem(settings_now.cache_backend)
    if problem is not None:
        print(f"bastion serve: {problem}", file=sys.stderr)
        return 2
    make_index_folder(settings_now)
    setup_django()
    from django.conf import settings

    from bastion.config import current, default_allowed_hosts

    migrate()
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    from bastion.index import render

    render.render_all()
    print(f"bastion: data in {current().data_dir}", file=sys.stderr)
    print(f"bastion: serving on http://{args.host}:{args.port}/", file=sys.stderr, flush=True)
    if args.host not in ("127.0.0.1", "localhost", "::1") and current().allowed_hosts == (
        default_allowed_hosts(current().base_url)
    ):
        print(
            "bastion: answering only to the host names "
            f"{', '.join(settings.ALLOWED_HOSTS)}; set BASTION_ALLOWED_HOSTS (or "
            "BASTION_BASE_URL) to the names clients use, or they get 400 Bad Request",
            file=sys.stderr,
            flush=True,
        )
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "bastion.settings")
    env["BASTION_DATA_DIR"] = str(current().data_dir)
    children: list[subprocess.Popen[bytes]] = []
    if not args.no_worker:
        children.append(subprocess.Popen([sys.executable, "-m", "bastion", "worker"], env=env))
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "bastion.wsgi:application",
            "--bind",
            f"{args.host}:{args.port}",
            "--workers",
            str(args.workers),
            "--worker-class",
            # BASTION_SERVE_FAST_PATH=0: gunicorn's own gthread, to benchmark against.
            "bastion.serving.PollingThreadWorker" if current().serve_fast_path else "gthread",
            "--threads",
            str(args.threads),
            "--timeout",
            "120",
            "--graceful-timeout",
            "10",
            "--keep-alive",
            "5",
            # The poller keeps every connection (bastion.serving); past this many per
            # process, the idlest is closed to make room.
            "--worker-connections",
            str(current().max_connections),
            "--limit-request-line",
            "8190",
            "--log-level",
            "warning",
            *access_log,
        ],
        env=env,
    )
    children.append(web)

    def stop(signum: int, frame: Any) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while all(c.poll() is None for c in children):
            time.sleep(0.5)
    finally:
        stop(0, None)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
    return web.returncode or 0


def cmd_check(args: argparse.Namespace) -> int:
    """Storage against the database, the scan queue against the pending files, and partial
    files a dead process left. Exits 1 while anything is wrong: without ``--repair`` when
    anything was found; with it, when something found could not be repaired (a stored file
    missing or changed, an orphan, which are only listed)."""
    setup_django()
    from collections.abc import Callable
    from functools import partial

    from bastion.index import render
    from bastion.packages.models import File
    from bastion.storage import file_digests, get_storage
    from bastion.upload import recovery

    storage = get_storage()
    problems: list[dict[str, Any]] = []

    def found(name: str, problem: str, repair: Callable[[], str] | None = None) -> None:
        """Record a problem; with ``--repair``, repair it at once and record what was done
        (None: nothing could be)."""
        entry: dict[str, Any] = {"file": name, "problem": problem}
        if args.repair:
            entry["repaired"] = None
            if repair is not None:
                try:
                    entry["repaired"] = repair()
                except Exception as exc:  # the other problems still get their repair
                    print(f"error: repairing {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
        problems.append(entry)

    def link(f: Any) -> str:
        storage.publish(f.storage_key)
        if f.metadata_sha256:
            storage.publish(f.metadata_key)
        return "linked into the public tree"

    def unlink(f: Any) -> str:
        storage.unpublish(f.storage_key)
        storage.unpublish(f.metadata_key)
        return "unlinked from the public tree"

    def give_back(task: recovery.DeadTask) -> str:
        done = recovery.give_back([task])
        return done[0][1] if done else "already taken again by a worker"

    def remove(part: Any) -> str:
        recovery.remove_partial(part)
        return "removed"

    known: set[str] = set()
    damaged: set[int] = set()
    checked = 0
    for f in File.objects.select_related("release__project").iterator():
        checked += 1
        known.add(f.storage_key)
        if f.metadata_sha256:
            known.add(f.metadata_key)
        if not storage.exists(f.storage_key):
            damaged.add(f.pk)
            found(f.filename, "missing from storage")
            continue
        with storage.open(f.storage_key) as fh:
            _size, digests = file_digests(fh)
        recorded = {
            "md5_digest": f.md5_digest,
            "sha256_digest": f.sha256_digest,
            "blake2_256_digest": f.blake2_256_digest,
        }
        if digests != recorded:
            damaged.add(f.pk)
            found(f.filename, "content does not match recorded hashes")
        published = storage.is_published(f.storage_key)
        if f.state == File.PUBLISHED and not published:
            # Never link bytes that are not the ones published.
            repair = None if f.pk in damaged else partial(link, f)
            found(f.filename, "published but not downloadable", repair)
        if f.state != File.PUBLISHED and published:
            found(f.filename, f"{f.state} but downloadable", partial(unlink, f))

    if recovery.queue_is_readable():
        # A scan stuck RUNNING under a dead worker first: given back, it counts as queued.
        dead = recovery.dead_tasks()
        names = dict(
            File.objects.filter(pk__in=[d.file_id for d in dead if d.file_id]).values_list(
                "pk", "filename"
            )
        )
        for task in dead:
            if task.file_id is not None:
                name, what = names.get(task.file_id, f"file {task.file_id}"), "its scan"
            else:
                name, what = f"task {task.task_id}", task.task_path
            found(name, f"{what} is stuck RUNNING: {task.why}", partial(give_back, task))
        for pending in recovery.unqueued_pending_files():
            repair = (
                None
                if pending.file_id in damaged
                else partial(recovery.queue_scan, pending.file_id)
            )
            found(pending.filename, f"pending, but {pending.why}: nothing would scan it", repair)
    else:
        print(
            "note: the task backend's queue cannot be read; scans were not checked", file=sys.stderr
        )

    for part in recovery.partial_files(older_than=max(args.partial_age, 0.0) * 60):
        found(
            str(part.path),
            f"partial file left by an interrupted upload or write ({part.size / 1e6:.1f} MB, "
            f"untouched for {part.age / 60:.0f} minutes)",
            partial(remove, part),
        )
    for key in storage.iter_keys():
        if key not in known:
            found(key, "in storage but not in the database (orphan)")
    if args.repair:
        render.render_all()

    unrepaired = [p for p in problems if not p.get("repaired")]
    if args.json:
        report: dict[str, Any] = {"checked": checked, "problems": problems}
        if args.repair:
            report["unrepaired"] = len(unrepaired)
        print(json.dumps(report))
    else:
        for p in problems:
            line = f"{p['file']}: {p['problem']}"
            if args.repair:
                line += f" -> {p['repaired'] or 'not repaired'}"
            print(line)
        summary = f"checked {checked} files, {len(problems)} problems"
        if args.repair:
            summary += f", {len(problems) - len(unrepaired)} repaired"
        print(summary)
    return 1 if unrepaired else 0
