from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .helpers import PLAIN_SETUP, sdist

BASTION = [sys.executable, "-m", "bastion"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("BASTION_SCAN_RULES_DIR", None)
    return subprocess.run([*BASTION, *args], capture_output=True, text=True, env=env, timeout=60)


def test_scan_json_contract(tmp_path: Path) -> None:
    good = tmp_path / "good-1.0.tar.gz"
    good.write_bytes(sdist({"setup.py": PLAIN_SETUP}))
    bad = tmp_path / "bad-1.0.tar.gz"
    bad.write_bytes(
        sdist({"setup.py": PLAIN_SETUP + "import base64\nexec(base64.b64decode('cHJpbnQoMSk='))\n"})
    )
    junk = tmp_path / "junk-1.0.tar.gz"
    junk.write_bytes(b"not an archive")
    proc = run("scan", "--json", str(good), str(bad), str(junk))
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    by_path = {d["path"]: d for d in lines}
    assert by_path[str(good)]["verdict"] == "clean"
    assert by_path[str(bad)]["verdict"] == "malicious"
    assert by_path[str(junk)]["verdict"] == "suspicious"
    assert by_path[str(good)]["complete"] is True and by_path[str(good)]["gaps"] == []
    assert by_path[str(junk)]["complete"] is False
    assert by_path[str(junk)]["gaps"][0]["kind"] == "unreadable"
    for d in lines:
        assert {"path", "verdict", "score", "complete", "gaps", "findings", "seconds"} <= set(d)
        for f in d["findings"]:
            assert f["severity"] in ("info", "low", "medium", "high")
            assert f["rule"] and f["message"]


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    proc = run("scan", "--json", str(tmp_path / "nope.tar.gz"))
    assert proc.returncode == 2


def test_readable_summary(tmp_path: Path) -> None:
    bad = tmp_path / "bad-1.0.tar.gz"
    bad.write_bytes(
        sdist({"setup.py": PLAIN_SETUP + "import base64\nexec(base64.b64decode('cHJpbnQoMSk='))\n"})
    )
    proc = run("scan", str(bad))
    assert proc.returncode == 0
    assert "MALICIOUS" in proc.stdout and "exec-obfuscated-code" in proc.stdout
    assert "INCOMPLETE" not in proc.stdout


def test_readable_summary_says_when_a_scan_is_incomplete(tmp_path: Path) -> None:
    junk = tmp_path / "junk-1.0.tar.gz"
    junk.write_bytes(b"not an archive")
    proc = run("scan", str(junk))
    assert proc.returncode == 0
    assert "INCOMPLETE scan" in proc.stdout and "unreadable:" in proc.stdout


def test_scan_does_not_import_django(tmp_path: Path) -> None:
    good = tmp_path / "good-1.0.tar.gz"
    good.write_bytes(sdist({"setup.py": PLAIN_SETUP}))
    code = (
        f"import sys; from bastion.cli import main; main(['scan', '--json', {str(good)!r}]); "
        "sys.exit(1 if 'django' in sys.modules else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
