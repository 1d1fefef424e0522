"""What every command does first, and helpers for commands that need Django (and so the
database)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TextIO

from bastion.config import SettingsError, from_environ, unknown_variables


def check_environment(
    command: str, environ: Mapping[str, str] = os.environ, stderr: TextIO | None = None
) -> bool:
    """Report ``BASTION_*`` variables that are no setting, then check the settings' values;
    False (after one line saying which variable and why) when one cannot be used.

    Every command starts here, those without Django too, so a misspelt or bad setting is
    told before anything runs rather than as a traceback from deep in Django's start-up.
    """
    out = stderr or sys.stderr
    for line in unknown_variables(environ):
        print(f"bastion {command}: warning: {line}", file=out)
    try:
        from_environ(environ)
    except SettingsError as exc:
        print(f"bastion {command}: {exc}", file=out)
        return False
    return True


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bastion.settings")
    import django

    django.setup()


def migrate(verbosity: int = 0) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)
