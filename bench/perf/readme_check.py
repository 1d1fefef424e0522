#!/usr/bin/env python3
"""Time the upload's README check (``bastion.packages.readme.renders``) over the corpus's
reStructuredText descriptions, with the lazily built parsing states of
``bastion.packages.rst_fast`` and with docutils' own parser, interleaved so that the VM's
drift falls on both alike.

  PYTHONPATH=src python bench/perf/readme_check.py [--corpus DIR] [--rounds 9]

The corpus defaults to ``$PERF_DIR/corpus`` (``~/.cache/bastion-bench/perf/corpus``, where
``bench/perf/run.sh`` puts it). Prints the median time of one pass over every description.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tarfile
import time
import zipfile
from pathlib import Path

from packaging.metadata import parse_email

from bastion.packages import readme, rst_fast


def rst_descriptions(corpus: Path) -> list[str]:
    """Each distinct reStructuredText description of the corpus's files, read as data."""
    found: list[str] = []
    for path in sorted(corpus.iterdir()):
        if path.suffix == ".whl":
            with zipfile.ZipFile(path) as wheel:
                name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
                data = wheel.read(name)
        elif path.name.endswith(".tar.gz"):
            with tarfile.open(path) as sdist:
                member = next(
                    m
                    for m in sdist.getmembers()
                    if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO")
                )
                extracted = sdist.extractfile(member)
                assert extracted is not None
                data = extracted.read()
        else:
            continue
        raw, _ = parse_email(data)
        text = raw.get("description") or ""
        kind = readme.split_content_type(raw.get("description_content_type") or "")[0]
        if text.strip() and kind == readme.RST and text not in found:
            found.append(text)
    return found


def one_pass(texts: list[str], fast: bool) -> float:
    rst_fast.AVAILABLE = fast  # read by readme._verdict_parser on every check
    start = time.perf_counter()
    for text in texts:
        readme.renders(text, readme.RST)
    return time.perf_counter() - start


def main() -> int:
    perf_dir = Path(os.environ.get("PERF_DIR", Path.home() / ".cache/bastion-bench/perf"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=perf_dir / "corpus")
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    if not rst_fast.AVAILABLE:
        print(f"rst_fast is off with docutils {rst_fast.docutils.__version__}", file=sys.stderr)
        return 1
    texts = rst_descriptions(args.corpus)
    one_pass(texts, True), one_pass(texts, False)  # warm both: imports, caches
    times: dict[bool, list[float]] = {True: [], False: []}
    for round_number in range(args.rounds):
        order = (True, False) if round_number % 2 else (False, True)
        for fast in order:
            times[fast].append(one_pass(texts, fast))
    standard, fast = statistics.median(times[False]), statistics.median(times[True])
    print(f"{len(texts)} reStructuredText descriptions, median of {args.rounds} passes")
    print(f"docutils' parser: {standard * 1000:.0f} ms   rst_fast: {fast * 1000:.0f} ms")
    print(f"rst_fast takes {fast / standard:.2f}x the time ({standard / fast:.2f}x faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
