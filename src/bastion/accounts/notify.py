"""Security notices: the email a user gets after every security-relevant change.

A notice is sent only once the change is committed (``transaction.on_commit``): a change that
rolls back must not tell anybody it happened. Sending failures are logged, never raised: the
change itself stands, and its audit event is the record.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.mail import send_mail
from django.db import transaction

from bastion.config import current

log = logging.getLogger(__name__)

FOOTER = (
    "\n\nIf this was not you, change your password, check the security history of your account"
    " and contact the administrators of this index.\n"
)


def send_security_notice(user: Any, subject: str, body: str, *, to: str | None = None) -> None:
    """Email ``user`` (or the address ``to``) about a change to their account or projects."""
    address = to or getattr(user, "email", "")
    if not address:
        return
    site = current().site_name
    full_subject = f"[{site}] {subject}"
    text = f"Hello {user.get_username()},\n\n{body.strip()}{FOOTER}"

    def _send() -> None:
        try:
            send_mail(full_subject, text, None, [address], fail_silently=False)
        except Exception:  # a mail outage must not undo a committed change
            log.exception("could not send the security notice %r to %s", subject, address)

    transaction.on_commit(_send)
