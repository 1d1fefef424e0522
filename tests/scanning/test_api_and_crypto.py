from __future__ import annotations

import io
import json
import threading
from pathlib import Path

from bastion.scanning import ScanConfig, scan_file
from bastion.scanning.survey import survey_archive

from .helpers import PLAIN_SETUP, sdist


def test_scan_result_json_shape(tmp_path: Path) -> None:
    path = tmp_path / "demo-1.0.tar.gz"
    path.write_bytes(sdist({"setup.py": PLAIN_SETUP}))
    result = scan_file(path, path.name)
    data = result.to_json()
    assert set(data) == {"path", "verdict", "score", "complete", "gaps", "findings", "seconds"}
    assert data["complete"] is True and data["gaps"] == []
    json.dumps(data)


def test_file_object_and_threads() -> None:
    data = sdist(
        {
            "setup.py": PLAIN_SETUP,
            "demo/__init__.py": "import base64\nexec(base64.b64decode('cHJpbnQoMSk='))\n",
        }
    )
    verdicts: list[str] = []

    def work() -> None:
        verdicts.append(str(scan_file(io.BytesIO(data), "demo-1.0.tar.gz").verdict))

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert verdicts == ["malicious"] * 6


def test_legacy_crypto_is_advisory_only() -> None:
    code = """
from OpenSSL import crypto
import M2Crypto
from Crypto.Cipher import AES
def sign(key, data):
    return crypto.sign(key, data, "sha256")
"""
    result = scan_file(
        io.BytesIO(sdist({"setup.py": PLAIN_SETUP, "demo/__init__.py": code})), "demo-1.0.tar.gz"
    )
    rules = {f.rule: f for f in result.findings}
    assert result.verdict == "clean"
    assert rules["legacy-crypto-pyopenssl"].severity == "info"
    assert "cryptography" in rules["legacy-crypto-pyopenssl"].message
    assert "legacy-crypto-m2crypto" in rules
    assert "legacy-crypto-pycrypto" in rules


def test_pycryptodome_is_not_pycrypto() -> None:
    code = "from Crypto.Cipher import AES\nfrom Crypto.Util.Padding import pad\n"
    result = scan_file(
        io.BytesIO(sdist({"setup.py": PLAIN_SETUP, "demo/__init__.py": code})), "demo-1.0.tar.gz"
    )
    assert "legacy-crypto-pycrypto" not in {f.rule for f in result.findings}


def test_operator_yara_rules(tmp_path: Path) -> None:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "local.yar").write_text(
        'rule corp_canary { meta: severity = "high" description = "internal canary string" '
        'strings: $a = "CORP-CANARY-7" condition: $a }\n'
    )
    data = sdist({"setup.py": PLAIN_SETUP, "demo/__init__.py": "X = 'CORP-CANARY-7'\n"})
    result = scan_file(io.BytesIO(data), "demo-1.0.tar.gz", config=ScanConfig(rules_dir=rules_dir))
    hit = [f for f in result.findings if f.rule == "yara:corp_canary"]
    assert hit and hit[0].severity == "high" and hit[0].line == 1
    assert result.verdict == "malicious"


def test_survey_lists_called_functions() -> None:
    code = (
        "from OpenSSL import crypto\nk = crypto.load_privatekey(1, b'')\ncrypto.sign(k, b'', 'x')\n"
    )
    data = sdist({"setup.py": PLAIN_SETUP, "demo/__init__.py": code})
    usage = survey_archive(io.BytesIO(data), "OpenSSL.crypto")
    assert usage == {"OpenSSL.crypto": {"load_privatekey", "sign"}}
