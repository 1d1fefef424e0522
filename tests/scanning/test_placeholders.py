"""Packages with no code of their own, and compiled code slipped into pure wheels (inert
samples: no payloads, nothing here is run)."""

from __future__ import annotations

from bastion.scanning import scan_bytes

from .helpers import PLAIN_SETUP, sdist, wheel


def rules(result) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in result.findings:
        out.setdefault(f.rule, str(f.severity))
    return out


def scan(files: dict[str, str | bytes]):
    return scan_bytes(sdist(files), "demo-1.0.tar.gz")


FAILING_INSTALL_HOOK = """
from setuptools import setup
from setuptools.command.install import install

class Install(install):
    def run(self):
        if not self.dry_run:
            raise RuntimeError("not meant to be installed")
        install.run(self)

setup(name="demo", version="1.0", cmdclass={"install": Install})
"""

FAILING_UNLESS_BUILDING = """
import sys
from setuptools import setup

if not any(cmd in sys.argv for cmd in ("sdist", "egg_info")):
    raise Exception("this name is reserved")
setup()
"""


def test_placeholder_failing_in_its_install_hook_is_held() -> None:
    r = scan({"setup.py": FAILING_INSTALL_HOOK, "README.md": "reserved\n"})
    assert rules(r).get("name-placeholder") == "high"
    assert r.verdict == "malicious"


def test_placeholder_failing_unless_asked_to_build_is_held() -> None:
    r = scan({"setup.py": FAILING_UNLESS_BUILDING, "pkg/__init__.py": ""})
    assert rules(r).get("name-placeholder") == "high"


def test_refusing_an_unsupported_python_or_without_opt_in_is_not_a_placeholder() -> None:
    version_guard = (
        "import sys\nfrom setuptools import setup\n"
        "if sys.version_info < (3, 8):\n    raise RuntimeError('needs Python 3.8')\n"
        "setup(name='demo')\n"
    )
    # a renamed package's tombstone with an opt-in escape hatch
    tombstone = (
        "import os\nfrom setuptools import setup\n"
        "if os.environ.get('DEMO_ALLOW_DEPRECATED_INSTALL'):\n    setup(name='demo')\n"
        "else:\n    raise SystemExit('use demo-new instead')\n"
    )
    publish_helper = (
        "import os, sys\nfrom setuptools import setup\n"
        "if sys.argv[-1] == 'publish':\n    os.system('twine upload dist/*')\n    sys.exit()\n"
        "if 'upload' in sys.argv:\n    raise SystemExit('use twine')\n"
        "setup(name='demo')\n"
    )
    for setup in (version_guard, tombstone, publish_helper):
        r = scan({"setup.py": setup, "demo/__init__.py": ""})
        assert "name-placeholder" not in rules(r), setup


def test_failing_install_hook_in_a_package_with_code_is_not_a_placeholder() -> None:
    code = "def add(a, b):\n    return a + b\n\n" * 20
    r = scan({"setup.py": FAILING_INSTALL_HOOK, "demo/__init__.py": code})
    assert "name-placeholder" not in rules(r)


INSTALL_HOOK_RUNS = """
import os, subprocess, sys
from setuptools import setup
from setuptools.command.install import install

class PostInstall(install):
    def run(self):
        install.run(self)
        subprocess.call([sys.executable, os.path.join(os.path.dirname(__file__), "post.py")])

setup(name="demo", version="1.0", packages=["demo"], cmdclass={"install": PostInstall})
"""


def test_install_hook_running_a_program_in_a_package_without_code_is_held() -> None:
    r = scan({"setup.py": INSTALL_HOOK_RUNS, "demo/__init__.py": ""})
    assert rules(r).get("install-hook-without-code") == "high"
    assert r.verdict == "malicious"


def test_install_hook_running_a_program_next_to_real_code_is_not_held() -> None:
    code = "\n".join(f"def f{i}(x):\n    return x * {i}\n" for i in range(30))
    r = scan({"setup.py": INSTALL_HOOK_RUNS, "demo/__init__.py": "", "demo/core.py": code})
    assert "install-hook-without-code" not in rules(r)


def test_process_at_module_level_of_setup_is_not_an_install_hook() -> None:
    setup = (
        "import subprocess\n"
        "rev = subprocess.check_output(['git', 'rev-parse', 'HEAD'])\n" + PLAIN_SETUP
    )
    r = scan({"setup.py": setup, "demo/__init__.py": ""})
    assert "install-hook-without-code" not in rules(r)


ELF = b"\x7fELF" + b"\x00" * 60


def test_pure_wheel_importing_a_compiled_module_on_import_is_held() -> None:
    files = {
        "demo/__init__.py": "from ._core import _start\n_start()\n",
        "demo/_core.cpython-310-x86_64-linux-gnu.so": ELF,
    }
    r = scan_bytes(wheel(files, tag="py3-none-any"), "demo-1.0-py3-none-any.whl")
    assert rules(r).get("pure-wheel-extension") == "high"
    assert r.verdict == "malicious"


