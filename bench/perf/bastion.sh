#!/usr/bin/env bash
# Start/stop the bastion instances of the performance benchmark (see bench/README.md).
#
#   bastion.sh start-read     bastion on READ_PORT (8080), own data dir, corpus uploaded with twine
#                             and waited for until every file is published (scanned) and listed
#   bastion.sh template       build the upload template once: a migrated, EMPTY data dir holding
#                             user `bench` and an API token (written to <template>/bench-token)
#   bastion.sh fresh-upload   (re)start an EMPTY bastion on UPLOAD_PORT (8081) from a copy of the
#                             template (the `prepare=` hook of the harness: tokens are DB rows, so
#                             the template's DB and secret key travel together and the token stays valid)
#   bastion.sh fresh-upload-plain   the same for bastion-plain, on PLAIN_UPLOAD_PORT (8083)
#   bastion.sh stop-upload    stop the upload instances (run after the upload phase of each round)
#   bastion.sh token          print the upload instance's token
#   bastion.sh target         print the --target spec of bastion for the shared harness
#   bastion.sh targets        print the specs of bastion and bastion-plain, one a line
#   bastion.sh stop           stop everything this script started (by pid file)
#
# BASTION_SRC=<src dir> runs that source tree instead of the project's (same venv).
# Every bastion is `bastion serve` (gunicorn gthread, 1 web process x 4 threads, plus its
# background worker: the embedded default) pinned with taskset to SERVER_CPU (1). Clients (twine)
# are pinned to CLIENT_CPU (0). State under $PERF_DIR/bastion (default ~/.cache/bastion-bench/perf).
#
# bastion-plain (unless BENCH_PLAIN=0) is the same `bastion serve` with BASTION_SERVE_FAST_PATH=0:
# gunicorn's own gthread worker, no poller, every request through the WSGI application (FastPath,
# then Django). Its read instance serves the read instance's data folder on PLAIN_READ_PORT (8082)
# with --no-worker (the corpus is loaded and scanned once); its upload instance is its own.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
HARNESS="$(cd "${BASTION_PERF_HARNESS:-$ROOT/../shared/bench/perf}" && pwd)"
PERF="${PERF_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bastion-bench/perf}"
PERF="$(mkdir -p "$PERF" && cd "$PERF" && pwd)"
# BASTION_SRC=/path/to/src runs another source tree (e.g. a scratch copy with a candidate fix)
# with the project's venv: PYTHONPATH wins over the editable install and reaches the children.
if [[ -n ${BASTION_SRC:-} ]]; then
  export PYTHONPATH="$(cd "$BASTION_SRC" && pwd)${PYTHONPATH:+:$PYTHONPATH}"
  BASTION_CMD=("$ROOT/.venv/bin/python" -m bastion)
else
  BASTION_CMD=("${BASTION_BIN:-$ROOT/.venv/bin/bastion}")
fi
TWINE="$PERF/venvs/harness/bin/twine"
PY="$PERF/venvs/harness/bin/python"
CORPUS="$PERF/corpus"
ST="$PERF/bastion"; RUN="$ST/run"
SERVER_CPU="${SERVER_CPU:-1}"; CLIENT_CPU="${CLIENT_CPU:-0}"
READ_PORT="${READ_PORT:-8080}"; UPLOAD_PORT="${UPLOAD_PORT:-8081}"
PLAIN_READ_PORT="${PLAIN_READ_PORT:-8082}"; PLAIN_UPLOAD_PORT="${PLAIN_UPLOAD_PORT:-8083}"
PLAIN="${BENCH_PLAIN:-1}"
THREADS="${BASTION_THREADS:-4}"
USER_=bench; EMAIL=b@example.com; PASS_="bench-passphrase-not-secret-1"
mkdir -p "$ST" "$RUN"

log() { echo "[bastion] $*" >&2; }

wait_http() { # url [seconds]
  local url=$1 n=${2:-120}
  for _ in $(seq 1 $((n * 5))); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.2
  done
  log "timeout waiting for $url"; return 1
}

