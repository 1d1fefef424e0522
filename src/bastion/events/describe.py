"""Events as people read them: a sentence for each kind, who acted and from where.

The security histories (the account page, a project's management page) show these instead of
the stored codes (``project:file:add``), which stay available beside the sentence for
whoever searches the audit trail. Every kind recorded anywhere has its sentence here
(``tests/events/test_describe.py`` reads the sources for ``events.record`` tags); an unknown
kind, say from a newer release's rows, falls back to its code.

The sentences leave out who acted (the history's "By" column says it) and name the project,
since an account's history mixes every project of the account.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bastion.events import origin


class _Event(Protocol):
    tag: str
    subject_kind: str
    subject_name: str
    actor_name: str
    ip_address: str | None
    additional: Any


@dataclass(frozen=True)
class Described:
    """What a history's row shows of one event."""

    sentence: str
    #: Who acted: a user name, ``operator`` (a command on the server), ``bastion`` (the index
    #: itself: a scan's verdict), or empty when unknown (a failed sign-in).
    by: str
    #: Where from: the client's address, or ``command line (operator)``; empty when unknown.
    origin: str
    #: The stored kind, kept for search and as the row's tooltip.
    code: str
    #: The operator's login name on the server, when a command made the change.
    operator: str = ""


_Sentence = Callable[["_Fields"], str]


class _Fields:
    """The event's details with defaults, so a sentence never fails on an older row."""

    def __init__(self, event: _Event) -> None:
        extra = event.additional if isinstance(event.additional, Mapping) else {}
        self._extra: Mapping[str, Any] = extra
        self.subject = event.subject_name

    def __getitem__(self, key: str) -> str:
        value = self._extra.get(key)
        return "" if value is None else str(value)

    def has(self, key: str) -> bool:
        return bool(self._extra.get(key))

    def raw(self, key: str) -> Any:
        return self._extra.get(key)

    @property
    def project(self) -> str:
        return self["project"] or self.subject


_METHODS = {
    "password": "the password",
    "totp": "an authenticator app code",
    "recovery code": "a recovery code",
    "webauthn": "a security key",
    "passkey": "a passkey",
}


def _method(f: _Fields) -> str:
    method = f["method"]
    return _METHODS.get(method, method) if method else ""


def _with_method(text: str) -> _Sentence:
    return lambda f: f"{text} with {_method(f)}" if f["method"] else text


def _because(f: _Fields, key: str = "reason") -> str:
    return f": {f[key]}" if f[key] else ""


def _quoted(value: str) -> str:
    return f"\u201c{value}\u201d"


def _login_failure(f: _Fields) -> str:
    reason = {"password": "wrong user name or password", "passkey": "unknown passkey"}.get(
        f["reason"], f["reason"]
    )
    return f"Failed sign-in ({reason})" if reason else "Failed sign-in"


def _second_factor_failure(f: _Fields) -> str:
    when = {"login": " while signing in", "reauth": " while confirming it is you"}.get(
        f["context"], ""
    )
    return f"Second factor refused{when}{_because(f)}"


def _published(f: _Fields) -> str:
    if f.has("released_by_moderator") or f.has("released_by_operator"):
        how = " (released after review)"
    elif f["verdict"]:
        how = f" (scan verdict: {f['verdict']})"
    else:
        how = ""
    return f"Published {f['filename']} in {f.project}{how}"


def _account_change(f: _Fields) -> str:
    changes = f.raw("changes")
    if isinstance(changes, Mapping) and changes:
        listed = ", ".join(f"{field}: {value}" for field, value in changes.items())
        return f"Account settings changed by an administrator ({listed})"
    return "Account settings changed by an administrator"


def _account_role_remove(f: _Fields) -> str:
    if f.has("left"):
        return f"Left {f.project}"
    return f"Removed from {f.project}" + (f" (was {f['role']})" if f["role"] else "")


def _project_role_remove(f: _Fields) -> str:
    if f.has("left"):
        return f"{f['user']} left {f.project}"
    return f"Removed {f['user']} from {f.project}" + (f" (was {f['role']})" if f["role"] else "")


