"""Settings are read once, from the environment, into one typed value; what an operator sees
when a value is bad or a name is unknown."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bastion import config
from bastion.config import BastionSettings, SettingsError, current, from_environ
from bastion.storage import get_storage
from bastion.storage.base import LocalStorage
from tests.overrides import settings_override

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MiB = 1024 * 1024


def test_an_empty_environment_gives_the_defaults() -> None:
    assert from_environ({}) == BastionSettings()
    assert from_environ({name: "" for name in config.variables()}) == BastionSettings()


def test_values_are_typed() -> None:
    s = from_environ(
        {
            "BASTION_MAX_FILE_SIZE": " 2048 ",
            "BASTION_REQUIRE_2FA": "off",
            "BASTION_TLS": "YES",
            "BASTION_ALLOWED_HOSTS": "pypi.example.com, other.example.com,",
            "BASTION_RATE_LIMITS": "login.ip=3/m, upload.user=off",
            "BASTION_SUSPICIOUS_ACTION": "Hold",
            "BASTION_SCAN_RULES_DIR": "/etc/bastion/yara",
            "BASTION_LOG_LEVEL": "info",
            "BASTION_DATA_DIR": "relative/data",
        }
    )
    assert s.max_file_size == 2048
    assert s.require_2fa is False and s.tls is True
    assert s.allowed_hosts == ("pypi.example.com", "other.example.com")
    assert dict(s.rate_limits) == {"login.ip": "3/m", "upload.user": "off"}
    assert s.suspicious_action == "hold"
    assert s.scan_rules_dir == Path("/etc/bastion/yara")
    assert s.log_level == "INFO"
    assert s.data_dir == (Path.cwd() / "relative/data").resolve()
    assert s.storage_dir == s.data_dir / "files" and s.public_dir == s.data_dir / "public"
    assert s.database_url == f"sqlite:///{s.data_dir / 'bastion.sqlite3'}"


def test_defaults_that_follow_another_setting() -> None:
    s = from_environ({"BASTION_BASE_URL": "https://pypi.example.com/"})
    assert s.base_url == "https://pypi.example.com"
    assert s.allowed_hosts == ("localhost", "127.0.0.1", "[::1]", "pypi.example.com")
    assert from_environ({"BASTION_BEHIND_PROXY": "1"}).max_connections_per_client == 0
    assert (
        from_environ(
            {"BASTION_BEHIND_PROXY": "1", "BASTION_MAX_CONNECTIONS_PER_CLIENT": "8"}
        ).max_connections_per_client
        == 8
    )
    assert from_environ({}).max_request_size == 1024 * MiB
    big = from_environ({"BASTION_MAX_FILE_SIZE": str(2048 * MiB)})
    assert big.max_request_size == 2048 * MiB + 16 * MiB


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"BASTION_MAX_FILE_SIZE": "100MB"},
            "BASTION_MAX_FILE_SIZE: '100MB' is not a whole number",
        ),
        ({"BASTION_NEW_FILES_DAYS": "-1"}, "BASTION_NEW_FILES_DAYS: -1 is less than 0"),
        ({"BASTION_SCAN_RETRY_FACTOR": "0"}, "BASTION_SCAN_RETRY_FACTOR: 0 is less than 1"),
        (
            {"BASTION_REQUIRE_2FA": "maybe"},
            "BASTION_REQUIRE_2FA: 'maybe' is not on or off (1/0, true/false, yes/no, on/off)",
        ),
        (
            {"BASTION_RATE_LIMITS": "login.ip=ten"},
            "BASTION_RATE_LIMITS: bad rate 'ten' (like 10/5m, 20/h)",
        ),
        (
            {"BASTION_RATE_LIMITS": "logon.ip=10/m"},
            "BASTION_RATE_LIMITS: cannot read 'logon.ip=10/m' (scope.ip=N/period)",
        ),
        (
            {"BASTION_SUSPICIOUS_ACTION": "quarantine"},
            "BASTION_SUSPICIOUS_ACTION: 'quarantine' is not one of publish, hold",
        ),
        ({"BASTION_LOG_LEVEL": "loud"}, "BASTION_LOG_LEVEL: 'loud' is not a log level"),
        ({"BASTION_ARCHIVE_SECONDS": "0"}, "BASTION_ARCHIVE_SECONDS: '0' is not a positive"),
        # An infinite time limit is no limit.
        ({"BASTION_ARCHIVE_SECONDS": "inf"}, "BASTION_ARCHIVE_SECONDS: 'inf' is not a positive"),
        (
            {"BASTION_EMAIL_STARTTLS": "1", "BASTION_EMAIL_SSL": "1"},
            "BASTION_EMAIL_STARTTLS and BASTION_EMAIL_SSL: set one, not both",
        ),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        from_environ(environ)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_secrets_stay_out_of_the_printed_value() -> None:
    s = from_environ({"BASTION_SECRET_KEY": "s3cret-key", "BASTION_EMAIL_PASSWORD": "hunter2"})
    assert s.secret_key == "s3cret-key"
    assert "s3cret-key" not in repr(s) and "hunter2" not in repr(s)


def test_the_value_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        current().max_file_size = 1  # type: ignore[misc]


def test_unknown_names_are_reported_with_the_closest_setting() -> None:
    lines = config.unknown_variables(
        {
            "BASTION_MAX_FILESIZE": "1",
            "BASTION_REQUIRE_MFA": "1",
            "BASTION_WHATEVER": "1",
            "BASTION_SITE_NAME": "ok",
            "BASTION_REQUIRE_BROWSER": "1",  # the test scripts' own
            "OTHER_VARIABLE": "1",
        }
    )
    assert lines == [
        "BASTION_MAX_FILESIZE is not a bastion setting (did you mean BASTION_MAX_FILE_SIZE?);"
        " it is ignored",
        "BASTION_REQUIRE_MFA is not a bastion setting (did you mean BASTION_REQUIRE_2FA?);"
        " it is ignored",
        "BASTION_WHATEVER is not a bastion setting (docs/configuration.md lists them);"
        " it is ignored",
    ]


def _bastion(tmp_path: Path, *args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BASTION_", "DJANGO_"))}
    env.update(BASTION_DATA_DIR=str(tmp_path / "data"), **variables)
    return subprocess.run(
        [str(BIN / "bastion"), *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_the_command_warns_of_an_unknown_variable_and_runs(tmp_path: Path) -> None:
    done = _bastion(tmp_path, "check-name", "requests2", BASTION_MAX_FILESIZE="1000")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0] == (
        "bastion check-name: warning: BASTION_MAX_FILESIZE is not a bastion setting"
        " (did you mean BASTION_MAX_FILE_SIZE?); it is ignored"
    )
    assert "requests2" in done.stdout


def test_a_django_command_warns_too_and_a_bad_value_stops_it_before_it_starts(
    tmp_path: Path,
) -> None:
    done = _bastion(tmp_path, "migrate", BASTION_SITENAME="x", BASTION_REAUTH_SECONDS="15m")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "bastion migrate: warning: BASTION_SITENAME is not a bastion setting"
        " (did you mean BASTION_SITE_NAME?); it is ignored",
        "bastion migrate: BASTION_REAUTH_SECONDS: '15m' is not a whole number",
    ]
    assert not (tmp_path / "data").exists()  # nothing was started


def test_the_scan_command_reads_the_rules_folder_setting(tmp_path: Path) -> None:
    wheel = tmp_path / "x-1.0-py3-none-any.whl"
    wheel.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    missing = tmp_path / "no-rules"
    done = _bastion(tmp_path, "scan", str(wheel), BASTION_SCAN_RULES_DIR=str(missing))
    assert done.returncode == 2
    assert f"YARA rules folder {missing} does not exist" in done.stderr


def test_an_override_changes_what_code_reads(bastion_settings: Any) -> None:
    assert bastion_settings(site_name="Corp index").site_name == "Corp index"
    assert current().site_name == "Corp index"
    with settings_override(max_file_size=5):
        assert current().max_file_size == 5 and current().site_name == "Corp index"
    assert current().max_file_size == BastionSettings().max_file_size


class NamedStorage(LocalStorage):
    """A storage class of the test's own: BASTION_STORAGE_BACKEND picks the class."""


def test_the_storage_backend_is_the_configured_class(bastion_settings: Any) -> None:
    assert type(get_storage()) is LocalStorage
    bastion_settings(storage_backend="tests.test_config.NamedStorage")
    storage = get_storage()
    assert type(storage) is NamedStorage
    storage.put_bytes("ab/cd/x.whl", b"data")
    assert (current().storage_dir / "ab/cd/x.whl").read_bytes() == b"data"


def test_the_documentation_lists_every_setting_and_only_settings() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    documented = set(re.findall(r"`(BASTION_[A-Z0-9_]*[A-Z0-9])`", text))
    assert documented == set(config.variables())


def test_no_module_reads_a_setting_another_way() -> None:
    """Settings are read once, in bastion.config: no ``getattr(settings, ...)`` with a default
    of its own, no Django setting named BASTION_*, no BASTION_* variable read elsewhere."""
    other_ways = re.compile(
        r"getattr\(\s*settings\b|settings\.BASTION_|(environ\.get|getenv)\(\s*\"BASTION_"
        r"|environ\[\s*\"BASTION_"
    )
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "src" / "bastion").rglob("*.py"))
        if path != ROOT / "src" / "bastion" / "config.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if other_ways.search(line)
    ]
    assert found == []
