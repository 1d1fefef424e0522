#!/usr/bin/env bash
# Typosquat-name benchmark: bastion against the reference baselines, strict and full mode, on
# the tune part, the held-out part (split by target project, bench/typo/split.py) and the whole
# development set, in one run, with the shared harness (never copied into the project).
#
#   bench/typo/run.sh [OUTDIR]        # default OUTDIR: bench/typo/out
#
# TYPO_BENCH (default ../shared/bench/typo relative to the project root) points at the harness;
# TYPO_DATA (default the harness's ../../data/typo-dev) at the development set; TYPO_SPLIT
# (default ~/.cache/bastion-bench/typo-split) is where the two parts are written; BASTION
# (default .venv/bin/bastion) is the command under test; PY3 the harness's Python.
#
# Throughput (names/s) is measured once per checker and mode, on the whole set (REPEAT runs of
# 100,000 names); the parts are scored with one short timing run each, not reported.
# The harness's contract is that a protected name is never refused, so the command runs with
# BASTION_RESERVE_PROTECTED_NAMES off (the index's own default reserves them, a different
# question from look-alikes).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BENCH="${TYPO_BENCH:-$ROOT/../shared/bench/typo}"
DATA="${TYPO_DATA:-$BENCH/../../data/typo-dev}"
SPLIT="${TYPO_SPLIT:-${XDG_CACHE_HOME:-$HOME/.cache}/bastion-bench/typo-split}"
BASTION="${BASTION:-$ROOT/.venv/bin/bastion}"
PY3="${PY3:-python3}"
OUT="${1:-$ROOT/bench/typo/out}"
REPEAT="${REPEAT:-3}"
mkdir -p "$OUT"
"$PY3" "$ROOT/bench/typo/split.py" --data "$DATA" --out "$SPLIT" >&2
declare -A CMDS=(
  [bastion]="env BASTION_RESERVE_PROTECTED_NAMES=false $BASTION check-name --protected {protected} --json"
  [naive]="$PY3 $BENCH/baselines.py naive {protected}"
  [warehouse]="$PY3 $BENCH/baselines.py warehouse {protected}"
)
declare -A FOLDERS=([tune]="$SPLIT/tune" [held-out]="$SPLIT/held-out" [all]="$DATA")
for part in tune held-out all; do
  if [ "$part" = all ]; then timing=(--repeat "$REPEAT"); else timing=(--repeat 1 --throughput-names 2000); fi
  for mode in strict full; do
    for name in bastion naive warehouse; do
      echo "== $name ($part, $mode)" >&2
      # Errors are printed for the tune part only: the held-out part is scored, never read.
      errors=0
      if [ "$part" = tune ]; then errors="${ERRORS:-0}"; fi
      "$PY3" "$BENCH/score.py" --data "${FOLDERS[$part]}" --cmd "${CMDS[$name]}" --mode "$mode" \
        "${timing[@]}" --json "$OUT/$name-$part-$mode.json" --errors "$errors" \
        > "$OUT/$name-$part-$mode.txt"
    done
  done
done
"$PY3" - "$OUT" <<'PY'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
load = lambda name, part, mode: json.loads((out / f"{name}-{part}-{mode}.json").read_text())
print("| part | mode | checker | precision | recall | F1 | FPR | names/s |")
print("|---|---|---|---|---|---|---|---|")
for part in ("tune", "held-out", "all"):
    for mode in ("strict", "full"):
        for name in ("bastion", "naive", "warehouse"):
            r = load(name, part, mode)
            speed = f"{r['names_per_s']:,.0f}" if part == "all" else "-"
            print(f"| {part} | {mode} | {name} | {r['precision']:.3f} | {r['recall']:.3f} "
                  f"| {r['f1']:.3f} | {r['fpr']:.3f} | {speed} |")
for key, title in (("fp_by_kind", "legitimate look-alikes refused"),
                   ("recall_by_kind", "typosquats caught")):
    print()
    print(f"bastion, strict: {title}, by kind")
    print()
    kinds = sorted(load("bastion", "all", "strict")[key])
    print("| part | " + " | ".join(kinds) + " |")
    print("|---|" + "---|" * len(kinds))
    for part in ("tune", "held-out", "all"):
        by_kind = load("bastion", part, "strict")[key]
        print(f"| {part} | " + " | ".join(by_kind.get(k, "-") for k in kinds) + " |")
PY
