"""Standard Webhooks verification, cross-checked against the reference ``standardwebhooks`` library."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from workflow_service.triggers.signatures import SignatureRejected, generate_secret, secret_key, sign, verify

NOW = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
TOLERANCE = 300
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the Standard Webhooks specification's example secret


def headers(webhook_id: str, timestamp: int, signature: str) -> dict[str, str]:
    return {"webhook-id": webhook_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}


def library_headers(secret: str, webhook_id: str, at: datetime, body: str) -> dict[str, str]:
    return headers(webhook_id, int(at.timestamp()), Webhook(secret).sign(webhook_id, at, body))


def check(secret: str, request_headers: dict[str, str], body: bytes, now: datetime = NOW) -> str:
    return verify(secret, request_headers, body, now=now, tolerance_seconds=TOLERANCE)


# -- agreement with the reference library -----------------------------------------------------------

webhook_ids = st.text(st.characters(categories=("L", "N", "P")), min_size=1, max_size=60)
bodies = st.text(max_size=300)


@settings(max_examples=200, deadline=None)
@given(webhook_id=webhook_ids, body=bodies, offset=st.integers(-TOLERANCE, TOLERANCE))
def test_a_request_signed_by_the_library_verifies(webhook_id, body, offset):
    at = NOW + timedelta(seconds=offset)
    request_headers = library_headers(SECRET, webhook_id, at, body)
    assert check(SECRET, request_headers, body.encode()) == webhook_id


@settings(max_examples=200, deadline=None)
@given(webhook_id=webhook_ids, body=bodies, timestamp=st.integers(0, 4_000_000_000))
def test_our_signature_is_byte_for_byte_the_library_signature(webhook_id, body, timestamp):
    at = datetime.fromtimestamp(timestamp, tz=UTC)
    assert sign(SECRET, webhook_id, timestamp, body.encode()) == Webhook(SECRET).sign(webhook_id, at, body)


def test_the_library_verifies_what_we_sign_with_a_generated_secret():
    # Given a fresh secret and a request signed by us, now
    secret = generate_secret()
    body = '{"ticket": 42, "subject": "Réservation"}'
    now = datetime.now(UTC)
    request_headers = headers(
        "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
        int(now.timestamp()),
        sign(secret, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", int(now.timestamp()), body.encode()),
    )
    # Then the reference implementation accepts it and returns the parsed body
    assert Webhook(secret).verify(body, request_headers) == {"ticket": 42, "subject": "Réservation"}


def test_the_library_and_we_both_reject_a_tampered_body():
    body = '{"amount": 10}'
    now = datetime.now(UTC)
    request_headers = library_headers(SECRET, "msg_1", now, body)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify('{"amount": 1000}', request_headers)
    with pytest.raises(SignatureRejected, match="no matching v1 signature"):
        check(SECRET, request_headers, b'{"amount": 1000}', now=now)


# -- what each header change does ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value", [("webhook-id", "msg_other"), ("webhook-timestamp", str(int(NOW.timestamp()) + 1))]
)
def test_changing_a_signed_header_breaks_the_signature(field, value):
    request_headers = library_headers(SECRET, "msg_1", NOW, "{}")
    request_headers[field] = value
    with pytest.raises(SignatureRejected, match="no matching v1 signature"):
        check(SECRET, request_headers, b"{}")


def test_a_signature_made_with_another_secret_is_rejected():
    request_headers = library_headers(generate_secret(), "msg_1", NOW, "{}")
    with pytest.raises(SignatureRejected):
        check(SECRET, request_headers, b"{}")


@pytest.mark.parametrize("offset", [-TOLERANCE - 1, TOLERANCE + 1, -86_400])
def test_a_timestamp_outside_the_tolerance_is_rejected_even_when_correctly_signed(offset):
    request_headers = library_headers(SECRET, "msg_1", NOW + timedelta(seconds=offset), "{}")
    with pytest.raises(SignatureRejected, match="seconds away from now"):
        check(SECRET, request_headers, b"{}")


@pytest.mark.parametrize("offset", [-TOLERANCE, TOLERANCE])
def test_a_timestamp_exactly_at_the_tolerance_is_accepted(offset):
    request_headers = library_headers(SECRET, "msg_1", NOW + timedelta(seconds=offset), "{}")
    assert check(SECRET, request_headers, b"{}") == "msg_1"


def test_any_matching_v1_entry_accepts_and_other_versions_or_garbage_are_skipped():
    good = sign(SECRET, "msg_1", int(NOW.timestamp()), b"{}")
    wrong = sign(generate_secret(), "msg_1", int(NOW.timestamp()), b"{}")
    v2_with_good_bytes = "v2," + good.split(",", 1)[1]
    header = f"{wrong} v1,not*base64 nocomma {v2_with_good_bytes}  {good}"
    assert check(SECRET, headers("msg_1", int(NOW.timestamp()), header), b"{}") == "msg_1"
    # Without the good entry, the same header is rejected: the v2 entry's bytes do not count
    without_good = header.replace(f"  {good}", "")
    with pytest.raises(SignatureRejected):
        check(SECRET, headers("msg_1", int(NOW.timestamp()), without_good), b"{}")


def test_header_names_are_case_insensitive():
    request_headers = {name.title(): value for name, value in library_headers(SECRET, "m", NOW, "{}").items()}
    assert check(SECRET, request_headers, b"{}") == "m"


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_rejected(missing):
    request_headers = library_headers(SECRET, "msg_1", NOW, "{}")
    del request_headers[missing]
    with pytest.raises(SignatureRejected, match="missing"):
        check(SECRET, request_headers, b"{}")


@pytest.mark.parametrize("timestamp", ["1893499200.0", "-1893499200", "soon", "1e9"])
def test_a_timestamp_that_is_not_integer_seconds_is_rejected(timestamp):
    request_headers = library_headers(SECRET, "msg_1", NOW, "{}")
    request_headers["webhook-timestamp"] = timestamp
    with pytest.raises(SignatureRejected, match="integer Unix seconds"):
        check(SECRET, request_headers, b"{}")


def test_an_overlong_webhook_id_is_rejected_before_any_hmac():
    request_headers = library_headers(SECRET, "x" * 257, NOW, "{}")
    with pytest.raises(SignatureRejected, match="longer than 256"):
        check(SECRET, request_headers, b"{}")


def test_the_signed_content_is_the_raw_bytes_not_a_reencoding():
    # Two JSON texts with the same meaning are different requests to sign
    request_headers = headers("m", int(NOW.timestamp()), sign(SECRET, "m", int(NOW.timestamp()), b'{"a":1}'))
    assert check(SECRET, request_headers, b'{"a":1}') == "m"
    with pytest.raises(SignatureRejected):
        check(SECRET, request_headers, b'{"a": 1}')


# -- secrets -----------------------------------------------------------------------------------------


def test_generated_secrets_are_whsec_base64_of_32_random_bytes():
    first, second = generate_secret(), generate_secret()
    assert first.startswith("whsec_") and first != second
    assert len(secret_key(first)) == 32
    assert base64.b64decode(first.removeprefix("whsec_")) == secret_key(first)


@pytest.mark.parametrize("secret", ["whsec_", "whsec_***"])
def test_a_malformed_secret_is_refused(secret):
    with pytest.raises(ValueError):
        secret_key(secret)
