"""``bastion worker`` (the scan queue's worker, under a lease) and ``bastion rescan``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from bastion.cli_support import setup_django


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("worker", help="Run background tasks (scans, notifications).")
    p.add_argument(
        "--interval",
        type=float,
        default=0.05,
        help="Seconds between polls when idle (default 0.05: an upload waits for its scan's "
        "verdict, BASTION_UPLOAD_VERDICT_WAIT).",
    )
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


def cmd_worker(args: argparse.Namespace) -> int:
    """Run ``django_tasks_db``'s worker under a lease (``upload.recovery``): the queue alone
    would leave the task of a killed worker RUNNING forever."""
    if not 0 < args.lease <= 86_400:
        print("error: --lease must be more than 0 and at most 86400 seconds", file=sys.stderr)
        return 2
    if args.nice > 0:
        os.nice(args.nice)
    setup_django()
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


def cmd_rescan(args: argparse.Namespace) -> int:
    """Scan stored files again. A pending file goes through the upload's own decision
    (``scan_pending_file``, called here rather than queued, so that the operator sees the
    outcome): published, or held. Any other file keeps its state unless it is now malicious."""
    setup_django()
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
