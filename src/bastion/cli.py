"""The ``bastion`` command.

Each subcommand lives in the domain that owns its concept and registers itself through the
``register(subparsers)`` function of that domain's ``cli`` module, listed in
``_COMMAND_MODULES``; :mod:`bastion.server` has those about the installation as a whole. No
``cli`` module imports Django at import time: commands that must run without a database
(``scan``, ``check-name``) never import it, the others call
:func:`bastion.cli_support.setup_django` first.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from bastion.cli_support import check_environment
from bastion.events import origin

# Modules that provide ``register(subparsers: argparse._SubParsersAction) -> None``.
# In the order ``bastion --help`` lists them: running the index, then the operator's commands
# by domain, then the two that need no database.
_COMMAND_MODULES: tuple[str, ...] = (
    "bastion.server",  # serve, migrate, check
    "bastion.upload.cli",  # worker, rescan
    "bastion.accounts.cli",  # user
    "bastion.tokens.cli",  # token
    "bastion.packages.cli",  # yank, release, hold, files
    "bastion.index.cli",  # render
    "bastion.names.cli",  # check-name
    "bastion.scanning.cli",  # scan, survey
)

# Commands that run the index rather than act on it: what they record is the index's own
# decision (a scan's verdict) or carries its request, never an operator's command.
_SERVICES = frozenset({"serve", "worker"})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bastion",
        description="A self-hostable, PyPI-compatible package index built to stop supply-chain attacks.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module_name in _COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not check_environment(args.command):
        return 2
    handler = args.handler
    if args.command in _SERVICES:
        return int(handler(args) or 0)
    with origin.command_line(origin.login_name()):
        return int(handler(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
