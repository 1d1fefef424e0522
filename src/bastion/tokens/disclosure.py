"""Leaked-token disclosure in the format of GitHub secret scanning's partner program.

A scanner that finds ``bastion-...`` strings in public posts them as a JSON array of
``{"token", "type", "url", "source"}`` records, signed with ECDSA P-256 / SHA-256 over the raw
body; the key identifier and the base64 DER signature travel in the
``Github-Public-Key-Identifier`` and ``Github-Public-Key-Signature`` headers. The operator
configures the scanner's published public keys as a file (GitHub's
``/meta/public_keys/secret_scanning`` document), so that nobody else can make this index revoke
tokens, and so that verification needs no network call at request time.

Every known token is revoked inside the request, not by a background task: a leaked token is
in an attacker's hands from the moment it is public, and a queue that is down or behind would
leave it working. The answer is GitHub's feedback format, one label per record, and says
nothing about a token beyond what the reporter already holds.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bastion.tokens import macaroons
from bastion.tokens import services as tokens

log = logging.getLogger(__name__)

KEY_ID_HEADER = "Github-Public-Key-Identifier"
SIGNATURE_HEADER = "Github-Public-Key-Signature"
#: GitHub batches matches; a megabyte holds thousands of records and bounds the work one
#: request can ask for.
MAX_BODY_BYTES = 1024 * 1024
MAX_RECORDS = 1000
TRUE_POSITIVE = "true_positive"
FALSE_POSITIVE = "false_positive"


class DisclosureError(Exception):
    """The report is refused; ``status`` and the one-line ``message`` go to the reporter."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Record:
    token: str
    type: str
    url: str
    source: str


# --- the operator's key file -------------------------------------------------------------------

_cache: dict[str, tuple[tuple[int, int], dict[str, ec.EllipticCurvePublicKey]]] = {}


def load_keys(path: str | os.PathLike[str]) -> dict[str, ec.EllipticCurvePublicKey]:
    """The ECDSA P-256 keys of the file, by key identifier.

    Re-read whenever the file changes (operators refresh it from GitHub by cron); a file that
    cannot be read is the operator's error, reported as :class:`DisclosureError` 503 so that the
    reporter retries later instead of being told the tokens are false positives.
    """
    file = Path(path)
    try:
        stat = file.stat()
    except OSError as exc:
        log.error("disclosure keys file %s cannot be read: %s", file, exc)
        raise DisclosureError(503, "The disclosure keys of this index are not available.") from exc
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _cache.get(str(file))
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        document = json.loads(file.read_bytes())
        entries = document["public_keys"]
        if not isinstance(entries, list):
            raise TypeError("public_keys is not a list")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.error("disclosure keys file %s is not GitHub's public_keys format: %s", file, exc)
        raise DisclosureError(503, "The disclosure keys of this index are not available.") from exc
    keys: dict[str, ec.EllipticCurvePublicKey] = {}
    for entry in entries:
        try:
            ident = str(entry["key_identifier"])
            key = serialization.load_pem_public_key(str(entry["key"]).encode())
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("disclosure keys file %s: skipping an unreadable key: %s", file, exc)
            continue
        if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(
            key.curve, ec.SECP256R1
        ):
            log.warning("disclosure keys file %s: skipping %s, not ECDSA P-256", file, ident)
            continue
        keys[ident] = key
    _cache[str(file)] = (stamp, keys)
    return keys


# --- one report --------------------------------------------------------------------------------


def verify_signature(
    body: bytes, key_id: str, signature: str, keys: dict[str, ec.EllipticCurvePublicKey]
) -> None:
    """Check the signature over the raw body (never a re-serialisation of the parsed JSON)."""
    if not key_id or not signature:
        raise DisclosureError(
            400, f"Missing {KEY_ID_HEADER} or {SIGNATURE_HEADER} header: reports must be signed."
        )
    key = keys.get(key_id.strip())
    if key is None:
        raise DisclosureError(403, f"Unknown {KEY_ID_HEADER}: no such public key is configured.")
    try:
        der = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DisclosureError(400, f"{SIGNATURE_HEADER} is not valid base64.") from exc
    try:
        key.verify(der, body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError) as exc:
        raise DisclosureError(
            403, "Invalid signature: the report was not signed by that key."
        ) from exc


def parse_records(body: bytes) -> list[Record]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DisclosureError(400, "The body is not JSON.") from exc
    if not isinstance(data, list):
        raise DisclosureError(400, "The body must be a JSON array of records.")
    if len(data) > MAX_RECORDS:
        raise DisclosureError(400, f"Too many records: at most {MAX_RECORDS} per request.")
    records: list[Record] = []
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("token"), str):
            raise DisclosureError(400, "Each record must be an object with a string 'token'.")
        records.append(
            Record(
                token=item["token"],
                type=_text(item.get("type"), 100),
                url=_text(item.get("url"), 2000),
                source=_text(item.get("source"), 100),
            )
        )
    return records


def _text(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def handle(records: list[Record], request: Any = None) -> list[dict[str, str]]:
    """Revoke every disclosed token this index issued; label each record for the reporter."""
    labels: dict[str, str] = {}
    answer: list[dict[str, str]] = []
    for record in records:
        if record.token not in labels:
            labels[record.token] = _revoke_if_ours(record, request)
        answer.append(
            {"token_raw": record.token, "token_type": record.type, "label": labels[record.token]}
        )
    return answer


def _revoke_if_ours(record: Record, request: Any) -> str:
    if not record.token.startswith(macaroons.PREFIX):
        return FALSE_POSITIVE
    token = tokens.find_by_raw(record.token)
    if token is None:
        return FALSE_POSITIVE
    tokens.revoke_leaked(
        token, url=record.url, source=record.source, token_type=record.type, request=request
    )
    log.warning("revoked leaked API token %s of user %s", token.name, token.user_id)
    return TRUE_POSITIVE


def disclose(
    body: bytes, key_id: str, signature: str, keys_file: str, request: Any = None
) -> list[dict[str, str]]:
    """The whole report: verify, parse, revoke. Raises :class:`DisclosureError` on refusal,
    before anything is revoked."""
    if len(body) > MAX_BODY_BYTES:
        raise DisclosureError(413, f"The report is too large: at most {MAX_BODY_BYTES} bytes.")
    verify_signature(body, key_id, signature, load_keys(keys_file))
    return handle(parse_records(body), request)
