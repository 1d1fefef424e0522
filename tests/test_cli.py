"""The operator's commands, run in-process against the test database."""

from __future__ import annotations

import argparse
import io
import json
from typing import Any

import pytest

from bastion.cli import build_parser, main
from bastion.packages.models import File, Release
from tests import builders
from tests.upload.test_verdict import malicious_sdist

pytestmark = pytest.mark.django_db(transaction=True)


def run(capsys: Any, *args: str, stdin: str = "") -> tuple[int, str, str]:
    import sys

    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        code = main(list(args))
    finally:
        sys.stdin = old
    out, err = capsys.readouterr()
    return code, out, err


def test_every_command_has_help(capsys: Any) -> None:
    for args in (
        ["serve"],
        ["worker"],
        ["user", "create"],
        ["token", "create"],
        ["check"],
        ["yank"],
    ):
        with pytest.raises(SystemExit) as exc:
            main([*args, "--help"])
        assert exc.value.code == 0
        assert "usage: bastion" in capsys.readouterr().out


#: Each subcommand's handler, by the module of the domain that owns its concept.
HOMES = {
    "serve": "bastion.server",
    "migrate": "bastion.server",
    "check": "bastion.server",
    "worker": "bastion.upload.cli",
    "rescan": "bastion.upload.cli",
    "user create": "bastion.accounts.cli",
    "user reset-2fa": "bastion.accounts.cli",
    "token create": "bastion.tokens.cli",
    "token list": "bastion.tokens.cli",
    "token revoke": "bastion.tokens.cli",
    "yank": "bastion.packages.cli",
    "release": "bastion.packages.cli",
    "hold": "bastion.packages.cli",
    "files": "bastion.packages.cli",
    "render": "bastion.index.cli",
    "check-name": "bastion.names.cli",
    "scan": "bastion.scanning.cli",
    "survey": "bastion.scanning.cli",
}


def _handlers(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, str]:
    found: dict[str, str] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.update(_handlers(sub, f"{prefix} {name}".strip()))
    handler = parser.get_default("handler")
    if handler is not None:
        found[prefix] = handler.__module__
    return found


def test_each_subcommand_is_registered_by_the_domain_that_owns_it() -> None:
    assert _handlers(build_parser()) == HOMES


def test_user_and_token_create(capsys: Any) -> None:
    code, out, _ = run(
        capsys,
        "user",
        "create",
        "carol",
        "--email",
        "c@example.com",
        "--password-stdin",
        "--with-totp",
        "--json",
        stdin="a sufficiently long passphrase\n",
    )
    created = json.loads(out)
    assert code == 0 and created["name"] == "carol"
    assert created["totp_uri"].startswith("otpauth://totp/") and "secret=" in created["totp_uri"]
    from bastion.accounts.models import User

    carol = User.objects.get(username="carol")
    assert carol.email_verified and carol.has_totp
    # The secret is stored encrypted, never as printed.
    secret = created["totp_uri"].split("secret=")[1].split("&")[0]
    assert secret not in carol.totp_secret
    code, out, _ = run(capsys, "token", "create", "carol", "--expires", "30d")
    assert code == 0 and out.strip().startswith("bastion-")
    code, out, _ = run(capsys, "token", "list", "carol", "--json")
    (row,) = json.loads(out)
    assert row["expires"] is not None and row["last_used"] is None


def test_token_create_refused_without_two_factor(capsys: Any) -> None:
    code, _, _ = run(
        capsys,
        "user",
        "create",
        "erin",
        "--email",
        "e@example.com",
        "--password-stdin",
        stdin="a sufficiently long passphrase\n",
    )
    assert code == 0
    code, out, err = run(capsys, "token", "create", "erin")
    assert code == 2 and not out
    assert "Two-factor authentication is required" in err and "--with-totp" in err


def test_user_create_refuses_weak_password(capsys: Any) -> None:
    code, _, err = run(
        capsys,
        "user",
        "create",
        "dave",
        "--email",
        "d@example.com",
        "--password-stdin",
        stdin="password\n",
    )
    assert code == 2 and "error:" in err


def test_token_for_unknown_project_refused(capsys: Any, user: Any) -> None:
    code, _, err = run(capsys, "token", "create", "alice", "--project", "nope")
    assert code == 2 and "No project named 'nope'" in err


