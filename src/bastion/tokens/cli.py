"""``bastion token``: issue, list and revoke a user's API tokens."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bastion.accounts.cli import user_named
from bastion.cli_support import migrate, setup_django


def register(subparsers: Any) -> None:
    token = subparsers.add_parser("token", help="Manage API tokens.")
    token_sub = token.add_subparsers(dest="token_command", metavar="ACTION")
    token_sub.required = True
    p = token_sub.add_parser("create", help="Issue an API token for a user and print it once.")
    p.add_argument("name", help="The user the token belongs to.")
    p.add_argument(
        "--project", action="append", default=[], help="Limit to this project (repeatable)."
    )
    p.add_argument("--expires", help="Lifetime, e.g. 12h, 30d, 1y (default: no expiry).")
    p.add_argument("--token-name", help="A label for the token (default: 'cli-<timestamp>').")
    p.add_argument(
        "--upload-only",
        action="store_true",
        help="The token may upload but never create a project.",
    )
    p.add_argument("--json", action="store_true", help="Print the result as JSON.")
    p.set_defaults(handler=cmd_token_create)
    p = token_sub.add_parser("list", help="List a user's tokens.")
    p.add_argument("name", help="Username.")
    p.add_argument("--json", action="store_true", help="Print the result as JSON.")
    p.set_defaults(handler=cmd_token_list)
    p = token_sub.add_parser("revoke", help="Revoke a token by id, or all of a user's tokens.")
    p.add_argument("name", help="Username.")
    p.add_argument("token_id", nargs="?", help="Token id (omit with --all).")
    p.add_argument("--all", action="store_true", help="Revoke every token of the user.")
    p.set_defaults(handler=cmd_token_revoke)


def cmd_token_create(args: argparse.Namespace) -> int:
    setup_django()
    migrate()
    from django.utils import timezone

    from bastion.tokens.services import TokenRequestError, create_token, parse_duration

    user = user_named(args.name)
    if user is None:
        return 2
    from bastion.authz import (
        Action,
        authorize,
        lacks_required_second_factor,
        session_identity,
    )

    # The operator speaks for the user here, so the user's own permission applies.
    decision = authorize(session_identity(user), Action.CREATE_TOKEN)
    if not decision:
        print(f"error: {decision.reason}", file=sys.stderr)
        if lacks_required_second_factor(user):
            print(
                "hint: users made with `bastion user create --with-totp` have TOTP.",
                file=sys.stderr,
            )
        return 2
    try:
        expires = timezone.now() + parse_duration(args.expires) if args.expires else None
        raw, token = create_token(
            user,
            args.token_name or f"cli-{timezone.now():%Y%m%d%H%M%S%f}",
            projects=args.project,
            expires=expires,
            upload_only=args.upload_only,
        )
    except TokenRequestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(
            json.dumps(
                {
                    "token": raw,
                    "id": str(token.pk),
                    "name": token.name,
                    "projects": token.projects,
                    "expires": token.expires.isoformat() if token.expires else None,
                }
            )
        )
    else:
        print(raw)
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    setup_django()
    from bastion.tokens.services import tokens_of

    user = user_named(args.name)
    if user is None:
        return 2
    rows = [
        {
            "id": str(t.pk),
            "name": t.name,
            "scope": t.scope_label,
            "created": t.created.isoformat(),
            "expires": t.expires.isoformat() if t.expires else None,
            "last_used": t.last_used.isoformat() if t.last_used else None,
            "upload_only": t.upload_only,
        }
        for t in tokens_of(user)
    ]
    if args.json:
        print(json.dumps(rows))
    else:
        for r in rows:
            print(
                f"{r['id']}  {r['name']}  scope={r['scope']}"
                f"{'  upload-only' if r['upload_only'] else ''}"
                f"  expires={r['expires'] or 'never'}  last used={r['last_used'] or 'never'}"
            )
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    setup_django()
    from bastion.tokens.services import revoke, revoke_all, token_of

    user = user_named(args.name)
    if user is None:
        return 2
    if args.all:
        count = revoke_all(user, actor=user)
        print(f"revoked {count} token{'' if count == 1 else 's'}")
        return 0
    token = token_of(user, args.token_id) if args.token_id else None
    if token is None:
        print("error: no such token", file=sys.stderr)
        return 2
    revoke(token, actor=user)
    print("revoked")
    return 0
