"""``bastion survey --imports MODULE``: who uses a module, and which of its functions.

:func:`survey_archive` is pure (archive in, ``{module: {functions}}`` out, read with
:mod:`ast` only). :func:`run_survey` is the command: it needs the database, so it sets Django
up and walks the index's files.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, BinaryIO

from bastion.archives import ArchiveError, open_archive
from bastion.scanning.config import DEFAULT_CONFIG
from bastion.scanning.rules.pyfacts import analyse


def _matches(name: str, module: str) -> bool:
    return name == module or name.startswith(module + ".")


def survey_archive(source: str | os.PathLike[str] | BinaryIO, module: str) -> dict[str, set[str]]:
    """Return ``{module_or_submodule: {functions called}}`` for one archive.

    A module that is imported but none of whose functions are called maps to an empty set.
    Unreadable archives give an empty result.
    """
    found: dict[str, set[str]] = {}
    try:
        archive = open_archive(source, DEFAULT_CONFIG.limits)
    except (ArchiveError, OSError):
        return found
    with archive:
        for member, data in archive.iter_files(DEFAULT_CONFIG.max_python_bytes):
            if (
                not member.name.endswith((".py", ".pyw"))
                or module.split(".")[0].encode() not in data
            ):
                continue
            facts = analyse(data, member.name)
            for imported in facts.imports:
                if _matches(imported, module):
                    found.setdefault(module, set())
            for qual in facts.calls:
                if _matches(qual, module) and qual != module:
                    owner, _, func = qual.rpartition(".")
                    key = owner if _matches(owner, module) else module
                    found.setdefault(key, set()).add(func)
    return found


def run_survey(module: str, *, as_json: bool, state: str = "published") -> int:
    """The command: iterate the index's files in ``state`` and print who uses ``module``."""
    from bastion.cli_support import setup_django

    setup_django()
    from bastion.packages.models import File
    from bastion.storage import get_storage

    storage = get_storage()
    files = (
        File.objects.filter(state=state)
        .select_related("release__project")
        .order_by("release__project__normalized_name", "filename")
    )
    rows: list[dict[str, Any]] = []
    modules: dict[str, list[str]]
    for f in files.iterator():
        try:
            with storage.open(f.storage_key) as fh:
                usage = survey_archive(fh, module)
        except (OSError, ValueError) as exc:
            print(f"bastion survey: {f.filename}: {exc}", file=sys.stderr)
            continue
        if not usage:
            continue
        modules = {m: sorted(fns) for m, fns in sorted(usage.items())}
        row: dict[str, Any] = {
            "project": f.release.project.name,
            "version": f.release.version,
            "filename": f.filename,
            "modules": modules,
        }
        rows.append(row)
        if as_json:
            sys.stdout.write(json.dumps(row) + "\n")
    if not as_json:
        if not rows:
            print(f"No {state} file uses {module}.")
        for row in rows:
            print(f"{row['project']} {row['version']} ({row['filename']})")
            for mod, fns in dict(row["modules"]).items():
                print(f"    {mod}: {', '.join(fns) if fns else '(imported, no calls seen)'}")
    return 0
