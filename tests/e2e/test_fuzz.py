"""A slice of the HTTP fuzz (``bench/fuzz``, issue 11) against a live ``bastion serve``:
hostile uploads and GETs of every route, from a fixed seed, must never answer 5xx.

The full run (100,000 of each) is ``python -m bench.fuzz.run``; see bench/README.md. A failure
here names the request (``--seed SEED --only upload:N`` sends it again) and the server's
traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench.fuzz.run import run_fuzz

from tests.e2e.conftest import _database_url

pytestmark = pytest.mark.e2e

SEED = 20261206
UPLOADS = 1500
GETS = 3000


def test_fuzzed_uploads_and_gets_never_answer_5xx(tmp_path: Path) -> None:
    env = {}
    db = _database_url()
    if db:
        env["BASTION_DATABASE_URL"] = db
    lines: list[str] = []
    summary = run_fuzz(
        n_uploads=UPLOADS,
        n_gets=GETS,
        seed=SEED,
        time_limit=300,
        out=tmp_path / "results",
        data_dir=tmp_path / "data",
        extra_env=env,
        log=lines.append,
    )
    phases = {p["phase"]: p for p in summary["phases"]}  # type: ignore[attr-defined]
    assert phases["upload"]["sent"] == UPLOADS and phases["get"]["sent"] == GETS, lines
    failures = [
        json.loads(line)
        for line in (tmp_path / "results" / "failures.jsonl").read_text().splitlines()
        if line.strip()
    ]
    failed = [f for f in failures if f["status"] >= 500 or not f["fresh"]]
    report = "\n\n".join(
        f"{f['phase']}:{f['index']} ({f['label']}) -> {f['status']} {f['reason'] or f['error']}\n"
        f"  {f['signature']}\n{f['traceback'][-1500:]}"
        for f in failed[:10]
    )
    assert not failed, f"{len(failed)} requests failed, seed {SEED}:\n{report}"
    assert not any(p["statuses"].get("worker-replaced") for p in phases.values()), lines
