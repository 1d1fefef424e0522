"""``python -m bastion.names ...``: the ``check-name`` command on its own (same options).

Useful where the full ``bastion`` command is not installed; it imports only this domain.
"""

from __future__ import annotations

import argparse
import sys

from bastion.names.cli import register


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bastion.names")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    register(sub)
    args = parser.parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
