"""State changes and listings by an operator: ``yank``, ``release``, ``hold``, ``files``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bastion.cli_support import setup_django


def register(subparsers: Any) -> None:
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


def cmd_yank(args: argparse.Namespace) -> int:
    setup_django()
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


def _file(filename: str) -> Any:
    from bastion.packages.models import File

    file = File.objects.select_related("release__project").filter(filename=filename).first()
    if file is None:
        print(f"error: no file named {filename!r}", file=sys.stderr)
    return file


def _change_state(args: argparse.Namespace, *, release: bool) -> int:
    """``bastion release`` / ``bastion hold``: the state change goes through packages.services."""
    setup_django()
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
    setup_django()
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
