"""``bastion render``: re-render every simple page."""

from __future__ import annotations

import argparse
from typing import Any

from bastion.cli_support import setup_django


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("render", help="Re-render every simple page.")
    p.set_defaults(handler=cmd_render)


def cmd_render(args: argparse.Namespace) -> int:
    setup_django()
    from bastion.index import render

    print(f"rendered {render.render_all()} projects")
    return 0
