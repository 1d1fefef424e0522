#!/usr/bin/env python3
"""Fuzz a live ``bastion serve``: the upload API, then every GET route.

    .venv/bin/python -m bench.fuzz.run --uploads 100000 --gets 100000 --seed 1

Starts ``bastion serve`` on a free loopback port with a throwaway data folder, creates the
accounts and tokens it needs through the command line, uploads a few valid projects, logs in
two users through the pages, then sends the requests one at a time on one kept-alive
connection. Every request is a pure function of ``(seed, phase, index)``: ``--only
upload:123`` sends request 123 of the upload phase again, and ``--replay FILE`` sends the
requests saved in a failures file as they were sent.

Every 5xx (and every request left without an answer) is written to ``failures.jsonl`` with
the request's bytes and the server's traceback; the gunicorn worker's RSS is sampled from
``/proc`` throughout. Exit status 1 if any request got a 5xx, the worker was replaced, or the
worker's RSS grew by more than ``--rss-limit-mib`` over the second half of a phase (the first
half fills what is bounded: caches, the allocator's heaps; a leak keeps growing).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench.fuzz` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.fuzz import gets, uploads
from bench.fuzz.dists import Meta
from bench.fuzz.server import RssSampler, Server, Session, rss_kib
from bench.fuzz.wire import NO_RESPONSE, TIMEOUT, Client, Request, Response, request_bytes

POOL = ["fuzz-alpha", "Fuzz_Beta", "fuzz.gamma", "fuzz-delta"]
OTHER_PROJECT = "fuzz-other"
OWNER, ADMIN, OTHER = "fuzzer", "fuzzadmin", "fuzzother"


@dataclass
class Failure:
    phase: str
    index: int
    label: str
    status: int
    reason: str
    error: str
    signature: str
    traceback: str
    request: str  # base64 of the bytes sent
    preview: str
    response: str
    fresh: bool
    method: str


@dataclass
class PhaseResult:
    name: str
    planned: int
    sent: int = 0
    seconds: float = 0.0
    statuses: Counter[str] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    no_answer: list[Failure] = field(default_factory=list)  # the first 100
    no_answer_count: int = 0
    no_answer_kinds: Counter[str] = field(default_factory=Counter)  # by what framed it
    rss_kib: dict[str, int] = field(default_factory=dict)  # start, warm, half, peak, end
    stopped_by_time: bool = False
    seconds_by_status: Counter[str] = field(default_factory=Counter)
    slowest: list[tuple[float, str, str]] = field(default_factory=list)  # (seconds, where, label)

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


@dataclass
class Setup:
    server: Server
    upload_ctx: uploads.Context
    get_ctx: gets.Context
    secrets: dict[str, str]
    sessions: dict[str, Session]
    session_alive: dict[str, bool] = field(default_factory=dict)


# -- tracebacks ---------------------------------------------------------------------------

_FRAME = re.compile(r'^\s+File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<func>.+)$')


def last_traceback(log: str) -> str:
    """The error in ``log`` (what one request wrote): from the line that announced it
    ("Internal Server Error: /legacy/", gunicorn's "Error handling request") through the
    exception line of the last traceback of the chain."""
    first = log.find("Traceback (most recent call last):")
    if first < 0:
        return ""
    start = log.rfind("\n", 0, max(0, first - 1)) + 1
    lines = log[start:].splitlines()
    last = max(i for i, line in enumerate(lines) if line.startswith("Traceback (most recent"))
    end = len(lines)
    for i in range(last + 1, len(lines)):
        if lines[i] and not lines[i].startswith((" ", "\t")):
            end = i + 1  # the exception line
            break
    return "\n".join(lines[:end])


def signature(tb: str) -> str:
    """What identifies a cause: the exception's type and the innermost frame in bastion
    (and the innermost frame overall, when it is elsewhere)."""
    if not tb:
        return ""
    lines = tb.splitlines()
    exc = ""
    frames: list[tuple[str, str, str]] = []
    for line in lines:
        m = _FRAME.match(line)
        if m:
            frames.append((m["file"], m["line"], m["func"]))
        elif (
            line and not line.startswith((" ", "\t", "Traceback", "During", "The above")) and frames
        ):
            exc = line.split(":", 1)[0]
    # Only the frames of the last traceback (chained ones come first).
    last_at = tb.rfind("Traceback (most recent call last):")
    last_frames = [
        (m["file"], m["line"], m["func"])
        for m in (_FRAME.match(ln) for ln in tb[last_at:].splitlines())
        if m
    ] or frames

    def short(f: tuple[str, str, str]) -> str:
        path = f[0]
        if "/bastion/" in path:
            path = "bastion/" + path.split("/bastion/", 1)[1]
        elif "site-packages/" in path:
            path = path.split("site-packages/", 1)[1]
        return f"{path}:{f[1]} in {f[2]}"

    ours = [
        f
        for f in last_frames
        if "/src/bastion/" in f[0] or ("/bastion/" in f[0] and "site-packages" not in f[0])
    ]
    parts = [exc or "?"]
    if ours:
        parts.append("at " + short(ours[-1]))
    if last_frames and (not ours or last_frames[-1] != ours[-1]):
        parts.append("last " + short(last_frames[-1]))
    return " ".join(parts)


def all_tracebacks(log: str) -> Counter[str]:
    """Every traceback in a log, by signature (the web worker's and the task worker's)."""
    out: Counter[str] = Counter()
    chunks = log.split("Traceback (most recent call last):")
    for i in range(1, len(chunks)):
        body = "Traceback (most recent call last):" + chunks[i]
        # Stop at the exception line.
        lines = body.splitlines()
        keep = [lines[0]]
        for line in lines[1:]:
            keep.append(line)
            if line and not line.startswith((" ", "\t")):
                break
        out[signature("\n".join(keep))] += 1
    return out


# -- setup ------------------------------------------------------------------------------------


def _seed_upload(
    server: Server, client: Client, token: str, name: str, version: str, wheel: bool
) -> Response:
    rng = random.Random(f"seed-upload:{name}:{version}:{wheel}")
    meta = Meta(name, version)
    if wheel:
        filename, data, _ = uploads.build_wheel(rng, meta, False)
    else:
        filename, data, _ = uploads.build_sdist(rng, meta, False)
    form = uploads.form_fields(meta, "bdist_wheel" if wheel else "sdist", data)
    parts = [uploads.Part(k.encode(), v.encode()) for k, v in form]
    parts.append(uploads.Part(b"content", data, filename.encode(), b"application/octet-stream"))
    body = uploads.multipart_body(parts, b"seedboundary")
    headers: list[tuple[str | bytes, str | bytes]] = [
        ("Host", server.authority),
        ("Authorization", "Basic " + base64.b64encode(f"__token__:{token}".encode()).decode()),
        ("Content-Type", "multipart/form-data; boundary=seedboundary"),
        ("Content-Length", str(len(body))),
    ]
    return client.send(Request(request_bytes("POST", "/legacy/", headers, body), "POST"))


def setup(data_dir: Path, extra_env: dict[str, str] | None, log: Callable[[str], None]) -> Setup:
    server = Server(data_dir, extra_env)
    t0 = time.monotonic()
    server.bastion("migrate")
    with ThreadPoolExecutor(3) as pool:
        owner_f = pool.submit(server.create_user, OWNER)
        admin_f = pool.submit(server.create_user, ADMIN, admin=True)
        other_f = pool.submit(server.create_user, OTHER)
        totp = {OWNER: owner_f.result(), ADMIN: admin_f.result(), OTHER: other_f.result()}
    with ThreadPoolExecutor(3) as pool:
        token_f = pool.submit(server.create_token, OWNER)
        other_f2 = pool.submit(server.create_token, OTHER)
        upload_only_f = pool.submit(server.create_token, OWNER, "--upload-only")
    (token, token_id), (other_token, _), (upload_only, _) = (
        token_f.result(),
        other_f2.result(),
        upload_only_f.result(),
    )
    revoked, revoked_id = server.create_token(OWNER)
    server.bastion("token", "revoke", OWNER, revoked_id)
    log(f"accounts and tokens: {time.monotonic() - t0:.1f}s")
    server.start()
    log(f"server up on {server.authority} (data in {data_dir}): {time.monotonic() - t0:.1f}s")
    client = Client(server.host, server.port)
    for name, tok in [*[(n, token) for n in POOL], (OTHER_PROJECT, other_token)]:
        for wheel in (True, False):
            resp = _seed_upload(server, client, tok, name, "0.1", wheel)
            if resp.status != 200:
                raise RuntimeError(f"seed upload of {name} refused: {resp.status} {resp.reason}")
    scoped, scoped_id = server.create_token(OWNER, "--project", POOL[0])
    # Wait until the scanner has published them: the GET phase reads their pages and files.
    deadline = time.monotonic() + 180
    keys: list[str] = []
    for name in [*POOL, OTHER_PROJECT]:
        while True:
            resp = client.send(server.get(f"/pypi/{name}/0.1/json"))
            if resp.status == 301:
                resp = client.send(server.get(resp.header("Location") or "/"))
            if resp.status == 200:
                urls = json.loads(resp.body).get("urls", [])
                if len(urls) >= 2:
                    keys += [u["url"].split("/packages/", 1)[1] for u in urls]
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} 0.1 was not published in time")
            time.sleep(0.3)
    log(f"seed projects published: {time.monotonic() - t0:.1f}s")
    sessions = {
        OWNER: server.login(client, OWNER, totp[OWNER]),
        ADMIN: server.login(client, ADMIN, totp[ADMIN]),
    }
    client.close()
    log(f"logged in: {time.monotonic() - t0:.1f}s")
    upload_ctx = uploads.Context(
        authority=server.authority,
        token=token,
        scoped_token=scoped,
        upload_only_token=upload_only,
        revoked_token=revoked,
        other_token=other_token,
        pool=list(POOL),
        other_project=OTHER_PROJECT,
    )
    projects = [*POOL, OTHER_PROJECT, "no-such-project"]
    get_ctx = gets.Context(
        authority=server.authority,
        projects=projects,
        versions={p: ["0.1", "1.0", "1.5", "0.1.0", "9.9"] for p in projects},
        file_keys=sorted(keys),
        users=[OWNER, ADMIN, OTHER, "nobody"],
        token_ids=[token_id, scoped_id, revoked_id],
        sessions=[sessions[OWNER].header(), sessions[ADMIN].header()],
    )
    secrets = {
        "token": token,
        "scoped_token": scoped,
        "upload_only_token": upload_only,
        "revoked_token": revoked,
        "other_token": other_token,
        "owner_session": sessions[OWNER].header(),
        "admin_session": sessions[ADMIN].header(),
        "authority": server.authority,
    }
    return Setup(server, upload_ctx, get_ctx, secrets, sessions)


# -- running ---------------------------------------------------------------------------------


def _is_failure(resp: Response) -> bool:
    return resp.status >= 500


def run_phase(
    s: Setup,
    name: str,
    make: Callable[[int], Request],
    count: int,
    time_limit: float,
    sampler: RssSampler | None,
    log: Callable[[str], None],
    indices: list[int] | None = None,
) -> PhaseResult:
    server = s.server
    result = PhaseResult(name, count if indices is None else len(indices))
    pid = server.web_worker_pid()
    client = Client(server.host, server.port)
    result.rss_kib["start"] = (rss_kib(pid) if pid else 0) or 0
    # RSS is read after the first fifth and half of the phase: bounded caches (compiled
    # queries, validated values, pages) and the allocator's heaps fill early.
    warm_at = max(200, count // 5)
    half_at = max(warm_at + 1, count // 2)
    t0 = time.monotonic()
    last_report = t0
    todo = range(count) if indices is None else indices
    for n, i in enumerate(todo):
        now = time.monotonic()
        if now - t0 > time_limit:
            result.stopped_by_time = True
            break
        try:
            req = make(i)
        except Exception as exc:  # a bug of the generator: counted, and the run goes on
            result.statuses["generator-error"] += 1
            if result.statuses["generator-error"] <= 5:
                log(f"  {name} #{i}: the generator failed: {type(exc).__name__}: {exc}")
            continue
        offset = server.log_size()
        sent_at = time.perf_counter()
        resp = client.send(req)
        took = time.perf_counter() - sent_at
        result.sent += 1
        key = (
            str(resp.status)
            if resp.status > 0
            else ("no-answer" if resp.status == NO_RESPONSE else "timeout")
        )
        result.statuses[key] += 1
        result.seconds_by_status[key] += took
        if len(result.slowest) < 10 or took > result.slowest[-1][0]:
            result.slowest.append((round(took, 3), f"{name}:{i} {key}", req.label[:160]))
            result.slowest.sort(reverse=True)
            del result.slowest[10:]
        if indices is not None and not (resp.status >= 500 or resp.status <= 0):
            log(f"  {name} #{i}: {resp.status} {resp.reason} [{req.label}]")
        if resp.status >= 500 or resp.status in (NO_RESPONSE, TIMEOUT):
            time.sleep(0.05)
            tb = last_traceback(server.log_since(offset))
            sig = signature(tb)
            tb = "\n".join(tb.splitlines()[-150:])
            failure = Failure(
                phase=name,
                index=i,
                label=req.label,
                status=resp.status,
                reason=resp.reason,
                error=resp.error,
                signature=sig
                or (f"{resp.status} {resp.reason}" if resp.status > 0 else resp.error),
                traceback=tb,
                request=base64.b64encode(req.raw).decode(),
                preview=req.preview(),
                response=resp.body[:2000].decode("utf-8", "replace"),
                fresh=req.fresh,
                method=req.method,
            )
            # No answer to a request whose framing was sound is a failure too; to one that
            # ended early (its Content-Length longer than its body), gunicorn closes by design.
            bad = _is_failure(resp) or not req.fresh
            if bad:
                result.failures.append(failure)
            else:
                result.no_answer_count += 1
                result.no_answer_kinds[
                    " ".join(t for t in req.label.split() if t.startswith(("length:", "raw")))
                    or "other"
                ] += 1
                if len(result.no_answer) < 100:  # enough to look at; these are not replayed
                    failure.request = base64.b64encode(req.raw[:65536]).decode()
                    result.no_answer.append(failure)
            if indices is not None or (bad and len(result.failures) <= 20):
                log(
                    f"  {name} #{i}: {resp.status} {resp.reason or resp.error} [{req.label}] {failure.signature}"
                )
        if n + 1 == warm_at and pid:
            result.rss_kib["warm"] = rss_kib(pid) or 0
        if n + 1 == half_at and pid:
            result.rss_kib["half"] = rss_kib(pid) or 0
        if now - last_report > 15:
            last_report = now
            rss = (rss_kib(pid) or 0) // 1024 if pid else 0
            log(
                f"  {name}: {n + 1}/{result.planned} {(n + 1) / (now - t0):.0f}/s, "
                f"5xx {len(result.failures)}, no answer {result.no_answer_count}, worker RSS {rss} MiB"
            )
        if (n + 1) % 2000 == 0 and pid and server.web_worker_pid() != pid:
            log(f"  {name}: the web worker was replaced (pid {pid} -> {server.web_worker_pid()})")
            result.statuses["worker-replaced"] += 1
            pid = server.web_worker_pid()
    result.seconds = time.monotonic() - t0
    client.close()
    end = (rss_kib(pid) if pid else 0) or 0
    result.rss_kib["end"] = end
    result.rss_kib.setdefault("warm", end)
    result.rss_kib.setdefault("half", end)
    if sampler is not None:
        t_start, t_end = t0 - sampler.t0, time.monotonic() - sampler.t0
        during = [kib for t, kib in sampler.samples.get("web", []) if t_start <= t <= t_end]
        result.rss_kib["peak"] = max([*during, result.rss_kib["start"], end])
    return result


def _substitute(raw: bytes, old: dict[str, str], new: dict[str, str]) -> bytes:
    for key, value in old.items():
        if key not in new or not value:
            continue
        raw = raw.replace(value.encode(), new[key].encode())
        if key.endswith("token"):
            raw = raw.replace(
                base64.b64encode(f"__token__:{value}".encode()),
                base64.b64encode(f"__token__:{new[key]}".encode()),
            )
    return raw


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--uploads", type=int, default=100_000, help="upload requests (default 100000)")
    ap.add_argument("--gets", type=int, default=100_000, help="GET requests (default 100000)")
    ap.add_argument("--requests", type=int, help="set both --uploads and --gets")
    ap.add_argument("--seed", type=int, help="default: a random one (printed)")
    ap.add_argument(
        "--time-limit", type=float, default=3600, help="seconds per phase (default 3600)"
    )
    ap.add_argument(
        "--rss-limit-mib",
        type=float,
        default=48,
        help="allowed growth of the web worker's RSS over the second half of a phase (default 48)",
    )
    ap.add_argument("--out", type=Path, help="results folder (default bench/fuzz/results/<time>)")
    ap.add_argument(
        "--data-dir", type=Path, help="the server's data folder (default: a temporary one, removed)"
    )
    ap.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable for the server (repeatable), e.g. MALLOC_ARENA_MAX=2",
    )
    ap.add_argument(
        "--only", help="comma-separated phase:index (upload:12,get:34): send just those"
    )
    ap.add_argument(
        "--replay", type=Path, help="a failures.jsonl: send its requests again, as saved"
    )
    a = ap.parse_args(argv)
    if a.requests is not None:
        a.uploads = a.gets = a.requests
    seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), "big")
    print(f"bastion fuzz: seed {seed} (rerun with --seed {seed})", flush=True)
    result = run_fuzz(
        n_uploads=a.uploads,
        n_gets=a.gets,
        seed=seed,
        time_limit=a.time_limit,
        rss_limit_mib=a.rss_limit_mib,
        out=a.out,
        data_dir=a.data_dir,
        only=a.only,
        replay=a.replay,
        extra_env=dict(item.split("=", 1) for item in a.server_env),
    )
    return 0 if result["ok"] else 1


def run_fuzz(
    *,
    n_uploads: int,
    n_gets: int,
    seed: int,
    time_limit: float = 3600,
    rss_limit_mib: float = 48,
    out: Path | None = None,
    data_dir: Path | None = None,
    extra_env: dict[str, str] | None = None,
    only: str | None = None,
    replay: Path | None = None,
    log: Callable[[str], None] = lambda m: print(m, flush=True),
) -> dict[str, object]:
    """Run the fuzz; return the summary (also written to ``out/summary.json``)."""
    started = time.strftime("%Y%m%d-%H%M%S")
    out = out or Path(__file__).resolve().parent / "results" / started
    out.mkdir(parents=True, exist_ok=True)
    temp = data_dir is None
    data = data_dir or Path(tempfile.mkdtemp(prefix="bastion-fuzz-"))
    s = setup(data, extra_env, log)
    results: list[PhaseResult] = []
    sampler: RssSampler | None = None
    harness_error = ""
    try:
        pids = {
            k: v
            for k, v in (("web", s.server.web_worker_pid()), ("tasks", s.server.task_worker_pid()))
            if v
        }
        sampler = RssSampler(pids)
        sampler.start()
        if replay is not None:
            results.append(_replay(s, replay, log))
        elif only:
            wanted: dict[str, list[int]] = {}
            for item in only.split(","):
                phase, _, idx = item.partition(":")
                wanted.setdefault(phase.strip(), []).append(int(idx))
            if "upload" in wanted:
                results.append(
                    run_phase(
                        s,
                        "upload",
                        lambda i: uploads.make_upload(s.upload_ctx, seed, i),
                        0,
                        time_limit,
                        sampler,
                        log,
                        wanted["upload"],
                    )
                )
            if "get" in wanted:
                results.append(
                    run_phase(
                        s,
                        "get",
                        lambda i: gets.make_get(s.get_ctx, seed, i),
                        0,
                        time_limit,
                        sampler,
                        log,
                        wanted["get"],
                    )
                )
        else:
            if n_uploads:
                log(f"upload phase: {n_uploads} requests")
                results.append(
                    run_phase(
                        s,
                        "upload",
                        lambda i: uploads.make_upload(s.upload_ctx, seed, i),
                        n_uploads,
                        time_limit,
                        sampler,
                        log,
                    )
                )
            if n_gets:
                log(f"GET phase: {n_gets} requests")
                results.append(
                    run_phase(
                        s,
                        "get",
                        lambda i: gets.make_get(s.get_ctx, seed, i),
                        n_gets,
                        time_limit,
                        sampler,
                        log,
                    )
                )
                # Were the logged-in sessions still logged in at the end (or did the fuzz
                # only see login redirects)?
                client = Client(s.server.host, s.server.port)
                for user, session in s.sessions.items():
                    resp = client.send(s.server.get("/account/", session.header()))
                    s.session_alive[user] = resp.status == 200
                client.close()
    except Exception as exc:  # report what was gathered, and fail
        import traceback

        log("the harness failed:\n" + traceback.format_exc())
        harness_error = f"{type(exc).__name__}: {exc}"
    finally:
        s.server.stop()
        if sampler is not None:
            sampler.stop()
    server_log = s.server.log_path.read_text(errors="replace")
    shutil.copy(s.server.log_path, out / "server.log") if len(server_log) < 50_000_000 else None
    if temp:
        shutil.rmtree(data, ignore_errors=True)
    return _report(s, seed, results, sampler, server_log, rss_limit_mib, out, log, harness_error)


def _replay(s: Setup, path: Path, log: Callable[[str], None]) -> PhaseResult:
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    old: dict[str, str] = {}
    saved = path.parent / "secrets.json"
    if saved.exists():
        old = json.loads(saved.read_text())
    new = dict(s.secrets)

    def make(i: int) -> Request:
        rec = records[i]
        raw = _substitute(base64.b64decode(rec["request"]), old, new)
        return Request(
            raw,
            rec.get("method", "GET"),
            fresh=rec.get("fresh", False),
            label=f"{rec['phase']}#{rec['index']} {rec['label']}",
        )

    return run_phase(s, "replay", make, 0, 3600, None, log, list(range(len(records))))


def _report(
    s: Setup,
    seed: int,
    results: list[PhaseResult],
    sampler: RssSampler | None,
    server_log: str,
    rss_limit_mib: float,
    out: Path,
    log: Callable[[str], None],
    harness_error: str = "",
) -> dict[str, object]:
    ok = not harness_error
    causes: dict[str, dict[str, object]] = {}
    with open(out / "failures.jsonl", "w") as fh:
        for r in results:
            for f in r.failures + r.no_answer:
                fh.write(json.dumps(asdict(f)) + "\n")
            for f in r.failures:
                c = causes.setdefault(
                    f.signature,
                    {
                        "count": 0,
                        "phase": f.phase,
                        "first": f"{f.phase}:{f.index}",
                        "label": f.label,
                        "status": f.status,
                        "traceback_tail": "\n".join(
                            line[:300] for line in f.traceback.splitlines()[-8:]
                        ),
                    },
                )
                c["count"] = int(c["count"]) + 1  # type: ignore[call-overload]
    phases = []
    for r in results:
        growth = (r.rss_kib.get("end", 0) - r.rss_kib.get("warm", 0)) / 1024
        second_half = (r.rss_kib.get("end", 0) - r.rss_kib.get("half", 0)) / 1024
        rss_ok = second_half <= rss_limit_mib
        phase_ok = (
            not r.failures
            and rss_ok
            and not r.statuses.get("worker-replaced")
            and not r.statuses.get("generator-error")
        )
        ok = ok and phase_ok
        phases.append(
            {
                "phase": r.name,
                "planned": r.planned,
                "sent": r.sent,
                "seconds": round(r.seconds, 1),
                "rate": round(r.rate, 1),
                "stopped_by_time": r.stopped_by_time,
                "statuses": dict(sorted(r.statuses.items())),
                "server_ms_by_status": {
                    k: round(1000 * v / r.statuses[k], 1)
                    for k, v in sorted(r.seconds_by_status.items())
                },
                "slowest": r.slowest,
                "5xx": len(r.failures),
                "no_answer": r.no_answer_count,
                "no_answer_by_kind": dict(r.no_answer_kinds.most_common()),
                "rss_mib": {k: round(v / 1024, 1) for k, v in r.rss_kib.items()},
                "rss_growth_after_warmup_mib": round(growth, 1),
                "rss_growth_second_half_mib": round(second_half, 1),
                "rss_ok": rss_ok,
                "ok": phase_ok,
            }
        )
    web = sampler.samples.get("web", []) if sampler else []
    tasks = sampler.samples.get("tasks", []) if sampler else []
    summary: dict[str, object] = {
        "seed": seed,
        "ok": ok,
        "harness_error": harness_error,
        "rss_limit_mib": rss_limit_mib,
        "phases": phases,
        "causes": dict(sorted(causes.items(), key=lambda kv: -int(kv[1]["count"]))),  # type: ignore[call-overload]
        "sessions_alive_at_end": s.session_alive,
        "log_tracebacks": dict(all_tracebacks(server_log).most_common()),
        "web_worker_rss_mib": {
            "first": round(web[0][1] / 1024, 1) if web else None,
            "peak": round(max(k for _, k in web) / 1024, 1) if web else None,
            "last": round(web[-1][1] / 1024, 1) if web else None,
        },
        "task_worker_rss_mib": {
            "first": round(tasks[0][1] / 1024, 1) if tasks else None,
            "peak": round(max(k for _, k in tasks) / 1024, 1) if tasks else None,
            "last": round(tasks[-1][1] / 1024, 1) if tasks else None,
        },
        "out": str(out),
    }
    # The run's tokens and session cookies, for --replay (kept apart from the summary, which
    # is the file to keep: these are throwaway credentials of a server that no longer runs).
    (out / "secrets.json").write_text(json.dumps(s.secrets, indent=2) + "\n")
    # names and answers quoted from hostile input may hold lone surrogates: escape them
    (out / "summary.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", errors="backslashreplace"
    )
    if web:
        (out / "rss.tsv").write_text("".join(f"{t:.1f}\t{k}\n" for t, k in web))
    for p in phases:
        log(
            f"{p['phase']}: {p['sent']}/{p['planned']} in {p['seconds']}s ({p['rate']}/s), "
            f"5xx {p['5xx']}, no answer {p['no_answer']}, RSS MiB {p['rss_mib']}, statuses {p['statuses']}"
        )
    for sig, c in summary["causes"].items():  # type: ignore[attr-defined]
        log(f"  {c['count']:>6} x {sig}  (first {c['first']}: {c['label']})")
    log(f"{'OK' if ok else 'FAILED'}; results in {out}")
    return summary


if __name__ == "__main__":
    sys.exit(main())
