"""Configuration from the environment, with safe defaults for the embedded mode.

Every setting an operator may change is read here, once, so that ``docs/configuration.md``
has one place to describe. Values come from ``BASTION_*`` environment variables.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = env(name)
    return default if value is None else int(value)


def data_dir() -> Path:
    return Path(env("BASTION_DATA_DIR", str(Path.cwd() / "data")) or "data").resolve()


def secret_key(directory: Path) -> str:
    """Return the configured secret key, or one generated once and kept in the data folder.

    A generated key survives restarts (sessions and API tokens depend on it) without an
    operator having to invent one; its file is readable by the owner only.
    """
    configured = env("BASTION_SECRET_KEY")
    if configured:
        return configured
    path = directory / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    directory.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key
