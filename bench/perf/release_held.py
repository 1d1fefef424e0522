#!/usr/bin/env python3
"""Wait for bastion's scanner to finish, print every HELD file with its findings, and (with
--release) release them as a moderator would (packages.publish_file), so that the read instance
serves the whole corpus. Run with the project's venv and BASTION_DATA_DIR of the instance.

A held corpus file is a scanner false positive (the corpus is popular PyPI releases): the
benchmark reports it (bench/README.md) instead of silently measuring a partial index.
"""
from __future__ import annotations

import json
import sys
import time


def main() -> int:
    release = "--release" in sys.argv
    from bastion.cli_support import setup_django

    setup_django()
    from django.db import transaction

    from bastion.accounts.models import User
    from bastion.packages import services as packages
    from bastion.packages.models import File

    t0 = time.monotonic()
    while File.objects.filter(state=File.PENDING).exists():
        if time.monotonic() - t0 > 900:
            print("[held] files still pending after 900 s", file=sys.stderr)
            return 1
        time.sleep(1)
    held = list(File.objects.filter(state=File.HELD))
    for f in held:
        rules = sorted({x.get("rule", "?") for x in (f.scan_findings or [])})
        print(f"[held] HELD {f.filename}: verdict={f.scan_verdict} score={f.scan_score} rules={rules}",
              file=sys.stderr)
        for x in f.scan_findings or []:
            if x.get("severity") in ("high", "critical"):
                print(f"[held]   {json.dumps(x)}", file=sys.stderr)
    if release and held:
        admin = User.objects.filter(username="bench").first()
        for f in held:
            with transaction.atomic():
                packages.publish_file(f, actor=admin, reason="perf benchmark: corpus file released")
        print(f"[held] released {len(held)} held file(s) as a moderator would", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
