"""The operator's subcommands: serve, worker, user, token, check, yank, render."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

from bastion.cli_support import migrate, setup_django


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
    p.set_defaults(handler=cmd_serve)

    p = subparsers.add_parser("worker", help="Run background tasks (scans, notifications).")
    p.add_argument("--interval", type=float, default=0.2, help="Seconds between polls when idle.")
    p.add_argument(
        "--nice",
        type=int,
        default=19,
        help="Lower the worker's CPU priority by this much (default 19, the lowest: scans yield "
        "to the web process that shares its cores but still progress under load); 0 to keep it.",
    )
    p.add_argument(
        "--lease",
        type=float,
        default=60.0,
        help="Seconds this worker promises to live without renewing its lease (default 60). "
        "When it dies, another worker takes its task again after at most a lease and a half "
        "(at once when both run on one machine).",
    )
    p.add_argument(
        "--batch",
        action="store_true",
        help="Run what is queued (after taking back the tasks of dead workers), then exit.",
    )
    p.set_defaults(handler=cmd_worker)

    p = subparsers.add_parser("migrate", help="Create or upgrade the database schema.")
    p.set_defaults(handler=cmd_migrate)

    user = subparsers.add_parser("user", help="Manage users.")
    user_sub = user.add_subparsers(dest="user_command", metavar="ACTION")
    user_sub.required = True
    p = user_sub.add_parser("create", help="Create a user (email marked verified).")
    p.add_argument("name", help="Username.")
    p.add_argument("--email", required=True, help="Email address.")
    p.add_argument("--admin", action="store_true", help="Make the user an administrator.")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        required=True,
        help="Read the password from standard input (first line).",
    )
    p.add_argument(
        "--with-totp",
        action="store_true",
        help="Enrol an authenticator app (TOTP) and print its provisioning URI once.",
    )
    p.add_argument("--json", action="store_true", help="Print the result as JSON.")
    p.set_defaults(handler=cmd_user_create)

    p = user_sub.add_parser(
        "reset-2fa",
        help="Remove every second factor and recovery code of a user who lost them all.",
    )
    p.add_argument("name", help="Username.")
    p.set_defaults(handler=cmd_user_reset_2fa)

    token = subparsers.add_parser("token", help="Manage API tokens.")
    token_sub = token.add_subparsers(dest="token_command", metavar="ACTION")
    token_sub.required = True
    p = token_sub.add_parser("create", help="Issue an API token for a user and print it once.")
    p.add_argument("name", help="The user the token belongs to.")
    p.add_argument(
        "--project", action="append", default=[], help="Limit to this project (repeatable)."
    )
    p.add_argument("--expires", help="Lifetime, e.g. 12h, 30d, 1y (default: no expiry).")
    p.add_argument("--token-name", help="A label for the token (default: 'cli-<timestamp>').")
    p.add_argument(
        "--upload-only",
        action="store_true",
        help="The token may upload but never create a project.",
    )
    p.add_argument("--json", action="store_true", help="Print the result as JSON.")
    p.set_defaults(handler=cmd_token_create)
    p = token_sub.add_parser("list", help="List a user's tokens.")
    p.add_argument("name", help="Username.")
    p.add_argument("--json", action="store_true", help="Print the result as JSON.")
    p.set_defaults(handler=cmd_token_list)
    p = token_sub.add_parser("revoke", help="Revoke a token by id, or all of a user's tokens.")
    p.add_argument("name", help="Username.")
    p.add_argument("token_id", nargs="?", help="Token id (omit with --all).")
    p.add_argument("--all", action="store_true", help="Revoke every token of the user.")
    p.set_defaults(handler=cmd_token_revoke)

    p = subparsers.add_parser(
        "check",
        help="Check that every stored file exists and matches its hashes, that every pending "
        "file has its scan queued, and that no partial upload was left behind.",
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

    p = subparsers.add_parser("yank", help="Yank (or with --undo, un-yank) a release.")
    p.add_argument("project", help="Project name.")
    p.add_argument("version", help="Version to yank.")
    p.add_argument("--reason", default="", help="Why (shown to installers).")
    p.add_argument("--undo", action="store_true", help="Un-yank instead.")
    p.set_defaults(handler=cmd_yank)

    for name, text in (
        ("release", "Publish a held or pending file (after review)."),
        ("hold", "Take a file out of the index."),
    ):
        p = subparsers.add_parser(name, help=text)
        p.add_argument("filename", help="The file's name, e.g. demo-1.0-py3-none-any.whl.")
        p.add_argument("--reason", default="", help="Why (recorded in the audit log).")
        p.set_defaults(handler=cmd_release if name == "release" else cmd_hold)

    p = subparsers.add_parser("files", help="List files by state (default: held and pending).")
    p.add_argument(
        "--state", action="append", help="pending, published, held or removed (repeatable)."
    )
    p.add_argument("--json", action="store_true", help="Print the result as JSON.")
    p.set_defaults(handler=cmd_files)

    p = subparsers.add_parser(
        "rescan",
        help="Scan every stored file again (after the rules change); hold what is now malicious, "
        "and publish or hold a pending file as its scan would.",
    )
    p.add_argument(
        "--state",
        action="append",
        help="Only files in this state (default: published, held, pending).",
    )
    p.add_argument("--json", action="store_true", help="One JSON line per file.")
    p.set_defaults(handler=cmd_rescan)

    p = subparsers.add_parser("render", help="Re-render every simple page.")
    p.set_defaults(handler=cmd_render)


def _django() -> None:
    setup_django()


def cmd_migrate(args: argparse.Namespace) -> int:
    _django()
    migrate(verbosity=1)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    _django()
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


def cmd_worker(args: argparse.Namespace) -> int:
    """Run ``django_tasks_db``'s worker under a lease (``upload.recovery``): the queue alone
    would leave the task of a killed worker RUNNING forever."""
    if not 0 < args.lease <= 86_400:
        print("error: --lease must be more than 0 and at most 86400 seconds", file=sys.stderr)
        return 2
    if args.nice > 0:
        os.nice(args.nice)
    _django()
    from django.core.management import call_command

    from bastion.upload import recovery

    with recovery.worker_lease(lease=args.lease) as worker_id:
        call_command(
            "db_worker",
            interval=args.interval,
            queue_name="*",
            startup_delay=False,
            reload=False,
            verbosity=0,
            worker_id=worker_id,
            batch=args.batch,
        )
    return 0


def cmd_user_create(args: argparse.Namespace) -> int:
    _django()
    migrate()
    from bastion.accounts.services import AccountError, create_user

    password = sys.stdin.readline().rstrip("\n")
    try:
        user = create_user(
            args.name, email=args.email, password=password, is_admin=args.admin, email_verified=True
        )
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    uri = None
    if args.with_totp:
        from bastion.accounts import mfa

        secret = mfa.new_totp_secret()
        mfa.enrol_totp_unverified(user, secret)
        uri = mfa.provisioning_uri(user, secret)
    if args.json:
        print(
            json.dumps(
                {"id": user.pk, "name": user.username, "admin": args.admin, "totp_uri": uri}
            )
        )
    else:
        print(f"created user {user.username}")
        if uri:
            # Shown once: the secret is stored encrypted and never printed again.
            print(f"TOTP provisioning URI (add it to an authenticator app): {uri}")
    return 0


def cmd_user_reset_2fa(args: argparse.Namespace) -> int:
    _django()
    migrate()
    import getpass

    from bastion.accounts import mfa

    user = _user(args.name)
    if user is None:
        return 2
    removed = mfa.reset_two_factor(user, operator=f"command line ({getpass.getuser()})")
    print(f"removed {removed} second factor{'' if removed == 1 else 's'} of {user.username}")
    return 0


def _user(name: str) -> Any:
    from bastion.accounts.models import User

    user = User.objects.filter(username=name).first()
    if user is None:
        print(f"error: no user named {name!r}", file=sys.stderr)
    return user


def cmd_token_create(args: argparse.Namespace) -> int:
    _django()
    migrate()
    from django.utils import timezone

    from bastion.tokens.services import TokenRequestError, create_token, parse_duration

    user = _user(args.name)
    if user is None:
        return 2
    from bastion.authz import (
        Action,
        authorize,
        lacks_required_second_factor,
        session_identity,
    )

    # The operator speaks for the user here, so the user's own permission applies.
    decision = authorize(session_identity(user), Action.CREATE_TOKEN)
    if not decision:
        print(f"error: {decision.reason}", file=sys.stderr)
        if lacks_required_second_factor(user):
            print("hint: users made with `bastion user create --with-totp` have TOTP.", file=sys.stderr)
        return 2
    try:
        expires = timezone.now() + parse_duration(args.expires) if args.expires else None
        raw, token = create_token(
            user,
            args.token_name or f"cli-{timezone.now():%Y%m%d%H%M%S%f}",
            projects=args.project,
            expires=expires,
            upload_only=args.upload_only,
        )
    except TokenRequestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(
            json.dumps(
                {
                    "token": raw,
                    "id": str(token.pk),
                    "name": token.name,
                    "projects": token.projects,
                    "expires": token.expires.isoformat() if token.expires else None,
                }
            )
        )
    else:
        print(raw)
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    _django()
    from bastion.tokens.services import tokens_of

    user = _user(args.name)
    if user is None:
        return 2
    rows = [
        {
            "id": str(t.pk),
            "name": t.name,
            "scope": t.scope_label,
            "created": t.created.isoformat(),
            "expires": t.expires.isoformat() if t.expires else None,
            "last_used": t.last_used.isoformat() if t.last_used else None,
            "upload_only": t.upload_only,
        }
        for t in tokens_of(user)
    ]
    if args.json:
        print(json.dumps(rows))
    else:
        for r in rows:
            print(
                f"{r['id']}  {r['name']}  scope={r['scope']}"
                f"{'  upload-only' if r['upload_only'] else ''}"
                f"  expires={r['expires'] or 'never'}  last used={r['last_used'] or 'never'}"
            )
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    _django()
    from bastion.tokens.services import revoke, revoke_all, token_of

    user = _user(args.name)
    if user is None:
        return 2
    if args.all:
        count = revoke_all(user, actor=user)
        print(f"revoked {count} token{'' if count == 1 else 's'}")
        return 0
    token = token_of(user, args.token_id) if args.token_id else None
    if token is None:
        print("error: no such token", file=sys.stderr)
        return 2
    revoke(token, actor=user)
    print("revoked")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Storage against the database, the scan queue against the pending files, and partial
    files a dead process left. Exits 1 while anything is wrong: without ``--repair`` when
    anything was found; with it, when something found could not be repaired (a stored file
    missing or changed, an orphan, which are only listed)."""
    _django()
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


