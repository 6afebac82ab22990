"""The subscription service's rules that the API tests cannot reach: rotation's bound and its race."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from tests.fakes.clock import ManualClock
from workflow_service.adapters.http.receiver_urls import ReceiverUrlPolicy
from workflow_service.adapters.mongo.store import in_memory
from workflow_service.adapters.mongo.webhook_subscriptions import MongoWebhookSubscriptions
from workflow_service.errors import Conflict
from workflow_service.models.webhooks import CreateWebhookRequest
from workflow_service.settings.engine import HttpNodeSettings
from workflow_service.webhooks.subscriptions import MAX_SIGNING_SECRETS, WebhookSubscriptionService

TEAM = "team-a"


class RotatedByAnotherRequest(MongoWebhookSubscriptions):
    """A store in which another request rotates the secret between this one's read and write."""

    def replace_signing_secrets(self, team_id, subscription_id, **kwargs):
        return None


def service(store, clock) -> WebhookSubscriptionService:
    return WebhookSubscriptionService(store, ReceiverUrlPolicy(HttpNodeSettings()), clock)


def create(subscriptions: WebhookSubscriptionService) -> str:
    return subscriptions.create(TEAM, "alice", CreateWebhookRequest(name="n", url="https://example.com/in")).id


def test_rotating_in_a_loop_keeps_at_most_the_bounded_number_of_secrets_newest_first():
    clock = ManualClock()
    store = MongoWebhookSubscriptions(in_memory())
    subscriptions = service(store, clock)
    subscription_id = create(subscriptions)
    issued = []
    for _ in range(MAX_SIGNING_SECRETS + 3):
        clock.advance(minutes=1)
        issued.append(subscriptions.rotate_secret(TEAM, "alice", subscription_id).signing_secret)
    secrets = store.get(TEAM, subscription_id).signing_secrets
    assert [s.value for s in secrets] == issued[::-1][:MAX_SIGNING_SECRETS]
    assert secrets[0].expires_at is None
    assert len(secrets) == MAX_SIGNING_SECRETS
    assert all(s.expires_at == s_created + timedelta(hours=24) for s, s_created in _replaced_at(secrets))


def _replaced_at(secrets):
    # Each replaced secret expires 24 h after the rotation that replaced it: when its successor was made.
    return [(older, newer.created_at) for newer, older in itertools.pairwise(secrets)]


def test_a_rotation_that_loses_a_race_is_a_conflict_and_the_caller_may_retry():
    store = RotatedByAnotherRequest(in_memory())
    subscriptions = service(store, ManualClock())
    subscription_id = create(subscriptions)
    with pytest.raises(Conflict, match="rotated concurrently"):
        subscriptions.rotate_secret(TEAM, "alice", subscription_id)