def test_check_finds_corruption_and_repairs_links(
    capsys: Any, upload: Any, token: str, settings: Any
) -> None:
    assert upload(builders.wheel("samplepkg", "1.0"), token).status_code == 200
    code, out, _ = run(capsys, "check", "--json")
    assert code == 0 and json.loads(out) == {"checked": 1, "problems": []}
    file = File.objects.get()
    path = settings.BASTION.storage_dir / file.storage_key
    published = settings.BASTION.public_dir / "packages" / file.storage_key
    published.unlink()
    code, out, _ = run(capsys, "check", "--json")
    assert code == 1
    assert {
        "file": "samplepkg-1.0-py3-none-any.whl",
        "problem": "published but not downloadable",
    } in json.loads(out)["problems"]
    run(capsys, "check", "--repair")
    assert published.exists()
    path.chmod(0o644)
    path.write_bytes(b"tampered")
    (settings.BASTION.storage_dir / "ab" / "cd").mkdir(parents=True)
    (settings.BASTION.storage_dir / "ab" / "cd" / "orphan.whl").write_bytes(b"x")
    code, out, _ = run(capsys, "check")
    assert code == 1
    assert "samplepkg-1.0-py3-none-any.whl: content does not match recorded hashes" in out
    assert "ab/cd/orphan.whl: in storage but not in the database (orphan)" in out


def test_yank_command(capsys: Any, upload: Any, token: str) -> None:
    assert upload(builders.wheel("samplepkg", "1.0"), token).status_code == 200
    code, _, _ = run(capsys, "yank", "samplepkg", "1.0", "--reason", "oops")
    assert code == 0
    release = Release.objects.get()
    assert release.yanked and release.yanked_reason == "oops"
    run(capsys, "yank", "samplepkg", "1.0", "--undo")
    release.refresh_from_db()
    assert not release.yanked
    code, _, _ = run(capsys, "yank", "samplepkg", "9.9")
    assert code == 2


def test_hold_release_and_list_files(capsys: Any, upload: Any, token: str, client: Any) -> None:
    assert upload(builders.wheel("samplepkg", "1.0"), token).status_code == 200
    file = File.objects.get()
    url = f"/packages/{file.storage_key}"
    assert run(capsys, "hold", file.filename, "--reason", "review")[0] == 0
    assert client.get(url).status_code == 404
    code, out, _ = run(capsys, "files", "--json")
    assert code == 0 and json.loads(out)[0]["state"] == "held"
    assert run(capsys, "release", file.filename)[0] == 0
    assert client.get(url).status_code == 200
    assert run(capsys, "release", file.filename)[0] == 2
    from bastion.events.models import Event

    assert Event.objects.filter(tag="project:file:hold").exists()


def test_survey_lists_projects_using_a_module(capsys: Any, upload: Any, token: str) -> None:
    code = "from OpenSSL import crypto\n\ndef sign(k, d):\n    return crypto.sign(k, d, 'sha256')\n"
    assert upload(builders.wheel("samplepkg", "1.0", code=code), token).status_code == 200
    assert upload(builders.wheel("otherpkg", "1.0"), token).status_code == 200
    exit_code, out, _ = run(capsys, "survey", "--imports", "OpenSSL", "--json")
    assert exit_code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["project"] for r in rows] == ["samplepkg"]
    assert any("sign" in name for fns in rows[0]["modules"].values() for name in fns)


def test_malicious_upload_is_held_and_owners_notified(
    upload: Any, token: str, client: Any, mailoutbox: Any
) -> None:
    dist = malicious_sdist()
    assert upload(dist, token).status_code == 400  # held: refused with the reason
    file = File.objects.get()
    assert file.state == File.HELD and file.scan_verdict == "malicious"
    assert client.get(f"/packages/{file.storage_key}").status_code == 404
    assert "samplepkg-1.0.tar.gz" not in client.get("/simple/samplepkg/").content.decode()
    assert any("samplepkg-1.0.tar.gz was held" in m.subject for m in mailoutbox)
    assert "alice@example.com" in {r for m in mailoutbox for r in m.to}


def test_rescan_holds_what_is_now_malicious(
    capsys: Any, upload: Any, token: str, settings: Any
) -> None:
    from django.db import transaction

    from bastion.packages import services

    dist = malicious_sdist()
    assert upload(dist, token).status_code == 400  # held: refused with the reason
    file = File.objects.get()
    with transaction.atomic():  # as if it had been published under older rules
        services.publish_file(file)
    file.refresh_from_db()
    assert file.state == File.PUBLISHED
    code, out, _ = run(capsys, "rescan", "--json")
    assert code == 0
    assert json.loads(out.splitlines()[0])["outcome"] == "held"
    file.refresh_from_db()
    assert file.state == File.HELD


