"""Configuration from the environment, read once at start-up into one typed, frozen value.

Every setting an operator may change is a field of :class:`BastionSettings`, named after its
``BASTION_*`` environment variable, so that ``docs/configuration.md`` has one place to
describe (a test holds the two to each other). :func:`from_environ` builds the value and
refuses a bad one with a one-line :class:`SettingsError` naming the variable; ``bastion.settings``
builds it once for Django and keeps it as ``settings.BASTION``, and code reads it through
:func:`current`, so a test changes it with ``override_settings(BASTION=...)`` like any other
setting. This module imports nothing of Django at import time: the commands that run without a
database use it too.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import math
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

#: The prefix of every setting's environment variable.
PREFIX = "BASTION_"

#: ``BASTION_*`` names that the project's own test and benchmark scripts read; they are not
#: settings of a running index, so the start-up report does not call them unknown.
SCRIPT_VARIABLES = frozenset(
    {
        "BASTION_REQUIRE_BROWSER",
        "BASTION_PERF_HARNESS",
        "BASTION_BENCH_HARNESS",
        "BASTION_SRC",
        "BASTION_BIN",
        "BASTION_THREADS",
    }
)

MiB = 1024 * 1024
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_LOOPBACK = ("localhost", "127.0.0.1", "[::1]")
_MAX_FILE_SIZE = 100 * MiB


class SettingsError(ValueError):
    """A setting's value that cannot be used; the message is one line naming the variable."""


# -- parsers: text from the environment to a field's value (ValueError with a reason) ---------


def _text(raw: str) -> str:
    return raw


def _boolean(raw: str) -> bool:
    word = raw.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"{raw!r} is not on or off (1/0, true/false, yes/no, on/off)")


def _whole(minimum: int = 0) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ValueError(f"{raw!r} is not a whole number") from None
        if value < minimum:
            raise ValueError(f"{value} is less than {minimum}")
        return value

    return parse


def _number_of_seconds(raw: str) -> float:
    try:
        return float(raw.strip())
    except ValueError:
        raise ValueError(f"{raw!r} is not a number of seconds") from None


def _seconds(raw: str) -> float:
    """A time limit: positive and finite (``inf`` would turn the limit off)."""
    value = _number_of_seconds(raw)
    if not 0 < value < math.inf:
        raise ValueError(f"{raw!r} is not a positive number of seconds")
    return value


def _seconds_or_zero(raw: str) -> float:
    value = _number_of_seconds(raw)
    if not 0 <= value <= 600:
        raise ValueError(f"{raw!r} is not a number of seconds from 0 to 600")
    return value


def _names(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _path(raw: str) -> Path:
    return Path(raw.strip())


def _optional_path(raw: str) -> Path | None:
    return Path(raw.strip()) if raw.strip() else None


def _rates(raw: str) -> Mapping[str, str]:
    from bastion.ratelimit import parse_rates

    return MappingProxyType(parse_rates(raw))


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        word = raw.strip().lower()
        if word not in allowed:
            raise ValueError(f"{raw!r} is not one of {', '.join(allowed)}")
        return word

    return parse


def _log_level(raw: str) -> str:
    level = raw.strip().upper()
    if level not in logging.getLevelNamesMapping():
        raise ValueError(f"{raw!r} is not a log level (DEBUG, INFO, WARNING, ERROR, CRITICAL)")
    return level


def _setting(
    default: Any = dataclasses.MISSING,
    *,
    doc: str,
    parse: Callable[[str], Any],
    factory: Callable[[], Any] | None = None,
    secret: bool = False,
) -> Any:
    """A field read from ``BASTION_<NAME>``: its default, a one-line doc and its parser."""
    metadata = {"doc": doc, "parse": parse}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata, repr=not secret)
    return field(default=default, metadata=metadata, repr=not secret)


def _default_data_dir() -> Path:
    return (Path.cwd() / "data").resolve()


def _sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'bastion.sqlite3'}"


