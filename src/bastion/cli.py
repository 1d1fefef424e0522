"""The ``bastion`` command.

Each subcommand lives in the domain that owns its concept and registers itself through the
``register(subparsers)`` function of that domain's ``cli`` module, listed in
``_COMMAND_MODULES``; :mod:`bastion.server` has those about the installation as a whole. No
``cli`` module imports Django at import time: commands that must run without a database
(``scan``, ``check-name``) never import it, the others call
:func:`bastion.cli_support.setup_django` first. Before any handler runs, :func:`main` checks the
environment, then makes the data folder (``serve``, ``migrate``) or checks that the index the
settings point at exists (every other command with a database), so a command run from the
wrong folder says where it looked and exits 2 instead of creating an empty index there.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from bastion.cli_support import check_environment, prepare_index

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
    if not check_environment(args.command) or not prepare_index(args.command):
        return 2
    handler = args.handler
    result = handler(args)
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
