#!/usr/bin/env python3
"""Wait until an index lists every file of the harness's corpus.lock on its simple pages.

bastion scans an upload in its background worker before publishing it, so after `twine upload`
returns the files appear over the following seconds/minutes. Exit 0 when every project page
lists exactly the expected files; exit 1 on timeout, naming what is still missing (a file the
scanner HELD would stay missing: look at it with /pypi/<name>/json or the admin).

  wait_published.py --harness ../shared/bench/perf --simple http://127.0.0.1:8080/simple/
"""
from __future__ import annotations

import argparse
import re
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--harness", required=True, help="folder of corpus.lock / corpus.py")
    ap.add_argument("--simple", required=True)
    ap.add_argument("--timeout", type=float, default=900)
    a = ap.parse_args()
    sys.path.insert(0, a.harness)
    from corpus import file_key  # the harness's own name parsing (packaging)

    expected: dict[str, set[str]] = {}
    for line in (Path(a.harness) / "corpus.lock").read_text().splitlines():
        if line.strip():
            fn = line.split()[0]
            expected.setdefault(file_key(fn)[0], set()).add(fn)
    simple = a.simple if a.simple.endswith("/") else a.simple + "/"
    todo = set(expected)
    t0 = time.monotonic()
    last = ""
    while True:
        for p in sorted(todo):
            try:
                with urllib.request.urlopen(simple + p + "/", timeout=10) as r:
                    body = r.read()
            except (urllib.error.URLError, OSError):
                continue
            served = {m.decode() for m in re.findall(rb"<a[^>]*>([^<]+)</a>", body)}
            if served == expected[p]:
                todo.discard(p)
        n_files = sum(len(expected[p]) for p in todo)
        msg = f"{len(expected) - len(todo)}/{len(expected)} projects complete, {n_files} files pending"
        if msg != last:
            print(f"[wait] {time.monotonic() - t0:6.1f}s {msg}", file=sys.stderr, flush=True)
            last = msg
        if not todo:
            return 0
        if time.monotonic() - t0 > a.timeout:
            print(f"[wait] timeout; incomplete: {sorted(todo)[:20]}", file=sys.stderr)
            return 1
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
