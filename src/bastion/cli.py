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
import functools
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import ParamSpec

from bastion.cli_support import check_environment, prepare_index
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


#: The exit status of a command whose reader went away (``bastion files | head``): that of a
#: process killed by SIGPIPE, as ``cat`` or ``grep`` end there, since the command stopped at
#: that write and did not finish (``set -o pipefail`` scripts treat it as they treat them).
SIGPIPE_STATUS = 141

P = ParamSpec("P")


def _quiet_when_stdout_closes(command: Callable[P, int]) -> Callable[P, int]:
    """A closed standard output ends the command quietly with :data:`SIGPIPE_STATUS`, not a
    ``BrokenPipeError`` traceback. stdout is flushed before returning, so the closed pipe shows
    here rather than in the interpreter's exit, and is replaced by /dev/null so that exit's
    own flush has nowhere to fail."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> int:
        try:
            try:
                return command(*args, **kwargs)
            finally:
                sys.stdout.flush()
        except BrokenPipeError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
            return SIGPIPE_STATUS

    return run


@_quiet_when_stdout_closes
def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not check_environment(args.command) or not prepare_index(args.command):
        return 2
    handler = args.handler
    if args.command in _SERVICES:
        return int(handler(args) or 0)
    with origin.command_line(origin.login_name()):
        return int(handler(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
