"""The offline breached-password check and the script that builds its file."""

from __future__ import annotations

import hashlib
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from bastion.accounts.passwords import (
    BREACHED_MESSAGE,
    BreachedPasswordValidator,
    contains_hash,
    is_breached,
    sha1_hex,
)

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "build_breached_passwords.py"
BREACHED = ["hunter2hunter2", "correct horse battery", "Tr0ub4dor&3xyz", "pässwörter-123"]


def hibp_line(password: str, count: int = 7) -> str:
    # hashlib only as an independent oracle for the expected file contents
    return f"{hashlib.sha1(password.encode()).hexdigest().upper()}:{count}"


def write_hibp(path: Path, passwords: list[str], *, filler: int = 500, counts: bool = True) -> Path:
    """A file in the HIBP export layout: the breached hashes among random ones, sorted."""
    rng = random.Random(1234)
    lines = [hibp_line(p) for p in passwords]
    lines += [f"{rng.getrandbits(160):040X}:{rng.randint(1, 10**6)}" for _ in range(filler)]
    lines.sort()
    if not counts:
        lines = [line.split(":")[0] for line in lines]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="ascii")
    return path


def test_sha1_matches_the_corpus_key() -> None:
    assert sha1_hex("password") == b"5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8"


@pytest.mark.parametrize("counts", [True, False])
def test_every_listed_password_is_found_and_others_are_not(tmp_path: Path, counts: bool) -> None:
    path = write_hibp(tmp_path / "pwned.txt", BREACHED, counts=counts)
    for password in BREACHED:
        assert is_breached(password, path), password
    for password in ["not in the list at all", "hunter2hunter3", ""]:
        assert not is_breached(password, path), password


def test_first_and_last_lines_and_a_one_line_file(tmp_path: Path) -> None:
    path = tmp_path / "pwned.txt"
    lines = sorted(hibp_line(p) for p in BREACHED)
    path.write_text("\n".join(lines), encoding="ascii")  # no final newline
    first, last = lines[0].split(":")[0], lines[-1].split(":")[0]
    assert contains_hash(path, first.encode())
    assert contains_hash(path, last.encode())
    assert not contains_hash(path, b"0" * 40)
    assert not contains_hash(path, b"F" * 40)
    single = tmp_path / "one.txt"
    single.write_text(hibp_line("hunter2hunter2") + "\n", encoding="ascii")
    assert is_breached("hunter2hunter2", single)
    assert not is_breached("something else", single)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert not is_breached("hunter2hunter2", empty)


def test_lowercase_files_are_read_too(tmp_path: Path) -> None:
    path = tmp_path / "lower.txt"
    path.write_text(
        "\n".join(sorted(hibp_line(p).lower() for p in BREACHED)) + "\n", encoding="ascii"
    )
    assert is_breached("Tr0ub4dor&3xyz", path)


@hypothesis_settings(max_examples=40, deadline=None)
@given(
    present=st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=30, unique=True),
    absent=st.text(min_size=1, max_size=20),
)
def test_search_agrees_with_a_set(tmp_path_factory: Any, present: list[str], absent: str) -> None:
    path = tmp_path_factory.mktemp("h") / "pwned.txt"
    keys = sorted({sha1_hex(p).decode() + f":{len(p)}" for p in present})
    path.write_text("\n".join(keys) + "\n", encoding="ascii")
    for password in present:
        assert contains_hash(path, sha1_hex(password))
    assert contains_hash(path, sha1_hex(absent)) == (absent in present)


def test_validator_refuses_a_breached_password_with_the_reason(
    tmp_path: Path, bastion_settings: Any
) -> None:
    bastion_settings(breached_passwords_file=str(write_hibp(tmp_path / "p.txt", BREACHED)))
    with pytest.raises(ValidationError) as caught:
        validate_password("correct horse battery")
    assert BREACHED_MESSAGE in caught.value.messages
    assert "data breach" in BREACHED_MESSAGE
    validate_password("an unlisted long passphrase 7")  # accepted


def test_validator_is_off_without_a_file_and_survives_a_missing_one(
    tmp_path: Path, bastion_settings: Any, caplog: Any
) -> None:
    bastion_settings(breached_passwords_file="")
    BreachedPasswordValidator().validate("correct horse battery")
    bastion_settings(breached_passwords_file=str(tmp_path / "missing.txt"))
    BreachedPasswordValidator().validate("correct horse battery")
    assert "cannot be read" in caplog.text


def test_validator_option_path_wins(tmp_path: Path, bastion_settings: Any) -> None:
    bastion_settings(breached_passwords_file="")
    path = write_hibp(tmp_path / "p.txt", BREACHED)
    with pytest.raises(ValidationError):
        BreachedPasswordValidator(path=str(path)).validate("hunter2hunter2")


def test_the_build_script_writes_a_file_the_validator_reads(tmp_path: Path) -> None:
    source = tmp_path / "common.txt"
    source.write_bytes(
        "hunter2hunter2\r\n  spaced password  \npässwörter-123\n\nhunter2hunter2\n".encode()
    )
    output = tmp_path / "breached.txt"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(source), "-o", str(output)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "3 hashes written" in done.stderr
    lines = output.read_text(encoding="ascii").splitlines()
    assert lines == sorted(lines)
    assert hibp_line("hunter2hunter2", 2) in lines
    assert hibp_line("  spaced password  ", 1) in lines
    assert is_breached("pässwörter-123", output)
    assert is_breached("  spaced password  ", output)
    assert not is_breached("spaced password", output)


def test_the_build_script_merges_an_existing_export(tmp_path: Path) -> None:
    existing = write_hibp(tmp_path / "hibp.txt", ["hunter2hunter2"], filler=20)
    source = tmp_path / "ours.txt"
    source.write_text("hunter2hunter2\nour-leaked-secret\n", encoding="utf-8")
    output = tmp_path / "merged.txt"
    subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            str(source),
            "--merge",
            str(existing),
            "-o",
            str(output),
        ],
        capture_output=True,
        check=True,
    )
    lines = output.read_text(encoding="ascii").splitlines()
    assert len(lines) == 22
    assert hibp_line("hunter2hunter2", 8) in lines  # 7 in the export + 1 in our list
    assert is_breached("our-leaked-secret", output)


def test_the_build_script_refuses_a_malformed_merge_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("not-a-hash:3\n", encoding="ascii")
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="ascii")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(empty), "--merge", str(bad), "-o", str(tmp_path / "o")],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "is not a SHA-1 in hex" in done.stderr
