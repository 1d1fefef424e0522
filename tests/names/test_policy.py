"""Unit and property tests for the names domain (pure: no database)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.names.lookalike import (
    KINDS,
    Edit,
    LookalikeIndex,
    classify_edit,
    keyboard_neighbours,
)
from bastion.names.normalize import MAX_NAME_LENGTH, canonicalize, is_valid_name, skeleton
from bastion.names.policy import NamePolicy, load_names, shipped_protected_names
from bastion.names.prohibited import is_stdlib

SHIPPED = shipped_protected_names()
TOP50 = [n for n in SHIPPED[:50] if len(n) >= 4]
NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-_."
names = st.text(alphabet=NAME_CHARS, min_size=1, max_size=30)


@pytest.fixture(scope="module")
def policy() -> NamePolicy:
    return NamePolicy()


# ----------------------------------------------------------------- normalisation


def test_canonicalize() -> None:
    assert canonicalize("Typing__Extensions") == "typing-extensions"
    assert canonicalize(" zope.interface ") == "zope-interface"


@given(names)
def test_canonicalize_idempotent(name: str) -> None:
    once = canonicalize(name)
    assert canonicalize(once) == once


@given(names)
def test_skeleton_idempotent(name: str) -> None:
    once = skeleton(name)
    assert skeleton(once) == once


def test_skeleton_folds_lookalikes() -> None:
    assert skeleton("djang0") == skeleton("django")
    assert skeleton("rnatplotlib") == skeleton("matplotlib")
    assert skeleton("py-yaml") == skeleton("pyyaml")


def test_validity() -> None:
    assert is_valid_name("requests")
    assert is_valid_name("a")
    assert not is_valid_name("-requests")
    assert not is_valid_name("req uests")
    assert not is_valid_name("requests!")


def test_keyboard() -> None:
    assert "w" in keyboard_neighbours("q")
    assert "p" not in keyboard_neighbours("q")


def test_classify_edit() -> None:
    assert classify_edit("reqeusts", "requests") == Edit("swap", 3, "u", "e")
    assert classify_edit("requestss", "requests") == Edit("ins", 8, "", "s")
    assert classify_edit("reqests", "requests") == Edit("del", 3, "u", "")
    assert classify_edit("requestz", "requests") == Edit("sub", 7, "s", "z")
    assert classify_edit("requests", "requests") is None
    assert classify_edit("rqeustes", "requests") is None


# ----------------------------------------------------------------- the policy


@pytest.mark.parametrize(
    ("name", "target", "kind", "how"),
    [
        # one edit: every slip a typist makes, each named
        ("reqeusts", "requests", "one-edit", "two letters swapped"),
        ("requestss", "requests", "one-edit", "'s' doubled"),
        ("numpyy", "numpy", "one-edit", "'y' doubled"),
        ("beautifulsop4", "beautifulsoup4", "one-edit", "'u' dropped"),
        ("tensorfow", "tensorflow", "one-edit", "'l' dropped"),
        ("requezts", "requests", "one-edit", "'z' for the neighbouring key 's'"),
        ("ytorch", "torch", "one-edit", "an extra 'y' beside the key 't'"),
        ("fkask", "flask", "one-edit", "'k' for the neighbouring key 'l'"),
        ("cryptografy", "cryptography", "two-edits", "two letters changed"),
        ("djang0", "django", "homoglyph", "'0' for 'o'"),
        ("rnatplotlib", "matplotlib", "homoglyph", "'rn' for 'm'"),
        ("colorama-py", "colorama", "affix", "'-py' added at the end"),
        ("libnumpy", "numpy", "affix", "'lib' added in front"),
        ("requests-lib", "requests", "affix", "'-lib' added at the end"),
        ("python-dateutil", "python-dateutil", "", ""),  # protected: never refused
        ("pyyaml", "pyyaml", "", ""),
        ("py-yaml", "pyyaml", "separator", "the same letters, other separators"),
        ("extensions-typing-x", "", "", ""),
    ],
)
def test_lookalikes_refused_with_target_and_kind(
    policy: NamePolicy, name: str, target: str, kind: str, how: str
) -> None:
    v = policy.check(name)
    if not kind:
        assert not v.blocked, v
        return
    assert v.blocked, v
    assert (v.code, v.target, v.kind) == ("lookalike", target, kind)
    assert v.reason == (
        f"The name '{name}' is too similar to an existing project, '{target}' "
        f"({KINDS[kind]}: {how})."
    )


def test_words_reordered_are_refused() -> None:
    v = NamePolicy(["requests", "aws-cdk-core"]).check("core-aws-cdk")
    assert (v.blocked, v.target, v.kind) == (True, "aws-cdk-core", "reorder")
    assert v.reason == (
        "The name 'core-aws-cdk' is too similar to an existing project, 'aws-cdk-core' "
        "(reorder: the same words in another order)."
    )


def test_every_kind_has_words() -> None:
    assert set(KINDS) == {"one-edit", "two-edits", "affix", "separator", "homoglyph", "reorder"}
    assert KINDS["one-edit"] == "one edit" and KINDS["two-edits"] == "two edits"


def test_reason_wording(policy: NamePolicy) -> None:
    # PyPI's "too similar to an existing project", then the project and how.
    assert policy.check("reqeusts").reason == (
        "The name 'reqeusts' is too similar to an existing project, 'requests' "
        "(one edit: two letters swapped)."
    )


def test_an_overlong_name_is_refused_before_any_other_work(policy: NamePolicy) -> None:
    # Every later step (canonical form, look-alike search) grows with the name's length.
    assert policy.check("a" * MAX_NAME_LENGTH).code != "invalid"
    v = policy.check("a" * 1_000_000)
    assert v.blocked and v.code == "invalid"
    assert v.name == f"{'a' * 30}...{'a' * 30}"
    assert f"at most {MAX_NAME_LENGTH} characters" in (v.reason or "")


@pytest.mark.parametrize(
    "name",
    [
        "django-my-brand-new-plugin",
        "flask-something-else",
        "pytest-acme-fixtures",
        "types-acme",
        "flake8-acme",
        "acme-internal-tools",
        "pyqt7",  # version variants are different projects
        "mypy-boto3-xyz",
        "bastion-test-project",
        # families real projects build around a popular name: companions, stubs, bindings
        "django-acme-widgets",
        "django-rest-framework-acme",
        "flask-requests",
        "pytest-numpy",
        "requests-stubs",
        "colorama-stubs",
        "pyrequests",  # "py" + a name: a binding, whichever way it is glued
        "pynumpy",
        "pyandas",
        "pyflask",
        "python-requests",
        "requests-python",  # "-python" behind: how bindings of X are named (opencv-python)
        "flask-sqlalchemy2",
        "cython-acme",
    ],
)
def test_families_and_unrelated_allowed(policy: NamePolicy, name: str) -> None:
    v = policy.check(name)
    assert not v.blocked, v


def test_stdlib_refused_with_pypi_wording() -> None:
    v = NamePolicy(["requests"]).check("asyncio")
    assert v.blocked and v.code == "stdlib"
    assert v.reason == (
        "The name 'asyncio' isn't allowed (conflict with Python Standard Library module name)."
    )
    assert is_stdlib("os-path")


@pytest.mark.parametrize("name", ["simple", "pypi", "legacy", "packages", "admin", "_"])
def test_reserved_refused(name: str) -> None:
    v = NamePolicy(["requests"]).check(name)
    assert v.blocked and v.code in ("prohibited", "invalid")


def test_operator_prohibited_and_extra_protected() -> None:
    pol = NamePolicy(["requests"], prohibited=["acme-secret"], extra_protected=["acmecorp-sdk"])
    assert pol.check("Acme_Secret").code == "prohibited"
    assert pol.check("Acme_Secret").reason == "The name 'Acme_Secret' isn't allowed."
    v = pol.check("acmecrop-sdk")
    assert v.blocked and v.target == "acmecorp-sdk"


def test_not_protected_releases_a_name() -> None:
    pol = NamePolicy(["requests", "acmecorp"], not_protected=["acmecorp"])
    assert not pol.check("acmecrop").blocked


def test_invalid_name() -> None:
    v = NamePolicy(["requests"]).check("bad name!")
    assert v.blocked and v.code == "invalid"


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(SHIPPED))
def test_protected_name_never_blocked(policy: NamePolicy, name: str) -> None:
    v = policy.check(name)
    assert not v.blocked or v.code == "prohibited", v


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(TOP50), st.integers(min_value=0, max_value=40), st.sampled_from("qwxz"))
def test_single_edit_of_top50_blocked(policy: NamePolicy, target: str, i: int, ch: str) -> None:
    """Transpositions, doubled letters and dropped inner letters of a top-50 name are refused
    (names of four letters or more: shorter ones are too crowded to protect this way; digits
    are version-like and exempt)."""
    letters = target
    pos = i % len(letters)
    variants = [letters[:pos] + letters[pos] + letters[pos:]]  # doubled letter
    word = letters[: pos + 2].split("-")[-1] + letters[pos + 2 :].split("-")[0]
    short_code_word = "-" in letters and len(word) <= 3  # rds/drs: documented exemption
    if pos + 1 < len(letters) and letters[pos] != letters[pos + 1] and not short_code_word:
        variants.append(letters[:pos] + letters[pos + 1] + letters[pos] + letters[pos + 2 :])
    if 0 < pos < len(letters) - 1 and len(letters) >= 9 and not short_code_word:
        variants.append(letters[:pos] + letters[pos + 1 :])
    for v in variants:
        v = v.strip("-")
        if not letters[pos].isalpha() or "--" in v or v in policy.index or not is_valid_name(v):
            continue
        verdict = policy.check(v)
        if verdict.code in ("stdlib", "prohibited"):
            continue
        assert verdict.blocked, (target, v, verdict)


@given(names)
@settings(max_examples=300, deadline=None)
def test_check_never_crashes(policy: NamePolicy, name: str) -> None:
    v = policy.check(name)
    assert isinstance(v.blocked, bool)
    assert v.blocked == (v.reason is not None)


def test_index_prefers_most_popular_target() -> None:
    idx = LookalikeIndex(["requests", "requestz"])
    m = idx.match("requestx")
    assert m is not None and m.target == "requests"


def test_load_names(tmp_path: Path) -> None:
    f = tmp_path / "p.txt"
    f.write_text("# comment\nRequests\t1\n\nZope.Interface  # trailing\n", encoding="utf-8")
    assert load_names(f) == ["requests", "zope-interface"]


# ----------------------------------------------------------------- the command


def _run(args: list[str], stdin: str = "", **variables: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BASTION_", "DJANGO_"))}
    return subprocess.run(
        [sys.executable, "-m", "bastion", "check-name", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**env, **variables},
    )


def test_cli_json_contract(tmp_path: Path) -> None:
    prot = tmp_path / "protected.txt"
    prot.write_text("requests\nnumpy\n", encoding="utf-8")
    p = _run(["--protected", str(prot), "--json"], "reqeusts\nnumpy\nmy-fresh-name\n\n")
    assert p.returncode == 0, p.stderr
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    assert [r["name"] for r in rows] == ["reqeusts", "numpy", "my-fresh-name"]
    for r in rows:
        assert set(r) >= {"name", "blocked", "reason", "target", "kind"}
    assert rows[0] == {
        **rows[0],
        "blocked": True,
        "code": "lookalike",
        "target": "requests",
        "kind": "one-edit",
        "reason": "The name 'reqeusts' is too similar to an existing project, 'requests' "
        "(one edit: two letters swapped).",
    }
    # The exact name of a protected project is reserved (BASTION_RESERVE_PROTECTED_NAMES).
    assert rows[1] == {**rows[1], "blocked": True, "code": "reserved", "target": "numpy"}
    assert rows[2] == {**rows[2], "blocked": False, "target": None, "reason": None, "kind": None}
    p = _run(["--protected", str(prot), "--json", "numpy"], BASTION_RESERVE_PROTECTED_NAMES="0")
    row = json.loads(p.stdout)
    assert row == {**row, "blocked": False, "code": "protected", "reason": None}


def test_cli_names_as_arguments_and_text_output() -> None:
    p = _run(["--offline", "reqeusts", "some-new-project", "numpy"])
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""  # offline by request: no note
    lines = p.stdout.splitlines()
    assert lines[0].startswith("REFUSED  reqeusts:")
    assert lines[1].startswith("allowed  some-new-project")
    assert lines[2].startswith("REFUSED  numpy: The name 'numpy' isn't allowed: it is reserved")
    p = _run(["--offline", "numpy"], BASTION_RESERVE_PROTECTED_NAMES="0")
    assert p.stdout == "allowed  numpy (protected name)\n"


def test_cli_empty_input() -> None:
    p = _run(["--offline", "--json"], "")
    assert p.returncode == 0 and p.stdout == ""