def test_user_create_refuses_an_address_already_used(capsys: Any, user: Any) -> None:
    code, _, err = run(
        capsys,
        "user",
        "create",
        "alice2",
        "--email",
        "ALICE@example.com",
        "--password-stdin",
        stdin="a sufficiently long passphrase\n",
    )
    assert code == 2 and "already used by another account" in err


def test_reset_2fa_removes_every_factor_and_tells_the_user(capsys: Any, user: Any) -> None:
    from django.core import mail

    from bastion.accounts.mfa import generate_recovery_codes
    from bastion.accounts.models import RecoveryCode, has_two_factor
    from bastion.events import origin
    from bastion.events.describe import describe
    from bastion.events.models import Event

    generate_recovery_codes(user)
    assert has_two_factor(user)
    code, out, _ = run(capsys, "user", "reset-2fa", "alice")
    assert code == 0 and "removed 1 second factor of alice" in out
    user.refresh_from_db()
    assert not has_two_factor(user) and not RecoveryCode.objects.filter(user=user).exists()
    event = Event.objects.get(tag="account:2fa:reset", subject_id=user.pk)
    # Marked as the operator's command the way every command's events are (events.origin).
    assert event.additional["via"] == origin.COMMAND_LINE
    assert event.additional["operator"] == origin.login_name()
    assert describe(event).origin == f"{origin.COMMAND_LINE} (operator)"
    assert any("Two-factor authentication reset" in m.subject for m in mail.outbox)
    # Without a factor again, the user cannot get a token until they set one up.
    code, _, err = run(capsys, "token", "create", "alice")
    assert code == 2 and "Two-factor authentication is required" in err


DATABASE_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def test_rescan_publishes_or_holds_a_pending_file(capsys: Any, upload: Any, token: str) -> None:
    """A pending file goes through the scan task's own decision, at once, not only its verdict."""
    from django.test import override_settings

    with override_settings(TASKS=DATABASE_QUEUE):  # nobody runs the queue: both stay pending
        assert upload(builders.wheel("samplepkg", "1.0"), token).status_code == 200
        dist = malicious_sdist()
        assert upload(dist, token).status_code == 200
        assert set(File.objects.values_list("state", flat=True)) == {File.PENDING}
        code, out, _ = run(capsys, "rescan", "--state", "pending")
        assert code == 0
        assert "published  samplepkg-1.0-py3-none-any.whl" in out
        assert "held       samplepkg-1.0.tar.gz" in out
        assert "1 file(s) newly held" in out and "1 pending file(s) published" in out
        assert File.objects.get(filename="samplepkg-1.0-py3-none-any.whl").state == File.PUBLISHED
        assert File.objects.get(filename="samplepkg-1.0.tar.gz").state == File.HELD
        # The scans still queued find nothing left to decide.
        assert run(capsys, "worker", "--batch", "--nice", "0")[0] == 0
    from django_tasks_db.models import DBTaskResult

    assert set(DBTaskResult.objects.values_list("return_value", flat=True)) == {"skipped"}
    assert run(capsys, "check")[0] == 0


def test_check_repair_exits_zero_only_when_everything_was_repaired(
    capsys: Any, upload: Any, token: str, settings: Any
) -> None:
    assert upload(builders.wheel("samplepkg", "1.0"), token).status_code == 200
    file = File.objects.get()
    (settings.BASTION.public_dir / "packages" / file.storage_key).unlink()
    code, out, _ = run(capsys, "check", "--repair")
    assert code == 0
    assert (
        "samplepkg-1.0-py3-none-any.whl: published but not downloadable"
        " -> linked into the public tree" in out
    )
    assert "checked 1 files, 1 problems, 1 repaired" in out
    (settings.BASTION.storage_dir / "ab" / "cd").mkdir(parents=True)
    (settings.BASTION.storage_dir / "ab" / "cd" / "orphan.whl").write_bytes(b"x")
    code, out, _ = run(capsys, "check", "--repair", "--json")
    assert code == 1  # orphans are only listed
    assert json.loads(out) == {
        "checked": 1,
        "problems": [
            {
                "file": "ab/cd/orphan.whl",
                "problem": "in storage but not in the database (orphan)",
                "repaired": None,
            }
        ],
        "unrepaired": 1,
    }


def test_worker_refuses_a_lease_that_is_not_positive(capsys: Any) -> None:
    code, _, err = run(capsys, "worker", "--lease", "0", "--nice", "0")
    assert code == 2 and "--lease must be more than 0" in err
