#!/usr/bin/env bash
# Typosquat-name benchmark: bastion against the reference baselines, strict and full mode,
# in one run, with the shared harness (never copied into the project).
#
#   bench/typo/run.sh [OUTDIR]        # default OUTDIR: bench/typo/out
#
# TYPO_BENCH (default ../shared/bench/typo relative to the project root) points at the harness;
# BASTION (default .venv/bin/bastion) is the command under test; PY3 the harness's Python.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BENCH="${TYPO_BENCH:-$ROOT/../shared/bench/typo}"
BASTION="${BASTION:-$ROOT/.venv/bin/bastion}"
PY3="${PY3:-python3}"
OUT="${1:-$ROOT/bench/typo/out}"
REPEAT="${REPEAT:-3}"
mkdir -p "$OUT"
declare -A CMDS=(
  [bastion]="$BASTION check-name --protected {protected} --json"
  [naive]="$PY3 $BENCH/baselines.py naive {protected}"
  [warehouse]="$PY3 $BENCH/baselines.py warehouse {protected}"
)
for mode in strict full; do
  for name in bastion naive warehouse; do
    echo "== $name ($mode)" >&2
    "$PY3" "$BENCH/score.py" --cmd "${CMDS[$name]}" --mode "$mode" --repeat "$REPEAT" \
      --json "$OUT/$name-$mode.json" --errors "${ERRORS:-0}" > "$OUT/$name-$mode.txt"
  done
done
"$PY3" - "$OUT" <<'PY'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
print("| mode | checker | precision | recall | F1 | FPR | names/s | start-up s |")
print("|---|---|---|---|---|---|---|---|")
for mode in ("strict", "full"):
    for name in ("bastion", "naive", "warehouse"):
        r = json.loads((out / f"{name}-{mode}.json").read_text())
        print(f"| {mode} | {name} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} "
              f"| {r['fpr']:.3f} | {r['names_per_s']:,.0f} | {r['startup_seconds']:.3f} |")
PY
