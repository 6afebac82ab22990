"""The signature headers of an outbound webhook delivery.

Every delivery carries both schemes, so a receiver can verify with either:

- Standard Webhooks (https://www.standardwebhooks.com): ``webhook-id`` (the event id, the same on
  every attempt: receivers dedupe on it), ``webhook-timestamp`` (Unix seconds of this attempt) and
  ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` keyed with the
  base64-decoded bytes after ``whsec_``. During the 24 h after a secret rotation it holds one entry per
  secret still valid, space-separated, newest first, so receivers still configured with the old secret
  keep verifying until they switch.
- The product's own: ``X-Interactly-Signature`` (hex HMAC-SHA256 of the raw body, keyed with the newest
  secret's text as UTF-8, ``whsec_`` included: what the product's SDK, ``interactly.webhooks.verify_signature``,
  computes from the secret the API returned) and ``X-Interactly-Timestamp`` (the same Unix seconds).

``Authorization: Bearer <token>`` is added when the subscription has a bearer token.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from workflow_service.ports.webhooks import SigningSecret, WebhookSubscription
from workflow_service.triggers.signatures import sign

USER_AGENT = "workflow-service-webhooks/1"


def valid_secrets(secrets: tuple[SigningSecret, ...], now: datetime) -> tuple[SigningSecret, ...]:
    """The secrets a delivery at ``now`` is signed with: the current one and any still in their overlap."""
    return tuple(secret for secret in secrets if secret.expires_at is None or secret.expires_at > now)


def interactly_signature(secret: str, body: bytes) -> str:
    """``X-Interactly-Signature``: hex HMAC-SHA256 of the raw body, keyed with the secret's UTF-8 text
    (not the decoded bytes Standard Webhooks keys with: the SDK's receivers verify with the text)."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def delivery_headers(subscription: WebhookSubscription, event_id: str, body: bytes, *, now: datetime) -> dict[str, str]:
    """Every header of one delivery attempt of ``body`` (the JSON bytes sent) at ``now``.

    Raises ValueError when the subscription has no valid signing secret (nothing is sent unsigned).
    """
    signing = valid_secrets(subscription.signing_secrets, now)
    if not signing:
        raise ValueError(f"subscription {subscription.id} has no valid signing secret")
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(secret.value, event_id, timestamp, body) for secret in signing),
        "X-Interactly-Signature": interactly_signature(signing[0].value, body),
        "X-Interactly-Timestamp": str(timestamp),
    }
    if subscription.bearer_token:
        headers["Authorization"] = f"Bearer {subscription.bearer_token}"
    return headers


__all__ = ["USER_AGENT", "delivery_headers", "interactly_signature", "valid_secrets"]
