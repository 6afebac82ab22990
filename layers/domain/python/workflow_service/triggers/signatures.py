"""Standard Webhooks signatures (https://www.standardwebhooks.com), implemented exactly.

A sender signs ``f"{webhook-id}.{webhook-timestamp}.{body}"`` with HMAC-SHA256, keyed by the
base64-decoded part of the secret after ``whsec_``, and sends ``webhook-signature`` as one or more
space-separated ``v1,<base64 signature>`` entries (several during the sender's own key rotation);
any one matching entry accepts. ``webhook-timestamp`` is integer Unix seconds and must be within the
tolerance of now, so a captured request cannot be replayed later; within the tolerance, replays are
stopped by the caller deduplicating on ``webhook-id``.

Stdlib only: the signed content is the raw body bytes exactly as received.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from datetime import datetime

SECRET_PREFIX = "whsec_"
SECRET_KEY_BYTES = 32
SIGNATURE_VERSION = "v1"
MAX_WEBHOOK_ID_LENGTH = 256
_TIMESTAMP = re.compile(r"\d{1,12}")


class SignatureRejected(Exception):
    """The request is not a validly signed, current Standard Webhooks call; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def generate_secret() -> str:
    """A new signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_KEY_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key a ``whsec_`` secret stands for."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise ValueError("a webhook secret is 'whsec_' followed by base64") from None
    if not key:
        raise ValueError("a webhook secret may not be empty")
    return key


def signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> bytes:
    """The raw HMAC-SHA256 of the signed content."""
    signed_content = f"{webhook_id}.{timestamp}.".encode() + body
    return hmac.new(secret_key(secret), signed_content, hashlib.sha256).digest()


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value a sender would send (one ``v1`` entry)."""
    encoded = base64.b64encode(signature(secret, webhook_id, timestamp, body)).decode("ascii")
    return f"{SIGNATURE_VERSION},{encoded}"


def verify(secret: str, headers: Mapping[str, str], body: bytes, *, now: datetime, tolerance_seconds: int) -> str:
    """Check a request's Standard Webhooks headers against ``body``; returns its ``webhook-id``.

    Raises SignatureRejected when a header is missing or malformed, the timestamp is more than
    ``tolerance_seconds`` away from ``now`` (either direction), or no ``v1`` signature matches.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    webhook_id = lowered.get("webhook-id") or ""
    timestamp_text = (lowered.get("webhook-timestamp") or "").strip()
    signature_header = lowered.get("webhook-signature") or ""
    if not (webhook_id and timestamp_text and signature_header.strip()):
        raise SignatureRejected("missing webhook-id, webhook-timestamp or webhook-signature header")
    if len(webhook_id) > MAX_WEBHOOK_ID_LENGTH:
        raise SignatureRejected(f"webhook-id is longer than {MAX_WEBHOOK_ID_LENGTH} characters")
    if not _TIMESTAMP.fullmatch(timestamp_text):
        raise SignatureRejected("webhook-timestamp must be integer Unix seconds")
    timestamp = int(timestamp_text)
    if abs(now.timestamp() - timestamp) > tolerance_seconds:
        raise SignatureRejected(f"webhook-timestamp is more than {tolerance_seconds} seconds away from now")
    expected = signature(secret, webhook_id, timestamp, body)
    for entry in signature_header.split():
        version, _, encoded = entry.partition(",")
        if version != SIGNATURE_VERSION:
            continue
        try:
            candidate = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            continue
        if hmac.compare_digest(expected, candidate):
            return webhook_id
    raise SignatureRejected("no matching v1 signature in webhook-signature")


__all__ = ["SECRET_PREFIX", "SignatureRejected", "generate_secret", "secret_key", "sign", "signature", "verify"]
