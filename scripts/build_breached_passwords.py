#!/usr/bin/env python3
"""Build a breached-password file for BASTION_BREACHED_PASSWORDS_FILE from plain passwords.

    python scripts/build_breached_passwords.py PASSWORDS.txt [MORE.txt ...] -o breached.txt
    python scripts/build_breached_passwords.py - -o breached.txt < passwords.txt

Each input holds one password per line (a common-password list such as SecLists'
``10-million-password-list-top-1000000.txt``, or a list of your organisation's own leaked
passwords). The output has the layout of the Have I Been Pwned export that bastion searches
in place: ``SHA1:count`` lines, uppercase hex, sorted by hash, where count is how often the
password appeared in the inputs. With ``--merge`` an existing file in that layout (for
example the HIBP export itself, or an earlier output) is folded in, counts added up.

Only the line break is removed from each line: leading and trailing spaces are part of a
password. Empty lines are skipped. Inputs are read as UTF-8; bytes that are not valid UTF-8
are kept as they are, as a login form would receive them.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives import hashes


def sha1_hex(password: bytes) -> str:
    digest = hashes.Hash(hashes.SHA1())  # noqa: S303 - the key of the breach corpus
    digest.update(password)
    return digest.finalize().hex().upper()


def passwords(stream: BinaryIO) -> Iterator[bytes]:
    for raw in stream:
        line = raw.rstrip(b"\r\n")
        if line:
            yield line


def read_hash_file(stream: BinaryIO) -> Iterator[tuple[str, int]]:
    """``HASH:count`` or bare ``HASH`` lines (a count of 1)."""
    for number, raw in enumerate(stream, 1):
        line = raw.strip()
        if not line:
            continue
        key, _, count = line.partition(b":")
        text = key.decode("ascii", "replace").upper()
        if len(text) != 40 or any(c not in "0123456789ABCDEF" for c in text):
            raise SystemExit(f"line {number}: {text[:60]!r} is not a SHA-1 in hex")
        yield text, int(count) if count.strip().isdigit() else 1


def build(inputs: Iterable[BinaryIO], merge: Iterable[BinaryIO] = ()) -> Counter[str]:
    counts: Counter[str] = Counter()
    for stream in inputs:
        for password in passwords(stream):
            counts[sha1_hex(password)] += 1
    for stream in merge:
        for key, count in read_hash_file(stream):
            counts[key] += count
    return counts


def write(counts: Counter[str], output: Path) -> None:
    temporary = output.with_name(output.name + ".tmp")
    with open(temporary, "w", encoding="ascii", newline="\n") as handle:
        for key in sorted(counts):
            handle.write(f"{key}:{counts[key]}\n")
    temporary.replace(output)  # a server reading the old file never sees a half-written one


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", nargs="+", help="plain-text password lists ('-' = stdin)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="file to write")
    parser.add_argument(
        "--merge",
        action="append",
        type=Path,
        default=[],
        help="an existing SHA1:count file to fold in (repeatable)",
    )
    args = parser.parse_args(argv)
    opened: list[BinaryIO] = []
    try:
        streams: list[BinaryIO] = []
        for name in args.inputs:
            if name == "-":
                streams.append(sys.stdin.buffer)
            else:
                handle: BinaryIO = open(name, "rb")  # noqa: SIM115 - closed below
                opened.append(handle)
                streams.append(handle)
        merged: list[BinaryIO] = []
        for path in args.merge:
            merge_handle: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed below
            opened.append(merge_handle)
            merged.append(merge_handle)
        counts = build(streams, merged)
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        for handle in opened:
            handle.close()
    write(counts, args.output)
    print(f"{len(counts)} hashes written to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