def test_platform_wheel_with_its_extension_is_not_held() -> None:
    files = {
        "demo/__init__.py": "from ._core import _start\n",
        "demo/_core.cpython-311-x86_64-linux-gnu.so": ELF,
    }
    tag = "cp311-cp311-manylinux_2_17_x86_64"
    r = scan_bytes(wheel(files, tag=tag), f"demo-1.0-{tag}.whl")
    assert "pure-wheel-extension" not in rules(r)
    assert r.verdict != "malicious"


def test_pure_wheel_with_a_library_nobody_imports_on_import_is_not_held() -> None:
    files = {
        "demo/__init__.py": "VERSION = '1.0'\n",
        "demo/tools.py": "import ctypes\n",
        "demo/bin/helper.so": ELF,
    }
    r = scan_bytes(wheel(files, tag="py3-none-any"), "demo-1.0-py3-none-any.whl")
    assert "pure-wheel-extension" not in rules(r)


def test_setup_running_pip_against_another_index_is_held() -> None:
    setup = (
        "import subprocess, sys\n"
        "subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--extra-index-url',"
        " 'https://pkgs.example.invalid/simple', 'helper'])\n" + PLAIN_SETUP
    )
    r = scan({"setup.py": setup, "demo/__init__.py": ""})
    assert rules(r).get("installs-from-url") == "high"
    assert r.verdict == "malicious"


def test_setup_running_pip_on_a_plain_name_is_only_flagged() -> None:
    setup = "import os\nos.system('pip install numpy')\n" + PLAIN_SETUP
    r = scan({"setup.py": setup, "demo/__init__.py": ""})
    assert rules(r).get("pip-install") == "medium"
    assert "installs-from-url" not in rules(r)


def test_make_install_is_not_pip() -> None:
    setup = "import subprocess\nsubprocess.call(['make', 'install'])\n" + PLAIN_SETUP
    r = scan({"setup.py": setup, "demo/__init__.py": ""})
    assert "pip-install" not in rules(r) and "installs-from-url" not in rules(r)


def test_dependency_from_a_web_address_is_held() -> None:
    setup = (
        "from setuptools import setup\n"
        "setup(name='demo', install_requires=['requests',"
        " 'helper @ https://files.example.invalid/helper-1.0.tar.gz'])\n"
    )
    r = scan({"setup.py": setup, "demo/__init__.py": ""})
    assert rules(r).get("direct-url-dependency") == "high"


def test_fork_on_a_code_host_and_dependency_links_are_only_flagged() -> None:
    setup = (
        "from setuptools import setup\n"
        "setup(name='demo', install_requires=['lib @ git+https://github.com/someone/lib.git'],\n"
        "      dependency_links=['https://github.com/someone/lib/tarball/master#egg=lib-1.0'])\n"
    )
    r = scan({"setup.py": setup, "demo/__init__.py": ""})
    assert rules(r).get("direct-url-dependency") == "medium"
    assert rules(r).get("dependency-links") == "medium"
    assert r.verdict == "suspicious"


def test_version_specifiers_and_markers_are_not_urls() -> None:
    setup = (
        "from setuptools import setup\n"
        "setup(name='demo', install_requires=['requests>=2', 'pywin32; sys_platform == \"win32\"'],"
        " url='https://example.invalid/demo')\n"
    )
    r = scan({"setup.py": setup, "demo/__init__.py": ""})
    assert "direct-url-dependency" not in rules(r)


def test_install_hook_of_a_package_built_from_c_sources_is_not_held() -> None:
    c_source = "#include <Python.h>\n" + "static int f(int x) { return x + 1; }\n" * 10
    r = scan({"setup.py": INSTALL_HOOK_RUNS, "demo/__init__.py": "", "src/demo.c": c_source})
    assert "install-hook-without-code" not in rules(r)


def test_import_of_a_standard_module_look_alike_on_import_is_held() -> None:
    init = "import sockets\n\ndef get(host):\n    return sockets.create(host)\n"
    r = scan({"setup.py": PLAIN_SETUP, "demo/__init__.py": init})
    assert rules(r).get("stdlib-lookalike-import") == "high"
    assert r.verdict == "malicious"


def test_look_alike_shipped_in_the_archive_or_real_modules_are_not_flagged() -> None:
    init = (
        "import socket, subprocess, pathlib2, typing_extensions, requests\n"
        "from . import tokens\nimport tokens\n"
    )
    r = scan({"setup.py": PLAIN_SETUP, "demo/__init__.py": init, "demo/tokens.py": "X = 1\n"})
    assert "stdlib-lookalike-import" not in rules(r)


def test_stdlib_lookalike_names() -> None:
    from bastion.scanning.engine import stdlib_lookalike

    assert stdlib_lookalike("sockets") == "socket"
    assert stdlib_lookalike("subprocesss") == "subprocess"
    assert stdlib_lookalike("subporcess") == "subprocess"
    for name in ("socket", "Queue", "urllib3", "pathlib2", "requests", "six", "numpy", "tomli"):
        assert stdlib_lookalike(name) is None, name