_ACCOUNT: dict[str, _Sentence] = {
    "account:create": lambda f: (
        "Account created" + (" as an administrator" if f.has("admin") else "")
    ),
    "account:change": _account_change,
    "account:remove": lambda f: f"Account {f.subject} deleted",
    "account:email:verify": lambda f: f"Verified the email address {f['email']}".rstrip(),
    "account:email:change": lambda f: (
        f"Changed the email address from {f['old_email'] or '(none)'} to {f['new_email']}"
    ),
    "account:login": _with_method("Signed in"),
    "account:login:failure": _login_failure,
    "account:2fa:failure": _second_factor_failure,
    "account:password:change": lambda f: "Changed the password",
    "account:password:reset": lambda f: "Reset the password through an emailed link",
    "account:reauthenticate": _with_method("Confirmed it is you"),
    "account:reauthenticate:failure": lambda f: f"Failed to confirm it is you{_because(f)}",
    "account:token:create": lambda f: (
        f"Created API token {_quoted(f['token'])}"
        + (f" (scope: {f['scope']})" if f["scope"] else "")
    ),
    "account:token:use": lambda f: f"Used API token {_quoted(f['token'])}",
    "account:token:revoke": lambda f: f"Revoked API token {_quoted(f['token'])}",
    "account:token:removed_leak": lambda f: (
        f"Revoked API token {_quoted(f['token'])}: it was found in public"
        + (f" at {f['url']}" if f["url"] else "")
    ),
    "account:2fa:totp:add": lambda f: "Added an authenticator app",
    "account:2fa:totp:remove": lambda f: "Removed the authenticator app",
    "account:2fa:webauthn:add": lambda f: (
        f"Added {'passkey' if f.has('passkey') else 'security key'} {_quoted(f['label'])}"
    ),
    "account:2fa:webauthn:remove": lambda f: f"Removed security key {_quoted(f['label'])}",
    "account:2fa:reset": lambda f: "Every second factor and recovery code removed by an operator",
    "account:recovery_codes:generate": lambda f: "Generated new recovery codes",
    "account:recovery_codes:use": lambda f: "Used a recovery code",
    "account:role:invite": lambda f: f"Invited to be {f['role']} of {f.project}",
    "account:role:accept": lambda f: f"Accepted the invitation to be {f['role']} of {f.project}",
    "account:role:decline": lambda f: f"Declined the invitation to {f.project}",
    "account:role:revoke": lambda f: f"Invitation to {f.project} withdrawn",
    "account:role:change": lambda f: f"Role in {f.project} changed to {f['role']}",
    "account:role:remove": _account_role_remove,
}

_PROJECT: dict[str, _Sentence] = {
    "project:create": lambda f: f"Created the project {f.project}",
    "project:remove": lambda f: f"Deleted the project {f['name'] or f.project}",
    "project:role:add": lambda f: f"Made {f['user']} {f['role']} of {f.project}",
    "project:role:invite": lambda f: f"Invited {f['user']} to be {f['role']} of {f.project}",
    "project:role:accept": lambda f: (
        f"{f['user']} accepted the invitation to be {f['role']} of {f.project}"
    ),
    "project:role:decline": lambda f: f"{f['user']} declined the invitation to {f.project}",
    "project:role:revoke": lambda f: f"Withdrew the invitation of {f['user']} to {f.project}",
    "project:role:change": lambda f: f"Made {f['user']} {f['role']} of {f.project}",
    "project:role:remove": _project_role_remove,
    "project:release:add": lambda f: f"Added release {f['version']} of {f.project}",
    "project:release:yank": lambda f: f"Yanked {f.project} {f['version']}{_because(f)}",
    "project:release:unyank": lambda f: f"Un-yanked {f.project} {f['version']}",
    "project:release:remove": lambda f: f"Deleted release {f['version']} of {f.project}",
    "project:file:add": lambda f: f"Uploaded {f['filename']} to {f.project}",
    "project:file:publish": _published,
    "project:file:hold": lambda f: f"Held {f['filename']} of {f.project} for review{_because(f)}",
    "project:file:remove": lambda f: f"Removed {f['filename']} from {f.project}{_because(f)}",
}

#: The operator's name lists, by the tag's middle part: what the list is called in a sentence.
_NAME_LISTS = {
    "protected": "the protected names",
    "prohibited": "the prohibited names",
    "not-protected": "the names released from protection",
    "namespace": "the namespaces",
    "override": "the name overrides",
}


def _name_change(verb: str, listed: str) -> _Sentence:
    return lambda f: f"{verb} {f.subject} {listed}"


def _name_sentences() -> dict[str, _Sentence]:
    out: dict[str, _Sentence] = {}
    for kind, listed in _NAME_LISTS.items():
        out[f"name:{kind}:add"] = _name_change("Added", f"to {listed}")
        out[f"name:{kind}:change"] = _name_change("Changed", f"in {listed}")
        out[f"name:{kind}:remove"] = _name_change("Removed", f"from {listed}")
    return out


#: Every kind of event bastion records, with its sentence.
SENTENCES: Mapping[str, _Sentence] = {**_ACCOUNT, **_PROJECT, **_name_sentences()}


def sentence(event: _Event) -> str:
    """The event as a sentence (its code, for a kind this release does not know)."""
    make = SENTENCES.get(event.tag)
    return make(_Fields(event)) if make is not None else event.tag


def _operator_of(event: _Event) -> str:
    """The operator's login name if a command made the change, else ``""``. Older rows said
    so in their own way (``operator="command line (name)"``, ``method="command line"``)."""
    extra = event.additional if isinstance(event.additional, Mapping) else {}
    name = str(extra.get("operator") or "")
    legacy = name.startswith(origin.COMMAND_LINE)
    if legacy:
        name = name.removeprefix(origin.COMMAND_LINE).strip(" ()")
    if legacy or origin.COMMAND_LINE in (extra.get("via"), extra.get("method")):
        return name or "unknown"
    return ""


def describe(event: _Event) -> Described:
    """Sentence, actor and origin of one event, as a security history shows them."""
    operator = _operator_of(event)
    if event.ip_address:
        where = event.ip_address
    elif operator:
        where = f"{origin.COMMAND_LINE} (operator)"
    else:
        where = ""
    if event.actor_name:
        by = event.actor_name
    elif operator:
        by = "operator"
    elif event.ip_address:
        by = ""  # somebody unknown: a failed sign-in under a name nobody has
    else:
        by = "bastion"
    return Described(sentence(event), by, where, event.tag, operator)
