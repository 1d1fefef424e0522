#!/usr/bin/env bash
# bastion in the shared index benchmark (issue 2): starts a bastion loaded with the corpus (reads,
# port 8080) and an empty bastion per upload round (port 8081), both `bastion serve` pinned to
# CPU 1 like the peers, then runs the shared harness with the peers in the same run. Beside it,
# bastion-plain (ports 8082/8083): the same with BASTION_SERVE_FAST_PATH=0, gunicorn's own
# gthread worker without bastion's poller (BENCH_PLAIN=0 leaves it out).
#
#   bench/perf/run.sh [harness options: --rounds N --duration S --no-peers --only ...]
#
# The harness is NOT copied here: it is found at ../shared/bench/perf from the project root, or
# at $BASTION_PERF_HARNESS. Run its setup.sh once first. Table on stdout; JSON + table in
# $PERF_DIR/results/ (default ~/.cache/bastion-bench/perf/results/). Method: bench/README.md.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export BASTION_PERF_HARNESS="$(cd "${BASTION_PERF_HARNESS:-$ROOT/../shared/bench/perf}" && pwd)"
H="$BASTION_PERF_HARNESS"
[[ -x $H/run.sh ]] || { echo "harness not found at $H (set BASTION_PERF_HARNESS)" >&2; exit 1; }

peers=1
for a in "$@"; do [[ $a == --no-peers ]] && peers=0; done

trap '"$HERE/bastion.sh" stop' EXIT
"$HERE/bastion.sh" start-read
"$HERE/bastion.sh" template
# After each upload phase stop the upload instances (ours and, with peers, theirs: the harness's
# own --after-upload is overridden by this one), so neither their scans nor their idle workers
# share CPU 1 with the reads.
after="$HERE/bastion.sh stop-upload"
((peers)) && after="$H/peers.sh stop-upload; $after"
targets=()
while IFS= read -r t; do targets+=(--target "$t"); done < <("$HERE/bastion.sh" targets)
"$H/run.sh" "${targets[@]}" --after-upload "$after" "$@"