stop_one() { # name: TERM the process group (bastion serve -> gunicorn + worker), then KILL
  local f="$RUN/$1.pid"
  [[ -f $f ]] || return 0
  local pid; pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

serve() { # name port datadir [serve options]; FAST_PATH=0: bastion-plain
  local name=$1 port=$2 dir=$3; shift 3
  stop_one "$name"
  BASTION_DATA_DIR="$dir" BASTION_SERVE_FAST_PATH="${FAST_PATH:-1}" setsid taskset -c "$SERVER_CPU" \
    "${BASTION_CMD[@]}" serve --host 127.0.0.1 --port "$port" --threads "$THREADS" "$@" \
    >"$RUN/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
  wait_http "http://127.0.0.1:$port/simple/" 180 || { tail -20 "$RUN/$name.log" >&2; return 1; }
}

# The corpus is public PyPI projects republished by upload: exactly the case for which an
# operator turns off the reservation of popular names (docs/names.md). Optional per-user
# NameOverrides for other refused names: BENCH_NAME_OVERRIDES="name1 name2".
export BASTION_RESERVE_PROTECTED_NAMES="${BASTION_RESERVE_PROTECTED_NAMES-0}"
# 84 new projects in one upload run: over the default project-creation limit (PyPI's 20/h per
# user), which an operator importing an existing set of projects raises the same way.
export BASTION_RATE_LIMITS="${BASTION_RATE_LIMITS-project-create.user=off,project-create.ip=off}"
# The corpus has python-dateutil-2.9.0.post0.tar.gz, named before PEP 625.
export BASTION_STRICT_SDIST_FILENAMES="${BASTION_STRICT_SDIST_FILENAMES-0}"
NAME_OVERRIDES="${BENCH_NAME_OVERRIDES-}"

make_user() { # datadir -> prints the token
  local dir=$1
  BASTION_DATA_DIR="$dir" "${BASTION_CMD[@]}" user create "$USER_" --email "$EMAIL" --password-stdin --with-totp <<<"$PASS_" >/dev/null
  if [[ -n $NAME_OVERRIDES ]]; then
    BASTION_DATA_DIR="$dir" "$ROOT/.venv/bin/python" - "$USER_" $NAME_OVERRIDES <<'PY'
import sys
from bastion.cli_support import setup_django
setup_django()
from bastion.accounts.models import User
from bastion.names.models import NameOverride
user = User.objects.get(username=sys.argv[1])
for name in sys.argv[2:]:
    NameOverride.objects.get_or_create(name=name, user=user, defaults={"reason": "perf benchmark corpus"})
PY
  fi
  BASTION_DATA_DIR="$dir" "${BASTION_CMD[@]}" token create "$USER_" --token-name perf-bench
}

corpus_files() { awk '{print $1}' "$HARNESS/corpus.lock" | sed "s|^|$CORPUS/|"; }

cmd_start_read() {
  local dir="$ST/read-data"
  stop_one read-plain; stop_one read
  rm -rf "$dir"; mkdir -p "$dir"
  serve read "$READ_PORT" "$dir"
  local token; token=$(make_user "$dir")
  log "loading the read instance: twine upload of $(corpus_files | wc -l) files"
  local t0=$SECONDS
  # shellcheck disable=SC2046
  if ! taskset -c "$CLIENT_CPU" "$TWINE" upload --non-interactive --disable-progress-bar \
      --repository-url "http://127.0.0.1:$READ_PORT/legacy/" -u __token__ -p "$token" \
      $(corpus_files) >"$RUN/twine-load.log" 2>&1; then
    log "twine load failed, see $RUN/twine-load.log"; tail -15 "$RUN/twine-load.log" >&2; return 1
  fi
  log "uploaded in $((SECONDS - t0)) s; waiting for the scanner to publish every file"
  # A corpus file the scanner HOLDS would never appear: list it (a false positive to report) and,
  # unless BENCH_RELEASE_HELD=0, release it as a moderator would.
  local rel=(); [[ ${BENCH_RELEASE_HELD:-1} == 1 ]] && rel=(--release)
  BASTION_DATA_DIR="$dir" "$ROOT/.venv/bin/python" "$HERE/release_held.py" "${rel[@]}" 2>&1 \
    | tee "$RUN/held.log" >&2
  "$PY" "$HERE/wait_published.py" --harness "$HARNESS" --simple "http://127.0.0.1:$READ_PORT/simple/" \
    --timeout "${PUBLISH_TIMEOUT:-900}"
  log "read instance ready in $((SECONDS - t0)) s: http://127.0.0.1:$READ_PORT/simple/"
  if [[ $PLAIN == 1 ]]; then
    FAST_PATH=0 serve read-plain "$PLAIN_READ_PORT" "$dir" --no-worker
    log "bastion-plain reads the same data: http://127.0.0.1:$PLAIN_READ_PORT/simple/"
  fi
}

# Bump when what the template holds changes (2: the user has TOTP, as uploading requires 2FA).
TEMPLATE_VERSION=2

cmd_template() {
  local tpl="$ST/upload-template"
  if [[ -s $tpl/bench-token && -z ${REBUILD_TEMPLATE:-} \
        && "$(cat "$tpl/version" 2>/dev/null)" == "$TEMPLATE_VERSION" ]]; then return 0; fi
  rm -rf "$tpl"; mkdir -p "$tpl"
  BASTION_DATA_DIR="$tpl/data" "${BASTION_CMD[@]}" migrate >/dev/null
  make_user "$tpl/data" >"$tpl/bench-token.tmp"
  mv "$tpl/bench-token.tmp" "$tpl/bench-token"
  echo "$TEMPLATE_VERSION" >"$tpl/version"
  log "upload template: $tpl (user $USER_, token in bench-token)"
}

cmd_fresh_upload() { # [name port fast-path]
  local name=${1:-upload} port=${2:-$UPLOAD_PORT}
  cmd_template
  stop_one "$name"
  rm -rf "$ST/$name-data"
  cp -a "$ST/upload-template/data" "$ST/$name-data"
  FAST_PATH=${3:-1} serve "$name" "$port" "$ST/$name-data"
}

spec() { # name read-port upload-port prepare-command
  echo "name=$1,simple=http://127.0.0.1:$2/simple/,upload=http://127.0.0.1:$3/legacy/,user=__token__,password=$(cat "$ST/upload-template/bench-token"),prepare=$4"
}

case "${1:-}" in
  start-read) cmd_start_read ;;
  template) cmd_template ;;
  fresh-upload) cmd_fresh_upload ;;
  fresh-upload-plain) cmd_fresh_upload upload-plain "$PLAIN_UPLOAD_PORT" 0 ;;
  stop-upload) stop_one upload; stop_one upload-plain ;;
  token) cmd_template; cat "$ST/upload-template/bench-token" ;;
  target) cmd_template; spec bastion "$READ_PORT" "$UPLOAD_PORT" "$HERE/bastion.sh fresh-upload" ;;
  targets)
    cmd_template
    spec bastion "$READ_PORT" "$UPLOAD_PORT" "$HERE/bastion.sh fresh-upload"
    if [[ $PLAIN == 1 ]]; then
      spec bastion-plain "$PLAIN_READ_PORT" "$PLAIN_UPLOAD_PORT" "$HERE/bastion.sh fresh-upload-plain"
    fi
    ;;
  stop) stop_one read-plain; stop_one read; stop_one upload; stop_one upload-plain ;;
  *) sed -n '2,27p' "$0"; exit 2 ;;
esac