@dataclass(frozen=True, kw_only=True, slots=True)
class BastionSettings:
    """Every operator setting; each field is read from ``BASTION_`` + its name in capitals.

    A field's default is the value with the variable unset (empty counts as unset);
    :func:`from_environ` also derives the defaults that depend on another setting.
    """

    # -- where things live
    data_dir: Path = _setting(  # noqa: RUF009 (a field: see _setting)
        factory=_default_data_dir,
        doc="Folder for everything bastion writes (default ./data of the working folder).",
        parse=_path,
    )
    storage_dir: Path = _setting(  # noqa: RUF009 (a field: see _setting)
        factory=lambda: _default_data_dir() / "files",
        doc="Private store of uploaded files (default <data_dir>/files).",
        parse=_path,
    )
    storage_backend: str = _setting(
        "bastion.storage.base.LocalStorage",
        doc="Dotted path of the Storage class, built with (storage_dir, public_dir).",
        parse=_text,
    )
    database_url: str = _setting(
        factory=lambda: _sqlite_url(_default_data_dir()),
        doc="Database URL (default SQLite in <data_dir>/bastion.sqlite3).",
        parse=_text,
    )
    secret_key: str = _setting(
        "",
        doc="Signs sessions and API tokens; empty: generated once into <data_dir>/secret_key.",
        parse=_text,
        secret=True,
    )
    # -- the web site
    base_url: str = _setting(
        "", doc="Public URL of the index, without a trailing slash.", parse=_text
    )
    allowed_hosts: tuple[str, ...] = _setting(
        _LOOPBACK,
        doc="Host names answered to (default loopback and the host of base_url).",
        parse=_names,
    )
    csrf_trusted_origins: tuple[str, ...] = _setting(
        (), doc="Origins allowed to POST forms behind a proxy.", parse=_names
    )
    tls: bool = _setting(False, doc="Served over HTTPS: secure cookies and HSTS.", parse=_boolean)
    behind_proxy: bool = _setting(
        False, doc="Trust X-Forwarded-Proto and X-Forwarded-For from a proxy.", parse=_boolean
    )
    debug: bool = _setting(False, doc="Django's debug mode; never in production.", parse=_boolean)
    log_level: str = _setting("WARNING", doc="Level of the root logger.", parse=_log_level)
    site_name: str = _setting(
        "bastion", doc="Name in emails, TOTP and WebAuthn prompts.", parse=_text
    )
    # -- the built-in server (bastion.serving)
    serve_fast_path: bool = _setting(
        True,
        doc="For benchmarking only: off runs gunicorn's own gthread worker, not bastion's poller.",
        parse=_boolean,
    )
    max_connections: int = _setting(1000, doc="Open connections per web process.", parse=_whole())
    max_connections_per_client: int = _setting(
        64,
        doc="Open connections per client address; 0: no cap (default with a proxy).",
        parse=_whole(),
    )
    header_timeout: int = _setting(20, doc="Seconds for a request head to arrive.", parse=_whole())
    body_timeout: int = _setting(
        20, doc="Seconds a request body may go without a byte.", parse=_whole()
    )
    send_timeout: int = _setting(30, doc="Seconds a response may go unread.", parse=_whole())
    max_request_size: int = _setting(
        1024 * MiB,
        doc="Largest request body (default 1 GiB, or max_file_size + 16 MiB if larger).",
        parse=_whole(),
    )
    # -- uploads
    max_file_size: int = _setting(
        _MAX_FILE_SIZE, doc="Per-file upload limit in bytes.", parse=_whole()
    )
    max_project_size: int = _setting(
        10 * 1024 * MiB, doc="Total size of a project's files in bytes.", parse=_whole()
    )
    new_files_days: int = _setting(
        14, doc="Days after which a release takes no new files; 0: never.", parse=_whole()
    )
    max_description_size: int = _setting(
        512 * 1024, doc="Largest description (README) in bytes.", parse=_whole()
    )
    description_render_seconds: int = _setting(
        10, doc="Seconds the description's rendering may take.", parse=_whole()
    )
    archive_seconds: float = _setting(
        20.0, doc="Seconds an upload's archive checks may take.", parse=_seconds
    )
    upload_scan_in_request: int = _setting(
        64 * 1024,
        doc="Largest file (bytes) scanned within its upload's request, which then answers "
        "with the verdict; 0: none.",
        parse=_whole(),
    )
    upload_verdict_wait: float = _setting(
        0.0,
        doc="Seconds the upload of a larger file waits for the worker's verdict; 0: never.",
        parse=_seconds_or_zero,
    )
    reserve_protected_names: bool = _setting(
        True, doc="Refuse the names of popular PyPI projects this index lacks.", parse=_boolean
    )
    strict_sdist_filenames: bool = _setting(
        True, doc="Require PEP 625 sdist file names.", parse=_boolean
    )
    # -- scanning
    suspicious_action: Literal["publish", "hold"] = _setting(
        "publish",
        doc="What happens to a suspicious file: publish (flagged) or hold.",
        parse=_choice("publish", "hold"),
    )
    scan_retry_factor: int = _setting(
        4,
        doc="Budget multiplier for the one retry of an incomplete scan; 1: no retry.",
        parse=_whole(1),
    )
    scan_rules_dir: Path | None = _setting(  # noqa: RUF009 (a field: see _setting)
        None, doc="Folder of the operator's own YARA rules.", parse=_optional_path
    )
    scan_young_dependency_days: int = _setting(
        30,
        doc="A new dependency on a project this index has had for fewer days is high evidence "
        "in the release diff; 0: never.",
        parse=_whole(),
    )
    # -- background tasks, cache, email
    task_backend: str = _setting(
        "django_tasks_db.DatabaseBackend", doc="Background-task backend.", parse=_text
    )
    cache_backend: str = _setting(
        "django.core.cache.backends.locmem.LocMemCache", doc="Django cache backend.", parse=_text
    )
    cache_location: str = _setting("bastion", doc="The cache's location.", parse=_text)
    email_backend: str = _setting(
        "bastion.accounts.mail.StderrEmailBackend", doc="Django email backend.", parse=_text
    )
    from_email: str = _setting("bastion@localhost", doc="Sender of notifications.", parse=_text)
    email_host: str = _setting("localhost", doc="SMTP server.", parse=_text)
    email_port: int = _setting(25, doc="SMTP port.", parse=_whole(1))
    email_user: str = _setting("", doc="SMTP login name.", parse=_text)
    email_password: str = _setting("", doc="SMTP password.", parse=_text, secret=True)
    email_starttls: bool = _setting(False, doc="SMTP with STARTTLS.", parse=_boolean)
    email_ssl: bool = _setting(False, doc="SMTP over implicit TLS.", parse=_boolean)
    email_timeout: int = _setting(10, doc="Seconds an SMTP attempt may take.", parse=_whole(1))
    email_link_hours: int = _setting(24, doc="Hours an emailed link stays valid.", parse=_whole())
    # -- accounts and authorisation
    require_2fa: bool = _setting(
        True, doc="A second factor before tokens, uploads and managing.", parse=_boolean
    )
    reauth_seconds: int = _setting(
        900, doc="How long a re-authentication covers sensitive actions.", parse=_whole()
    )
    allow_registration: bool = _setting(False, doc="Self-service sign-up.", parse=_boolean)
    webauthn_rp_id: str = _setting(
        "", doc="WebAuthn relying party id (default the request's host).", parse=_text
    )
    breached_passwords_file: str = _setting(
        "", doc="Sorted SHA-1 list of breached passwords.", parse=_text
    )
    disclosure_keys_file: str = _setting(
        "", doc="Public keys of secret-scanning partners.", parse=_text
    )
    invitation_hours: int = _setting(
        72, doc="Hours an invitation to a project role stays open.", parse=_whole()
    )
    rate_limits: Mapping[str, str] = _setting(
        factory=lambda: MappingProxyType({}),
        doc="Rates per scope and key kind (scope.ip=N/period,...) over the defaults.",
        parse=_rates,
    )

    @property
    def public_dir(self) -> Path:
        """The public tree (published files and rendered pages): ``<data_dir>/public``."""
        return self.data_dir / "public"


