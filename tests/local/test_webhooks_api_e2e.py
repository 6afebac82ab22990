"""End to end over HTTP against ``python -m local``: the subscription API as a client drives it,
with a plain-http loopback receiver (allowed in the local runtime only)."""

from __future__ import annotations

import pytest

from tests.support.local_runtime import LocalService

BASE = "/workflows/v1/workflow-webhooks"


@pytest.fixture(scope="module")
def service():
    running = LocalService()
    yield running
    running.stop()


def test_a_subscription_to_a_loopback_receiver_is_created_listed_rotated_and_deleted(service):
    # Given a receiver on this machine
    receiver = "http://127.0.0.1:9/hooks"
    # When a subscription is created
    status, created, _ = service.request(
        "POST", BASE, {"name": "Local receiver", "url": receiver, "actions": ["workflow_created"]}
    )
    # Then it answers with its secret once
    assert status == 200, created
    assert created["url"] == receiver and created["signing_secret"].startswith("whsec_")
    hook = created["id"]
    # And listing (a literal path segment next to {webhook_id}) shows it without the secret
    status, listed, _ = service.request("GET", f"{BASE}?action=workflow_created")
    assert status == 200 and [w["id"] for w in listed["webhooks"]] == [hook]
    assert "signing_secret" not in listed["webhooks"][0]
    status, events, _ = service.request("GET", f"{BASE}/events?subscription_id={hook}")
    assert status == 200 and events["total"] == 0
    # And rotation, update and delete reach their handlers
    status, rotated, _ = service.request("POST", f"{BASE}/{hook}/rotate-secret")
    assert status == 200 and rotated["signing_secret"] != created["signing_secret"]
    status, updated, _ = service.request("PATCH", f"{BASE}/{hook}", {"enabled": False})
    assert status == 200 and updated["enabled"] is False
    status, deleted, _ = service.request("DELETE", f"{BASE}/{hook}")
    assert status == 200 and deleted["id"] == hook
    status, _, _ = service.request("PATCH", f"{BASE}/{hook}", {"enabled": True})
    assert status == 404
    # And a metadata address is refused even here
    status, refused, _ = service.request("POST", BASE, {"name": "x", "url": "http://169.254.169.254/"})
    assert status == 422 and refused["detail"][0]["loc"] == ["body", "url"]
