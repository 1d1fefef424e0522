"""What every command does first, and helpers for commands that need Django (and so the
database)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from bastion.config import (
    BastionSettings,
    SettingsError,
    from_environ,
    make_data_dir,
    unknown_variables,
)

#: Commands that run without an index: they never open the database.
WITHOUT_INDEX = frozenset({"check-name", "scan", "survey"})
#: Commands that create the index where there is none (the data folder, its key, the schema).
#: Every other command needs an existing one and refuses to start without it, so that a
#: command run from the wrong folder says where it looked instead of making a new, empty index.
CREATES_INDEX = frozenset({"serve", "migrate"})


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


def prepare_index(
    command: str, environ: Mapping[str, str] = os.environ, stderr: TextIO | None = None
) -> bool:
    """Check that there is an index for the commands that need one (those that create one
    make its folder themselves, :func:`make_index_folder`, once their own checks have passed).
    False (after one line naming the folder looked at and what to do) when there is none.
    Call after :func:`check_environment`."""
    if command in WITHOUT_INDEX or command in CREATES_INDEX:
        return True
    problem = missing_index()
    if problem is None:
        return True
    print(f"bastion {command}: {problem}", file=stderr or sys.stderr)
    return False


def missing_index() -> str | None:
    """Why there is no index where the settings point (one line), or None when there is one.

    Looks through Django's own settings and connection, so it sees what the command would use.
    Nothing is created: reading the settings writes nothing, and a SQLite file that is not
    there is not opened (opening would create it).
    """
    setup_django()
    from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

    from bastion.config import current

    data_dir = current().data_dir
    where = (
        "set BASTION_DATA_DIR to your index's data folder (the default is ./data under the "
        "folder you run bastion in), or create an index there with `bastion migrate`"
    )
    if not data_dir.is_dir():
        return f"no bastion index at {data_dir} (no such folder); {where}"
    if not current().secret_key and not (data_dir / "secret_key").is_file():
        return f"no bastion index at {data_dir} (no secret_key in it); {where}"
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor == "sqlite":
        from django.db.backends.sqlite3.base import DatabaseWrapper

        assert isinstance(connection, DatabaseWrapper)
        database = Path(connection.settings_dict["NAME"])
        if not connection.is_in_memory_db() and not database.is_file():
            return f"no bastion index at {data_dir} (no database {database}); {where}"
    try:
        tables = connection.introspection.table_names()
    except DatabaseError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"cannot open the database of the index at {data_dir}: {reason}"
    if "django_migrations" not in tables:
        return (
            f"the database of the index at {data_dir} has no tables yet; "
            "run `bastion migrate` (or `bastion serve`) first"
        )
    return None


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bastion.settings")
    import django

    django.setup()


def migrate(verbosity: int = 0) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)


def make_index_folder(settings: BastionSettings | None = None) -> None:
    """Create the data folder and its secret key where the settings point, for the commands
    that create an index (:data:`CREATES_INDEX`), after their own checks: a command refused
    at start leaves nothing behind. ``settings``: those the command already read."""
    make_data_dir(settings if settings is not None else from_environ(os.environ))
