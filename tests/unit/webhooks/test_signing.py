"""The delivery headers, verified with the ``standardwebhooks`` library and a plain hex HMAC."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.fakes.clock import T0
from tests.unit.webhooks.support import SECRET, a_subscription
from workflow_service.ports.webhooks import SigningSecret
from workflow_service.webhooks.signing import delivery_headers

BODY = json.dumps({"action": "workflow_run_completed", "data": {"status": "completed"}}).encode()
NEW_SECRET = "whsec_" + base64.b64encode(b"n" * 40).decode()


def verify(secret: str, headers: dict[str, str], body: bytes = BODY) -> object:
    # The library checks the timestamp against the real clock; sign "now" for it.
    return Webhook(secret).verify(body, headers)


def test_both_schemes_verify_and_carry_the_event_id_and_timestamp():
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    headers = delivery_headers(a_subscription(), "e" * 24, BODY, now=now)
    assert verify(SECRET, headers) == json.loads(BODY)
    assert headers["webhook-id"] == "e" * 24
    assert headers["webhook-timestamp"] == headers["X-Interactly-Timestamp"] == str(int(now.timestamp()))
    # The product's own header: keyed with the secret's text, as the SDK's verify_signature computes it
    assert headers["X-Interactly-Signature"] == hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert "Authorization" not in headers


def test_a_tampered_body_does_not_verify():
    from datetime import UTC, datetime

    headers = delivery_headers(a_subscription(), "e" * 24, BODY, now=datetime.now(UTC))
    with pytest.raises(WebhookVerificationError):
        verify(SECRET, headers, BODY + b" ")


def test_after_a_rotation_both_secrets_sign_for_24_hours_newest_first():
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    rotated = a_subscription(
        signing_secrets=(
            SigningSecret(NEW_SECRET, created_at=now),
            SigningSecret(SECRET, created_at=now - timedelta(days=3), expires_at=now + timedelta(hours=24)),
        )
    )
    headers = delivery_headers(rotated, "e" * 24, BODY, now=now)
    signatures = headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(entry.startswith("v1,") for entry in signatures)
    # Receivers on either secret verify; the hex signature uses the newest secret
    verify(NEW_SECRET, headers)
    verify(SECRET, headers)
    assert headers["X-Interactly-Signature"] == hmac.new(NEW_SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    only_new = delivery_headers(rotated, "e" * 24, BODY, now=now)
    assert Webhook(NEW_SECRET).verify(
        BODY,
        {
            "webhook-id": only_new["webhook-id"],
            "webhook-timestamp": only_new["webhook-timestamp"],
            "webhook-signature": signatures[0],
        },
    )


def test_once_the_overlap_ends_only_the_new_secret_signs():
    rotated = a_subscription(
        signing_secrets=(
            SigningSecret(NEW_SECRET, created_at=T0),
            SigningSecret(SECRET, created_at=T0 - timedelta(days=3), expires_at=T0 + timedelta(hours=24)),
        )
    )
    headers = delivery_headers(rotated, "e" * 24, BODY, now=T0 + timedelta(hours=24))
    assert len(headers["webhook-signature"].split(" ")) == 1


def test_the_bearer_token_is_sent_when_set():
    headers = delivery_headers(a_subscription(bearer_token="s3cret"), "e" * 24, BODY, now=T0)
    assert headers["Authorization"] == "Bearer s3cret"
