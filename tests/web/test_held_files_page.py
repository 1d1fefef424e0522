"""The project's management page shows its owners (and the index's administrators) why the
scan held or flagged a file: per finding the rule, where, the excerpt, when that code runs, why
it counts and what would make it clean, and how the verdict was reached."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from bastion.packages.models import File
from bastion.scanning.explain import NOT_RECORDED, RULES
from tests import builders
from tests.upload.test_verdict import malicious_sdist

pytestmark = pytest.mark.django_db(transaction=True)

MANAGE = "/manage/project/samplepkg/"


def seen(response: Any) -> str:
    """What a reader sees: tags dropped, spaces collapsed, entities of quotes read back."""
    html = response.content.decode()
    plain = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    return plain.replace("&#x27;", "'").replace("&quot;", '"')


def owner_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_owner_sees_each_finding_of_a_held_file_explained(
    upload: Any, token: str, user: Any
) -> None:
    assert upload(malicious_sdist(), token).status_code == 400
    response = owner_client(user).get(MANAGE)
    assert response.status_code == 200
    text = seen(response)
    assert "Held and flagged files" in text
    assert "samplepkg-1.0.tar.gz held" in text
    assert "MALICIOUS. Any high finding makes an archive malicious; decided by exfiltration" in (
        text
    )
    exfil = RULES["exfiltration"]
    assert (
        "exfiltration high at samplepkg-1.0/setup.py:7 Collects information about the machine "
        "or its secrets and sends it at install time (setup.py). "
        "data = base64.b64encode(repr(dict(os.environ)).encode()) "
        f"When it runs install time (setup.py) Why it counts {exfil.why} "
        f"What would make it clean {exfil.clean_if}"
    ) in text
    assert 'href="/help/#held-by-scan"' in response.content.decode()


def test_findings_stored_by_an_older_scan_are_explained_too(
    upload: Any, token: str, user: Any
) -> None:
    """Stored before findings carried a context, why and clean-if: the page explains them from
    the catalogue and says when-it-runs was not recorded."""
    assert upload(builders.wheel("samplepkg", "1.0"), token).status_code == 200
    old = {
        "rule": "network-on-start",
        "severity": "medium",
        "message": "Talks to the network on import.",
        "file": "samplepkg/__init__.py",
        "line": 2,
        "excerpt": "urlopen('<b>x</b>')",
    }
    File.objects.update(
        state=File.HELD, scan_verdict="suspicious", scan_score=20, scan_findings=[old]
    )
    response = owner_client(user).get(MANAGE)
    text = seen(response)
    assert "SUSPICIOUS. No high finding, but a score of 20" in text
    assert f"When it runs {NOT_RECORDED} Why it counts {RULES['network-on-start'].why}" in text
    assert "<b>x</b>" not in response.content.decode()


def test_a_project_without_held_or_flagged_files_has_no_such_section(
    upload: Any, token: str, user: Any
) -> None:
    assert upload(builders.wheel("samplepkg", "1.0"), token).status_code == 200
    assert "Held and flagged files" not in seen(owner_client(user).get(MANAGE))
