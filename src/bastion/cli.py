"""The ``bastion`` command.

Each subcommand lives in the domain that owns it and registers itself through a
``register(subparsers)`` function listed in ``_COMMAND_MODULES``. Commands that must run
without a database (``scan``, ``check-name``) never import Django; the others call
:func:`bastion.cli_support.setup_django` first.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from bastion.cli_support import check_environment

# Modules that provide ``register(subparsers: argparse._SubParsersAction) -> None``.
_COMMAND_MODULES: tuple[str, ...] = (
    "bastion.commands",
    "bastion.names.cli",
    "bastion.scanning.cli",
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
    if not check_environment(args.command):
        return 2
    handler = args.handler
    result = handler(args)
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
