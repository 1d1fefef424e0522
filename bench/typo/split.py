#!/usr/bin/env python3
"""Split the typosquat development set into a tune part and a held-out part, by target project.

    bench/typo/split.py [--data DIR] [--out DIR]

Every row is keyed by the project it imitates or sits next to (``target:<canonical target>``;
a row without a target, a random existing name, by ``name:<canonical name>``) and the key goes
through the same keyed hash as every other bench set (``bench/malware/corpus.py`` ``held_out``):
one key in three is held out. Keying by target keeps every look-alike of one project, squat or
legitimate family member, on the same side, so rules tuned on ``tune`` are judged on projects
they have never seen.

Writes ``OUT/tune`` and ``OUT/held-out`` (default ``~/.cache/bastion-bench/typo-split``), each a
folder the shared harness's ``score.py --data`` takes: ``dev.csv`` (the part's rows) and copies
of ``protected-dev.txt`` and ``protected-full.txt`` (unchanged: the protected names are the
same popular projects for both parts). Rules are tuned on ``tune`` only; ``held-out`` is scored
in aggregate, never read row by row.
"""

from __future__ import annotations

import argparse
import csv
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench" / "malware"))
from corpus import CACHE, SHARED, held_out  # noqa: E402

DEFAULT_DATA = SHARED / "data" / "typo-dev"
DEFAULT_OUT = CACHE / "typo-split"
PROTECTED_FILES = ("protected-dev.txt", "protected-full.txt")


def canonical(name: str) -> str:
    """PEP 503 form, as the harness compares names."""
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


def split_key(row: dict[str, str]) -> str:
    """The key a row is split by: its target project, or its own name when it has none."""
    target = canonical(row.get("target") or "")
    return f"target:{target}" if target else f"name:{canonical(row['name'])}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder holding dev.csv")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)

    with (args.data / "dev.csv").open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        fields = list(reader.fieldnames or ())
        rows = list(reader)
    parts: dict[str, list[dict[str, str]]] = {"tune": [], "held-out": []}
    for row in rows:
        parts["held-out" if held_out(split_key(row)) else "tune"].append(row)
    for part, part_rows in parts.items():
        folder = args.out / part
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "dev.csv").open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows(part_rows)
        for name in PROTECTED_FILES:
            shutil.copyfile(args.data / name, folder / name)
        squats = sum(r["label"] == "typosquat" for r in part_rows)
        keys = len({split_key(r) for r in part_rows})
        print(
            f"{part}: {len(part_rows)} names ({squats} typosquats, {len(part_rows) - squats} "
            f"legitimate), {keys} keys -> {folder}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
