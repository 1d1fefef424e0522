"""``bastion check-name``: the index's verdict on proposed project names, as an upload and
the web page's check would give it (:func:`bastion.names.services.check_new_project_name`).

With the index's database (found through ``BASTION_DATA_DIR`` / ``BASTION_DATABASE_URL``) the
verdict is the index's own: its projects, the operator's protected and prohibited names,
namespaces and ``BASTION_RESERVE_PROTECTED_NAMES``. Without one (``--offline``, a names file
given, or no database there) only the shipped lists and that setting are known. Django is
imported only for the database, so the offline check starts fast and streams many names.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

__all__ = ["cmd_check_name", "register"]

_OFFLINE_UNKNOWN = (
    "this index's projects, the operator's protected and prohibited names, namespaces and "
    "moderator overrides are not known"
)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "check-name",
        help="Check whether new project names would be refused (typosquats, reserved names).",
        description=(
            "Give the index's verdict on proposed project names, with the reason an upload "
            "or the web page's check would give. Names come from the arguments, or from "
            "standard input, one per line, when none are given. With the index's database "
            "(BASTION_DATA_DIR or BASTION_DATABASE_URL) the verdict is the index's own. "
            f"Without it (--offline, a names file option, or no database found) {_OFFLINE_UNKNOWN}: "
            "only the shipped lists and BASTION_RESERVE_PROTECTED_NAMES apply. "
            "Exit status is 0."
        ),
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="Names to check (default: stdin).")
    p.add_argument(
        "--json",
        action="store_true",
        help='One JSON object per name: {"name", "blocked", "reason", "target", "code", "kind"}.',
    )
    p.add_argument(
        "--offline",
        action="store_true",
        help="Do not read the index's database: check against the shipped lists only.",
    )
    p.add_argument(
        "--protected",
        metavar="FILE",
        help="Use this protected-names file (one name per line, most popular first) "
        "instead of the shipped list (implies --offline).",
    )
    p.add_argument(
        "--extra-protected",
        metavar="FILE",
        action="append",
        default=[],
        help="Protect the names in FILE as well (may be repeated; implies --offline).",
    )
    p.add_argument(
        "--prohibited",
        metavar="FILE",
        action="append",
        default=[],
        help="Refuse the names in FILE outright (may be repeated; implies --offline).",
    )
    p.add_argument(
        "--no-stdlib",
        action="store_true",
        help="Do not refuse standard-library module names (implies --offline).",
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


def _missing_sqlite_file(database_url: str) -> Path | None:
    """The SQLite file ``database_url`` names, when it does not exist (no index there yet)."""
    if not database_url.startswith("sqlite:"):
        return None
    path = Path(database_url.removeprefix("sqlite:").removeprefix("///"))
    return None if path.is_file() else path


def cmd_check_name(args: argparse.Namespace) -> int:
    from bastion.config import SettingsError, from_environ
    from bastion.names.policy import NamePolicy, load_names
    from bastion.names.services import Rules, check_new_project_name, fixed_rules

    try:
        settings = from_environ(os.environ)
    except SettingsError as exc:
        print(f"bastion check-name: {exc}", file=sys.stderr)
        return 2
    custom = bool(args.protected or args.extra_protected or args.prohibited or args.no_stdlib)
    offline = args.offline or custom
    missing = None if offline else _missing_sqlite_file(settings.database_url)
    if missing is not None:
        print(
            f"bastion check-name: no database at {missing}, checking offline: "
            f"{_OFFLINE_UNKNOWN} (set BASTION_DATA_DIR to the index's data folder)",
            file=sys.stderr,
        )
        offline = True

    rules: Rules
    projects: tuple[str, ...] = ()
    if offline:
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
        rules = fixed_rules(policy, reserve_protected=settings.reserve_protected_names)
    else:
        from bastion.cli_support import setup_django

        setup_django()
        from django.db import DatabaseError

        from bastion.names import database
        from bastion.packages.services import project_names

        try:
            rules = database.rules()
            # As the upload and the web page pass them; one tuple for every name, so that
            # each check finds the cached index of them at once.
            projects = tuple(project_names())
        except DatabaseError as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            print(
                f"bastion check-name: cannot read the index's database ({first}); run "
                "`bastion migrate`, or use --offline to check against the shipped lists only",
                file=sys.stderr,
            )
            return 2
    verdicts = (
        check_new_project_name(n, user_id=None, projects=projects, rules=rules)
        for n in _input_names(args.names, sys.stdin)
    )
    _write(verdicts, as_json=args.json)
    return 0


def _write(verdicts: Iterable[Any], *, as_json: bool) -> None:
    from bastion.names.services import EXISTING

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
        elif v.code == EXISTING:
            buf.append(f"taken    {v.name}: {v.reason}")
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
