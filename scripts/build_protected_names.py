#!/usr/bin/env python3
"""Build src/bastion/names/data/protected.txt from a ranked list of PyPI projects.

    python scripts/build_protected_names.py [SOURCE.tsv] [--limit N] [--output FILE]

SOURCE is a tab-separated file with a header containing ``name`` and ``rank`` columns (e.g.
the shared ``pypi-top.tsv``: name, version, rank, summary). The output holds one PEP 503
canonical name per line, most popular first, with the rank as a second tab-separated column,
under a comment header saying where it came from. Duplicates after canonicalisation keep the
better rank.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "pypi-top.tsv"
DEFAULT_OUTPUT = ROOT / "src" / "bastion" / "names" / "data" / "protected.txt"
_SEP = re.compile(r"[-_.]+")


def canonical(name: str) -> str:
    return _SEP.sub("-", name.strip()).lower()


def read_ranked(source: Path) -> list[tuple[int, str]]:
    with source.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        if reader.fieldnames is None or "name" not in reader.fieldnames:
            raise SystemExit(f"{source}: expected a header with a 'name' column")
        rows: list[tuple[int, str]] = []
        for i, row in enumerate(reader, start=1):
            name = canonical(row.get("name") or "")
            if not name:
                continue
            try:
                rank = int(row.get("rank") or i)
            except ValueError:
                rank = i
            rows.append((rank, name))
    rows.sort()
    seen: set[str] = set()
    out: list[tuple[int, str]] = []
    for rank, name in rows:
        if name not in seen:
            seen.add(name)
            out.append((rank, name))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE, help="ranked TSV")
    ap.add_argument("--limit", type=int, default=15000, help="keep the N most popular (15000)")
    ap.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="file to write")
    args = ap.parse_args(argv)
    ranked = read_ranked(args.source)[: args.limit]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Protected project names: popular PyPI projects, most popular first.",
        f"# Built by scripts/build_protected_names.py from {args.source.name}; "
        f"{len(ranked)} names. Columns: canonical name, rank.",
    ]
    lines += [f"{name}\t{rank}" for rank, name in ranked]
    args.output.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(ranked)} names to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