def cmd_yank(args: argparse.Namespace) -> int:
    _django()
    from django.db import transaction

    from bastion.packages import services as packages

    project = packages.get_project(args.project)
    release = packages.find_release(project, args.version) if project else None
    if release is None:
        print(f"error: no release {args.project} {args.version}", file=sys.stderr)
        return 2
    with transaction.atomic():
        if args.undo:
            packages.unyank(release, actor=None)
        else:
            packages.yank(release, reason=args.reason, actor=None)
    action = "un-yanked" if args.undo else "yanked"
    print(f"{action} {release.project.name} {release.version}")
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    _django()
    from bastion.index import render

    print(f"rendered {render.render_all()} projects")
    return 0


def _file(filename: str) -> Any:
    from bastion.packages.models import File

    file = File.objects.select_related("release__project").filter(filename=filename).first()
    if file is None:
        print(f"error: no file named {filename!r}", file=sys.stderr)
    return file


def _change_state(args: argparse.Namespace, *, release: bool) -> int:
    """``bastion release`` / ``bastion hold``: the state change goes through packages.services."""
    _django()
    from django.db import transaction

    from bastion.packages import services as packages
    from bastion.packages.models import File

    file = _file(args.filename)
    if file is None:
        return 2
    allowed = (File.HELD, File.PENDING) if release else (File.PUBLISHED, File.PENDING)
    if file.state not in allowed:
        print(f"error: {file.filename} is {file.state}", file=sys.stderr)
        return 2
    with transaction.atomic():
        if release:
            packages.publish_file(file, released_by_operator=True, reason=args.reason)
        else:
            packages.hold_file(file, reason=args.reason or "held by an operator")
    print(f"{'released' if release else 'held'} {file.filename}")
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    return _change_state(args, release=True)


