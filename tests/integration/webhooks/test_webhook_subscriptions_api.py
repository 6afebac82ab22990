"""Webhook subscriptions under /workflows/v1/workflow-webhooks, handler by handler."""

from __future__ import annotations

import base64
import logging
from datetime import timedelta

import pytest

from tests.fakes.clock import ManualClock
from tests.integration.webhooks.subscription_api_support import (
    RECEIVER,
    create_webhook,
    listed_webhooks,
    stored_subscriptions,
)
from tests.support.api import call
from workflow_service.ports.webhooks import WebhookAction
from workflow_service.settings import Settings

ALL_ACTIONS = [
    "workflow_created",
    "workflow_updated",
    "workflow_deleted",
    "workflow_run_started",
    "workflow_run_completed",
]
MISSING_ID = "65f1a2b3c4d5e6f708192a3b"
PUBLIC_FIELDS = {
    "id",
    "name",
    "url",
    "actions",
    "enabled",
    "has_bearer_token",
    "timeout_seconds",
    "max_retries",
    "retry_backoff_seconds",
    "disabled_reason",
}


@pytest.fixture
def clock() -> ManualClock:
    """Fixed times (the delivery suite in this folder runs on the real time instead)."""
    return ManualClock()


def test_create_answers_the_subscription_with_defaults_and_its_secret_once(caller, services):
    # When a subscription is created with only a name and a URL
    created = create_webhook(caller)
    # Then it has the documented defaults and every action
    assert set(created) == PUBLIC_FIELDS | {"signing_secret"}
    assert (created["name"], created["url"], created["enabled"], created["has_bearer_token"]) == (
        "CRM sync",
        RECEIVER,
        True,
        False,
    )
    assert created["actions"] == ALL_ACTIONS
    assert (created["timeout_seconds"], created["max_retries"], created["retry_backoff_seconds"]) == (10, 3, 10)
    # And a Standard Webhooks secret: whsec_ + base64 of 32 random bytes
    secret = created["signing_secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    # And listing never shows the secret again
    listed = call("list_workflow_webhooks", caller=caller)
    assert listed.status == 200 and listed.body["total"] == 1
    assert set(listed.body["webhooks"][0]) == PUBLIC_FIELDS and secret not in listed.raw
    # And the secret is stored as the current one (no expiry)
    (stored,) = stored_subscriptions(services)
    assert [s["value"] for s in stored["signing_secrets"]] == [secret]
    assert stored["signing_secrets"][0]["expires_at"] is None and stored["team_id"] == caller.team_id
    assert create_webhook(caller)["signing_secret"] != secret


def test_the_bearer_token_is_stored_but_never_returned(caller, services):
    # Given a subscription with a bearer token and two actions
    token = "tok_" + "x" * 40
    created = create_webhook(caller, bearer_token=token, actions=["workflow_run_completed", "workflow_created"])
    # Then answers say only that it has one
    assert created["has_bearer_token"] is True and token not in str(created)
    assert created["actions"] == ["workflow_created", "workflow_run_completed"]
    path = {"webhook_id": created["id"]}
    renamed = call("update_workflow_webhook", caller=caller, path=path, body={"name": "Renamed"})
    assert renamed.status == 200 and renamed.body["has_bearer_token"] is True and token not in renamed.raw
    rotated = call("rotate_workflow_webhook_secret", caller=caller, path=path)
    assert token not in rotated.raw and token not in call("list_workflow_webhooks", caller=caller).raw
    assert stored_subscriptions(services)[0]["bearer_token"] == token
    # When it is cleared
    cleared = call("update_workflow_webhook", caller=caller, path=path, body={"clear_bearer_token": True})
    # Then it is gone
    assert cleared.status == 200 and cleared.body["has_bearer_token"] is False
    assert stored_subscriptions(services)[0]["bearer_token"] is None
    # And a new one can be set
    again = call("update_workflow_webhook", caller=caller, path=path, body={"bearer_token": "second"})
    assert again.body["has_bearer_token"] is True and stored_subscriptions(services)[0]["bearer_token"] == "second"


def test_an_idempotency_key_makes_a_retried_create_answer_the_same_and_create_nothing(caller, services):
    body = {"name": "CRM sync", "url": RECEIVER}
    headers = {"Idempotency-Key": "create-crm-hook-1"}
    first = call("create_workflow_webhook", caller=caller, body=body, headers=headers)
    second = call("create_workflow_webhook", caller=caller, body=body, headers=headers)
    assert first.status == second.status == 200
    assert second.body == first.body and second.headers.get("Idempotent-Replayed") == "true"
    assert len(stored_subscriptions(services)) == 1
    # The same key with another body is refused, naming the header
    other = call("create_workflow_webhook", caller=caller, body={**body, "name": "other"}, headers=headers)
    assert other.status == 422 and other.body["detail"][0]["loc"] == ["header", "Idempotency-Key"]


def test_list_filters_by_enabled_action_and_search_and_pages_newest_first(caller, other_caller, clock):
    first = create_webhook(caller, name="Billing", actions=["workflow_run_completed"])
    clock.advance(seconds=1)
    second = create_webhook(caller, name="CRM", url="https://crm.example.org/in", enabled=False)
    clock.advance(seconds=1)
    third = create_webhook(caller, name="Audit", actions=["workflow_deleted"])
    create_webhook(other_caller, name="Billing of team B")

    def names(**query) -> list[str]:
        return [webhook["name"] for webhook in listed_webhooks(caller, **query)["webhooks"]]

    assert names() == ["Audit", "CRM", "Billing"] and listed_webhooks(caller)["total"] == 3
    assert names(enabled=False) == ["CRM"] and names(enabled=True) == ["Audit", "Billing"]
    assert names(action="workflow_run_completed") == ["CRM", "Billing"]
    assert names(search="bill") == ["Billing"] and names(search="crm.example") == ["CRM"]
    assert names(search=".*") == []
    page = listed_webhooks(caller, size=2, page=2)
    assert [w["id"] for w in page["webhooks"]] == [first["id"]] and page["total"] == 3
    assert {second["id"], third["id"]} == {w["id"] for w in listed_webhooks(caller, size=2)["webhooks"]}
    bad = call("list_workflow_webhooks", caller=caller, query={"action": "workflow_exploded"})
    assert bad.status == 422 and bad.body["detail"][0]["loc"] == ["query", "action"]


def test_patch_changes_only_the_given_fields_and_null_means_unchanged(caller, services):
    created = create_webhook(caller)
    path = {"webhook_id": created["id"]}
    changed = call(
        "update_workflow_webhook",
        caller=caller,
        path=path,
        body={"timeout_seconds": 60, "max_retries": 0, "actions": ["workflow_updated"], "name": None, "url": None},
    )
    assert changed.status == 200, changed
    expected = {**created, "timeout_seconds": 60, "max_retries": 0, "actions": ["workflow_updated"]}
    expected.pop("signing_secret")
    assert changed.body == expected
    disabled = call(
        "update_workflow_webhook", caller=caller, path=path, body={"enabled": False, "url": RECEIVER + "/v2"}
    )
    assert (disabled.body["enabled"], disabled.body["url"]) == (False, RECEIVER + "/v2")
    unchanged = call("update_workflow_webhook", caller=caller, path=path, body={})
    assert unchanged.status == 200 and unchanged.body == disabled.body
    assert stored_subscriptions(services)[0]["updated_by"] == "alice"


def test_enabling_a_subscription_the_service_disabled_clears_the_reason(caller, services, clock):
    created = create_webhook(caller)
    services.webhooks.subscriptions.disable_gone(
        caller.team_id, created["id"], reason="the receiver answered 410 Gone", now=clock.now()
    )
    (shown,) = listed_webhooks(caller)["webhooks"]
    assert (shown["enabled"], shown["disabled_reason"]) == (False, "the receiver answered 410 Gone")
    enabled = call("update_workflow_webhook", caller=caller, path={"webhook_id": created["id"]}, body={"enabled": True})
    assert (enabled.body["enabled"], enabled.body["disabled_reason"]) == (True, None)


def test_delete_is_soft_and_the_subscription_is_gone_for_every_reader(caller, services):
    # Given a subscription
    created = create_webhook(caller)
    path = {"webhook_id": created["id"]}
    # When it is deleted
    deleted = call("delete_workflow_webhook", caller=caller, path=path)
    # Then the answer names it, and it is absent from the API, emission and delivery
    assert deleted.status == 200 and deleted.body == {"id": created["id"], "message": "Webhook subscription deleted"}
    assert listed_webhooks(caller) == {"webhooks": [], "total": 0}
    for route in ("update_workflow_webhook", "delete_workflow_webhook", "rotate_workflow_webhook_secret"):
        reply = call(route, caller=caller, path=path, body={"name": "x"} if route.startswith("update") else None)
        assert reply.status == 404, (route, reply)
    reader = services.webhooks.subscriptions
    assert reader.get(caller.team_id, created["id"]) is None
    assert reader.subscribed(caller.team_id, WebhookAction.WORKFLOW_CREATED) == []
    # And the document stays, marked deleted
    (stored,) = stored_subscriptions(services)
    assert stored["deleted_at"] is not None


def test_another_teams_subscription_is_a_404_and_is_left_unchanged(caller, other_caller, services):
    created = create_webhook(caller)
    path = {"webhook_id": created["id"]}
    assert call("update_workflow_webhook", caller=other_caller, path=path, body={"name": "x"}).status == 404
    assert call("rotate_workflow_webhook_secret", caller=other_caller, path=path).status == 404
    assert call("delete_workflow_webhook", caller=other_caller, path=path).status == 404
    assert listed_webhooks(other_caller)["total"] == 0
    (stored,) = stored_subscriptions(services)
    assert stored["name"] == "CRM sync" and stored["deleted_at"] is None and len(stored["signing_secrets"]) == 1
    missing = call("update_workflow_webhook", caller=caller, path={"webhook_id": MISSING_ID}, body={"name": "x"})
    assert missing.status == 404 and MISSING_ID in missing.body["detail"]
    bad_id = call("delete_workflow_webhook", caller=caller, path={"webhook_id": "not-an-id"})
    assert bad_id.status == 422 and bad_id.body["detail"][0]["loc"] == ["path", "webhook_id"]


def test_rotation_returns_a_new_secret_once_and_keeps_the_old_one_for_24_hours(caller, services, clock):
    # Given a subscription and its first secret
    created = create_webhook(caller)
    old = created["signing_secret"]
    path = {"webhook_id": created["id"]}
    # When its secret is rotated
    clock.advance(hours=1)
    rotated = call("rotate_workflow_webhook_secret", caller=caller, path=path)
    # Then the answer carries a new secret and when the old one stops signing
    assert rotated.status == 200, rotated
    new = rotated.body["signing_secret"]
    assert new.startswith("whsec_") and new != old
    expires = clock.now() + timedelta(hours=24)
    assert rotated.body["previous_secret_expires_at"] == expires.isoformat().replace("+00:00", "Z")
    # And both are stored, newest first, the old one with its expiry
    secrets = stored_subscriptions(services)[0]["signing_secrets"]
    assert [s["value"] for s in secrets] == [new, old]
    assert secrets[0]["expires_at"] is None and secrets[1]["expires_at"].replace(tzinfo=expires.tzinfo) == expires
    # And what delivery reads has both, so it signs with both during the overlap
    reader_secrets = services.webhooks.subscriptions.get(caller.team_id, created["id"]).signing_secrets
    assert [(s.value, s.expires_at) for s in reader_secrets] == [(new, None), (old, expires)]
    # And neither is shown by any other answer
    listed = call("list_workflow_webhooks", caller=caller).raw
    assert new not in listed and old not in listed
    # When it is rotated again after the overlap, the expired secret is dropped
    clock.advance(hours=25)
    third = call("rotate_workflow_webhook_secret", caller=caller, path=path).body["signing_secret"]
    assert [s["value"] for s in stored_subscriptions(services)[0]["signing_secrets"]] == [third, new]


LONG = "x" * 151
BAD_CREATE_BODIES = [
    ({"name": "", "url": RECEIVER}, ["body", "name"]),
    ({"name": LONG, "url": RECEIVER}, ["body", "name"]),
    ({"url": RECEIVER}, ["body", "name"]),
    ({"name": "n"}, ["body", "url"]),
    ({"name": "n", "url": ""}, ["body", "url"]),
    ({"name": "n", "url": "not a url"}, ["body", "url"]),
    ({"name": "n", "url": "ftp://example.com/x"}, ["body", "url"]),
    ({"name": "n", "url": "https://"}, ["body", "url"]),
    ({"name": "n", "url": "https://example.com:99999/"}, ["body", "url"]),
    ({"name": "n", "url": "https://example.com/" + "a" * 2030}, ["body", "url"]),
    ({"name": "n", "url": "http://example.com/hook"}, ["body", "url"]),
    ({"name": "n", "url": "https://127.0.0.1/hook"}, ["body", "url"]),
    ({"name": "n", "url": "https://127.1/hook"}, ["body", "url"]),
    ({"name": "n", "url": "https://2130706433/hook"}, ["body", "url"]),
    ({"name": "n", "url": "https://[::1]/hook"}, ["body", "url"]),
    ({"name": "n", "url": "https://[::ffff:10.0.0.1]/hook"}, ["body", "url"]),
    ({"name": "n", "url": "https://10.1.2.3/hook"}, ["body", "url"]),
    ({"name": "n", "url": "https://192.168.0.10/hook"}, ["body", "url"]),
    ({"name": "n", "url": "https://169.254.169.254/latest/meta-data"}, ["body", "url"]),
    ({"name": "n", "url": "https://100.100.100.200/"}, ["body", "url"]),
    ({"name": "n", "url": "https://localhost/hook"}, ["body", "url"]),
    ({"name": "n", "url": "https://api.localhost/hook"}, ["body", "url"]),
    ({"name": "n", "url": "https://user:pw@example.com/hook"}, ["body", "url"]),
    ({"name": "n", "url": RECEIVER, "actions": ["workflow_exploded"]}, ["body", "actions", 0]),
    ({"name": "n", "url": RECEIVER, "actions": []}, ["body", "actions"]),
    ({"name": "n", "url": RECEIVER, "actions": "workflow_created"}, ["body", "actions"]),
    ({"name": "n", "url": RECEIVER, "timeout_seconds": 0}, ["body", "timeout_seconds"]),
    ({"name": "n", "url": RECEIVER, "timeout_seconds": 61}, ["body", "timeout_seconds"]),
    ({"name": "n", "url": RECEIVER, "max_retries": -1}, ["body", "max_retries"]),
    ({"name": "n", "url": RECEIVER, "max_retries": 11}, ["body", "max_retries"]),
    ({"name": "n", "url": RECEIVER, "retry_backoff_seconds": 0}, ["body", "retry_backoff_seconds"]),
    ({"name": "n", "url": RECEIVER, "retry_backoff_seconds": 301}, ["body", "retry_backoff_seconds"]),
    ({"name": "n", "url": RECEIVER, "timeout_seconds": 2**70}, ["body", "timeout_seconds"]),
    ({"name": "n", "url": RECEIVER, "bearer_token": "t" * 2001}, ["body", "bearer_token"]),
    # Unsendable in an Authorization header: every delivery would fail before a byte was sent.
    ({"name": "n", "url": RECEIVER, "bearer_token": "s3cr\u20act"}, ["body", "bearer_token"]),
    ({"name": "n", "url": RECEIVER, "bearer_token": "abc\r\nX-Injected: 1"}, ["body", "bearer_token"]),
    ({"name": "n", "url": RECEIVER, "bearer_token": "two words"}, ["body", "bearer_token"]),
    ({"name": "n", "url": RECEIVER, "enabled": "maybe"}, ["body", "enabled"]),
]


@pytest.mark.parametrize(("body", "loc"), BAD_CREATE_BODIES, ids=lambda value: str(value)[:60])
def test_a_bad_create_body_is_a_422_naming_the_field_and_writes_nothing(caller, services, body, loc):
    reply = call("create_workflow_webhook", caller=caller, body=body)
    assert reply.status == 422, reply
    assert loc in [problem["loc"] for problem in reply.body["detail"]], reply.body
    assert stored_subscriptions(services) == []


BAD_UPDATE_BODIES = [
    ({"name": ""}, ["body", "name"]),
    ({"url": "https://10.0.0.1/"}, ["body", "url"]),
    ({"url": "http://example.com/"}, ["body", "url"]),
    ({"actions": ["nope"]}, ["body", "actions", 0]),
    ({"timeout_seconds": 61}, ["body", "timeout_seconds"]),
    ({"max_retries": 11}, ["body", "max_retries"]),
    ({"retry_backoff_seconds": 0}, ["body", "retry_backoff_seconds"]),
    ({"bearer_token": "t" * 2001}, ["body", "bearer_token"]),
    ({"bearer_token": "tok\n"}, ["body", "bearer_token"]),
    ({"bearer_token": "new", "clear_bearer_token": True}, ["body"]),
    ({"signing_secret": "whsec_AAAA"}, ["body", "signing_secret"]),
]


@pytest.mark.parametrize(("body", "loc"), BAD_UPDATE_BODIES, ids=lambda value: str(value)[:60])
def test_a_bad_update_body_is_a_422_naming_the_field_and_changes_nothing(caller, services, body, loc):
    created = create_webhook(caller, bearer_token="kept")
    before = stored_subscriptions(services)
    reply = call("update_workflow_webhook", caller=caller, path={"webhook_id": created["id"]}, body=body)
    assert reply.status == 422, reply
    assert loc in [problem["loc"] for problem in reply.body["detail"]], reply.body
    assert stored_subscriptions(services) == before


class TestInTheLocalRuntime:
    @pytest.fixture
    def settings(self) -> Settings:
        """What ``make run`` sets (local/runtime.py LOCAL_DEFAULTS)."""
        return Settings.from_environ(
            {
                "WORKFLOWS_LOCAL_RUNTIME": "true",
                "STAGE": "local",
                "HTTP_NODE_ALLOW_LOOPBACK": "true",
                "HTTP_NODE_REQUIRE_HTTPS": "false",
            }
        )

    @pytest.mark.parametrize("url", ["http://127.0.0.1:9000/hook", "http://localhost:9000/hook", "http://[::1]:8/x"])
    def test_loopback_receivers_over_plain_http_are_allowed(self, caller, url):
        assert create_webhook(caller, url=url)["url"] == url

    @pytest.mark.parametrize("url", ["http://169.254.169.254/", "http://10.0.0.1/", "http://192.0.2.1/"])
    def test_metadata_private_and_special_addresses_are_still_refused(self, caller, services, url):
        reply = call("create_workflow_webhook", caller=caller, body={"name": "n", "url": url})
        assert reply.status == 422 and reply.body["detail"][0]["loc"] == ["body", "url"]
        assert stored_subscriptions(services) == []


class TestWhereWorkflowsMayCallPrivateNetworks:
    @pytest.fixture
    def settings(self) -> Settings:
        """A stage whose http_request nodes may call private addresses (an internal API)."""
        return Settings.from_environ({"STAGE": "test", "HTTP_NODE_ALLOW_PRIVATE_NETWORKS": "true"})

    @pytest.mark.parametrize("url", ["https://10.1.2.3/hook", "https://192.168.0.9/hook", "https://[fd00::1]/hook"])
    def test_a_private_receiver_is_still_refused_as_deliveries_would_refuse_it(self, caller, services, url):
        # Given deliveries are never sent to private networks
        # When a subscription names a private receiver
        reply = call("create_workflow_webhook", caller=caller, body={"name": "n", "url": url})
        # Then it is a 422 naming the url, and nothing is written
        assert reply.status == 422 and reply.body["detail"][0]["loc"] == ["body", "url"], reply
        assert stored_subscriptions(services) == []

    def test_a_public_receiver_is_accepted(self, caller):
        assert create_webhook(caller, url="https://example.com/hook")["url"] == "https://example.com/hook"


def test_no_secret_or_token_reaches_the_logs(caller, caplog, capsys):
    # Given every log record of the service, at DEBUG
    caplog.set_level(logging.DEBUG)
    # When a subscription with a token is created, refused, updated and rotated
    created = create_webhook(caller, bearer_token="tok_never_logged")
    path = {"webhook_id": created["id"]}
    call("update_workflow_webhook", caller=caller, path=path, body={"bearer_token": "tok_second_never_logged"})
    call("update_workflow_webhook", caller=caller, path=path, body={"bearer_token": "t" * 2001})
    rotated = call("rotate_workflow_webhook_secret", caller=caller, path=path).body["signing_secret"]
    # Then no log line carries a secret or a token
    logged = caplog.text + capsys.readouterr().out
    assert "update_workflow_webhook -> 422" in logged
    for secret in (created["signing_secret"], rotated, "tok_never_logged", "tok_second_never_logged", "t" * 2001):
        assert secret not in logged