def variable(name: str) -> str:
    """The environment variable of a field."""
    return PREFIX + name.upper()


def variables() -> dict[str, dataclasses.Field[Any]]:
    """Every setting's environment variable and its field."""
    return {variable(f.name): f for f in dataclasses.fields(BastionSettings)}


def from_environ(environ: Mapping[str, str]) -> BastionSettings:
    """The settings that ``environ`` gives; :class:`SettingsError` for the first bad value.

    Reads nothing but ``environ`` and writes nothing (the data folder is made by
    :func:`make_data_dir`, for the commands that create an index), so a command can check the
    environment before it starts.
    """
    values: dict[str, Any] = {}
    for name, f in variables().items():
        raw = environ.get(name, "")
        if raw == "":
            continue
        try:
            values[f.name] = f.metadata["parse"](raw)
        except ValueError as exc:
            reason = str(exc).removeprefix(f"{name}: ")
            raise SettingsError(f"{name}: {reason}") from None
    if values.get("email_starttls") and values.get("email_ssl"):
        raise SettingsError("BASTION_EMAIL_STARTTLS and BASTION_EMAIL_SSL: set one, not both")
    # Defaults that depend on another setting.
    data_dir = values["data_dir"] = Path(values.get("data_dir", "data")).resolve()
    values.setdefault("storage_dir", data_dir / "files")
    values.setdefault("database_url", _sqlite_url(data_dir))
    values["base_url"] = values.get("base_url", "").rstrip("/")
    values.setdefault("allowed_hosts", default_allowed_hosts(values["base_url"]))
    if "max_connections_per_client" not in values and values.get("behind_proxy"):
        # Behind a proxy every connection has the proxy's address.
        values["max_connections_per_client"] = 0
    if "max_request_size" not in values:
        file_size = values.get("max_file_size", _MAX_FILE_SIZE)
        values["max_request_size"] = max(1024 * MiB, file_size + 16 * MiB)
    return BastionSettings(**values)


