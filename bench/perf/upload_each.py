#!/usr/bin/env python3
"""Upload every corpus file ONE BY ONE with twine (in-process) and list the refused ones with the
HTTP status and reason phrase the index returned. A diagnostic for "which corpus files does the
index refuse, and why" (a normal `twine upload` stops at the first refusal).

  $PERF_DIR/venvs/harness/bin/python upload_each.py --harness ../shared/bench/perf \
      --corpus ~/.cache/bastion-bench/perf/corpus --url http://127.0.0.1:8081/legacy/ -p "$TOKEN"
"""
from __future__ import annotations

import argparse
import contextlib
import io
import sys
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--harness", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("-u", default="__token__")
    ap.add_argument("-p", required=True)
    a = ap.parse_args()
    import requests
    from twine.cli import dispatch

    files = [l.split()[0] for l in (Path(a.harness) / "corpus.lock").read_text().splitlines() if l.strip()]
    refused = []
    for fn in files:
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                dispatch(["upload", "--non-interactive", "--disable-progress-bar", "--repository-url",
                          a.url, "-u", a.u, "-p", a.p, str(Path(a.corpus) / fn)])
        except requests.HTTPError as exc:
            r = exc.response
            refused.append((fn, r.status_code, r.reason))
            print(f"REFUSED {fn}: {r.status_code} {r.reason}", flush=True)
        except Exception as exc:  # noqa: BLE001
            refused.append((fn, 0, repr(exc)))
            print(f"ERROR {fn}: {exc!r}", flush=True)
    print(f"{len(files) - len(refused)}/{len(files)} accepted, {len(refused)} refused", flush=True)
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
