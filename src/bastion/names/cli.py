"""``bastion check-name``: check proposed project names without a database.

Imports stay light (no Django): the command must start fast and stream many names.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

__all__ = ["cmd_check_name", "register"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "check-name",
        help="Check whether new project names would be refused (typosquats, prohibited names).",
        description=(
            "Check proposed project names against the protected (popular) names, the "
            "standard library and the prohibited names. Names come from the arguments, or "
            "from standard input, one per line, when none are given. Exit status is 0."
        ),
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="Names to check (default: stdin).")
    p.add_argument(
        "--json",
        action="store_true",
        help='One JSON object per name: {"name", "blocked", "reason", "target", ...}.',
    )
    p.add_argument(
        "--protected",
        metavar="FILE",
        help="Use this protected-names file (one name per line, most popular first) "
        "instead of the shipped list.",
    )
    p.add_argument(
        "--extra-protected",
        metavar="FILE",
        action="append",
        default=[],
        help="Protect the names in FILE as well (may be repeated).",
    )
    p.add_argument(
        "--prohibited",
        metavar="FILE",
        action="append",
        default=[],
        help="Refuse the names in FILE outright (may be repeated).",
    )
    p.add_argument(
        "--no-stdlib",
        action="store_true",
        help="Do not refuse standard-library module names.",
    )
    p.set_defaults(handler=cmd_check_name)


def _input_names(args_names: list[str], stdin: TextIO) -> Iterator[str]:
    if args_names:
        yield from args_names
        return
    for line in stdin:
        name = line.strip()
        if name:
            yield name


def cmd_check_name(args: argparse.Namespace) -> int:
    from bastion.names.policy import NamePolicy, load_names

    protected = load_names(args.protected) if args.protected else None
    extra: list[str] = []
    for path in args.extra_protected:
        extra.extend(load_names(path))
    prohibited: list[str] = []
    for path in args.prohibited:
        prohibited.extend(load_names(path))
    policy = NamePolicy(
        protected, extra_protected=extra, prohibited=prohibited, stdlib=not args.no_stdlib
    )
    _write((policy.check(n) for n in _input_names(args.names, sys.stdin)), as_json=args.json)
    return 0


def _write(verdicts: Iterable[Any], *, as_json: bool) -> None:
    # Bound to locals: this loop runs once per name on large inputs.
    out = sys.stdout
    dumps = json.dumps
    buf: list[str] = []
    for v in verdicts:
        if as_json and not v.blocked and v.code != "invalid" and '"' not in v.name:
            # Fast path for the common answer; valid names need no JSON escaping.
            buf.append(
                f'{{"name": "{v.name}", "blocked": false, "reason": null, "target": null, '
                f'"code": "{v.code}", "kind": null}}'
            )
        elif as_json:
            buf.append(
                dumps(
                    {
                        "name": v.name,
                        "blocked": v.blocked,
                        "reason": v.reason,
                        "target": v.target,
                        "code": v.code,
                        "kind": v.kind,
                    }
                )
            )
        elif v.blocked:
            buf.append(f"REFUSED  {v.name}: {v.reason}")
        else:
            note = " (protected name)" if v.code == "protected" else ""
            buf.append(f"allowed  {v.name}{note}")
        if len(buf) >= 1024:
            out.write("\n".join(buf) + "\n")
            buf.clear()
    if buf:
        out.write("\n".join(buf) + "\n")
    out.flush()