def cmd_hold(args: argparse.Namespace) -> int:
    return _change_state(args, release=False)


def cmd_files(args: argparse.Namespace) -> int:
    _django()
    from bastion.packages.models import File

    states = args.state or [File.HELD, File.PENDING]
    rows = [
        {
            "filename": f.filename,
            "project": f.release.project.name,
            "state": f.state,
            "verdict": f.scan_verdict or None,
            "score": f.scan_score,
            "uploaded": f.upload_time.isoformat(),
            "findings": len(f.scan_findings or []),
        }
        for f in File.objects.filter(state__in=states)
        .select_related("release__project")
        .order_by("upload_time")
    ]
    if args.json:
        print(json.dumps(rows))
    else:
        for r in rows:
            print(
                f"{r['state']:9} {r['verdict'] or '-':11} {r['filename']}  (uploaded {r['uploaded']})"
            )
    return 0


def cmd_rescan(args: argparse.Namespace) -> int:
    """Scan stored files again. A pending file goes through the upload's own decision
    (``scan_pending_file``, called here rather than queued, so that the operator sees the
    outcome): published, or held. Any other file keeps its state unless it is now malicious."""
    _django()
    from bastion.packages.models import File
    from bastion.upload.tasks import rescan, scan_pending_file

    states = args.state or [File.PUBLISHED, File.HELD, File.PENDING]
    held = published = failed = 0
    for file in (
        File.objects.filter(state__in=states).select_related("release__project").order_by("pk")
    ):
        before = file.state
        try:
            outcome = scan_pending_file.call(file.pk) if before == File.PENDING else rescan(file)
        except Exception as exc:  # one unreadable file must not stop the others' scans
            outcome = "error"
            failed += 1
            print(f"error: {file.filename}: {type(exc).__name__}: {exc}", file=sys.stderr)
        held += outcome == "held"
        published += before == File.PENDING and outcome == "published"
        if args.json:
            print(
                json.dumps({"filename": file.filename, "state_before": before, "outcome": outcome})
            )
        else:
            print(f"{outcome:10} {file.filename}")
    if not args.json:
        print(f"{held} file(s) newly held")
        if published:
            print(f"{published} pending file(s) published")
        if failed:
            print(f"{failed} file(s) could not be scanned")
    return 1 if failed else 0