def default_allowed_hosts(base_url: str) -> tuple[str, ...]:
    """The host names answered to unless ``BASTION_ALLOWED_HOSTS`` says otherwise: loopback,
    for the embedded mode, and the host of ``BASTION_BASE_URL``."""
    from urllib.parse import urlsplit

    base_host = urlsplit(base_url).hostname
    return (*_LOOPBACK, base_host) if base_host else _LOOPBACK


def current() -> BastionSettings:
    """The running process's settings (``django.conf.settings.BASTION``)."""
    from django.conf import settings

    value = settings.BASTION
    assert isinstance(value, BastionSettings)
    return value


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """One line per ``BASTION_*`` variable in ``environ`` that is no setting, naming the
    closest setting: a misspelt name would otherwise be ignored without a word."""
    known = variables()
    lines = []
    for name in sorted(environ):
        if not name.startswith(PREFIX) or name in known or name in SCRIPT_VARIABLES:
            continue
        # Compared without the prefix, which every name shares.
        suffixes = [known_name.removeprefix(PREFIX) for known_name in known]
        close = difflib.get_close_matches(name.removeprefix(PREFIX), suffixes, n=1, cutoff=0.6)
        hint = (
            f" (did you mean {PREFIX}{close[0]}?)"
            if close
            else " (docs/configuration.md lists them)"
        )
        lines.append(f"{name} is not a bastion setting{hint}; it is ignored")
    return lines


def stored_secret_key(directory: Path) -> str:
    """The key kept in the data folder (``BASTION_SECRET_KEY`` unset); empty while there is none.

    Reading the settings writes nothing: the key is made, with the data folder, by the commands
    that create an index (:func:`make_data_dir`). Until then Django refuses whatever would sign
    with the empty key, and the commands that need an index say that there is none first.
    """
    try:
        return (directory / "secret_key").read_text().strip()
    except FileNotFoundError:
        return ""


def make_data_dir(settings: BastionSettings) -> None:
    """Create the data folder and, unless ``BASTION_SECRET_KEY`` is set, its secret key.

    Only the commands that create an index call this (``bastion serve``, ``bastion migrate``).
    A generated key survives restarts (sessions and API tokens depend on it) without an
    operator having to invent one; its file is readable by the owner only.
    """
    directory = settings.data_dir
    directory.mkdir(parents=True, exist_ok=True)
    if settings.secret_key or stored_secret_key(directory):
        return
    key = secrets.token_urlsafe(50)
    try:
        fd = os.open(directory / "secret_key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: theirs is the key
        return
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
