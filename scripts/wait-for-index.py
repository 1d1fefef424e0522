#!/usr/bin/env python3
"""Wait until a bastion index answers, and optionally until a project has a published file.

`make wait` runs this with the system's python3 (standard library only), so it works while
`make serve &` is still installing bastion into .venv. An upload is scanned before anyone can
install it: ``--project NAME`` waits for that, through the JSON API that lists only published
files. Exits 1, with one line saying what did not happen, when the time is up.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request


def answers(url: str) -> bool:
    """True once ``url`` answers 200 (a refused connection or an error status: not yet)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (http only: main)
            return bool(response.status == 200)
    except (OSError, ValueError):
        return False


def running(pid: int | None) -> bool:
    """False once process ``pid`` has ended (a zombie, not yet reaped by its shell, counts as
    ended); True when no process was named."""
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def published_files(base: str, project: str) -> int:
    """How many files of ``project`` the index lists as installable (0: none yet)."""
    try:
        url = f"{base}/pypi/{project}/json"
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (http only: main)
            document = json.load(response)
    except (OSError, ValueError):
        return 0
    return len(document.get("urls", []))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the index, e.g. http://127.0.0.1:8000")
    parser.add_argument("--project", help="also wait until this project has a published file")
    parser.add_argument(
        "--pid", type=int, help="stop waiting when this process (`make serve`) has ended"
    )
    parser.add_argument(
        "--timeout", type=float, default=600, help="seconds for the index to answer (default 600)"
    )
    parser.add_argument(
        "--scan-timeout",
        type=float,
        default=120,
        help="then seconds for the project's file to be published (default 120)",
    )
    args = parser.parse_args(argv)
    base = args.url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        parser.error(f"{args.url!r} is not an http:// or https:// URL")
    deadline = time.monotonic() + args.timeout
    while not answers(f"{base}/simple/"):
        if not running(args.pid):
            print(
                f"wait: `make serve` (process {args.pid}) has stopped; its output says why",
                file=sys.stderr,
            )
            return 1
        if time.monotonic() > deadline:
            print(
                f"wait: no answer from {base}/ after {args.timeout:.0f} s; "
                "the output of `make serve` says why it stopped",
                file=sys.stderr,
            )
            return 1
        time.sleep(1)
    print(f"wait: the index answers at {base}/", file=sys.stderr)
    if args.project:
        deadline = time.monotonic() + args.scan_timeout
        while not published_files(base, args.project):
            if time.monotonic() > deadline:
                print(
                    f"wait: {args.project} has no published file at {base}/ after "
                    f"{args.scan_timeout:.0f} s; `bastion files` lists the held and pending ones",
                    file=sys.stderr,
                )
                return 1
            time.sleep(0.5)
        print(
            f"wait: {args.project} is published at {base}/simple/{args.project}/", file=sys.stderr
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
