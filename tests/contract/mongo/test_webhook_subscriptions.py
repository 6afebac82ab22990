"""``ports.webhooks.WebhookSubscriptionReader``: the in-memory fake (tests/fakes/webhooks.py) and
``MongoWebhookSubscriptions`` held to the same assertions, so unit tests on the fake mean what they say."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest

from tests.fakes.clock import T0
from tests.fakes.webhooks import InMemoryWebhookSubscriptions
from workflow_service.adapters.mongo.webhook_subscriptions import MongoWebhookSubscriptions
from workflow_service.models.common import new_object_id
from workflow_service.ports.webhooks import SigningSecret, WebhookAction, WebhookSubscription

TEAM, OTHER_TEAM = "team-a", "team-b"


@dataclass
class Subscriptions:
    """A reader and the two ways its data changes outside the reader (created, deleted)."""

    reader: InMemoryWebhookSubscriptions | MongoWebhookSubscriptions
    add: Callable[[WebhookSubscription], None]
    delete: Callable[[WebhookSubscription], None]


def fake() -> Subscriptions:
    store = InMemoryWebhookSubscriptions()
    return Subscriptions(store, store.add, lambda subscription: store.deleted.add(subscription.id))


def mongo(database) -> Subscriptions:
    store = MongoWebhookSubscriptions(database)

    def add(subscription: WebhookSubscription) -> None:
        assert store.insert(subscription, user_id="alice", now=T0)

    def delete(subscription: WebhookSubscription) -> None:
        assert store.soft_delete(subscription.team_id, subscription.id, user_id="alice", now=T0)

    return Subscriptions(store, add, delete)


@pytest.fixture(params=["fake", "mongo"])
def subscriptions(request) -> Subscriptions:
    return fake() if request.param == "fake" else mongo(request.getfixturevalue("database"))


def subscription(team_id: str = TEAM, *actions: WebhookAction, enabled: bool = True, **fields) -> WebhookSubscription:
    return WebhookSubscription(
        id=new_object_id(),
        team_id=team_id,
        name="CRM sync",
        url="https://hooks.example.com/in",
        actions=frozenset(actions or WebhookAction),
        enabled=enabled,
        bearer_token=fields.pop("bearer_token", "token-1"),
        signing_secrets=fields.pop(
            "signing_secrets",
            (
                SigningSecret("whsec_bmV3", created_at=T0),
                SigningSecret("whsec_b2xk", created_at=T0 - timedelta(hours=1), expires_at=T0 + timedelta(hours=23)),
            ),
        ),
        **fields,
    )


def test_a_subscription_is_read_back_as_stored(subscriptions):
    stored = subscription(timeout_seconds=30, max_retries=0, retry_backoff_seconds=300)
    subscriptions.add(stored)
    assert subscriptions.reader.get(TEAM, stored.id) == stored


def test_subscribed_is_the_teams_enabled_undeleted_subscriptions_to_the_action(subscriptions):
    runs = subscription(TEAM, WebhookAction.WORKFLOW_RUN_COMPLETED, WebhookAction.WORKFLOW_RUN_STARTED)
    everything = subscription(TEAM)
    disabled = subscription(TEAM, enabled=False)
    deleted = subscription(TEAM)
    foreign = subscription(OTHER_TEAM)
    for each in (runs, everything, disabled, deleted, foreign):
        subscriptions.add(each)
    subscriptions.delete(deleted)

    def ids(action: WebhookAction) -> set[str]:
        return {s.id for s in subscriptions.reader.subscribed(TEAM, action)}

    assert ids(WebhookAction.WORKFLOW_RUN_COMPLETED) == {runs.id, everything.id}
    assert ids(WebhookAction.WORKFLOW_CREATED) == {everything.id}
    assert {s.id for s in subscriptions.reader.subscribed(OTHER_TEAM, WebhookAction.WORKFLOW_CREATED)} == {foreign.id}


def test_get_is_none_for_another_team_an_unknown_or_a_deleted_subscription_but_not_a_disabled_one(subscriptions):
    kept, deleted, disabled = subscription(), subscription(), subscription(enabled=False)
    for each in (kept, deleted, disabled):
        subscriptions.add(each)
    subscriptions.delete(deleted)
    assert subscriptions.reader.get(OTHER_TEAM, kept.id) is None
    assert subscriptions.reader.get(TEAM, new_object_id()) is None
    assert subscriptions.reader.get(TEAM, deleted.id) is None
    assert subscriptions.reader.get(TEAM, disabled.id) == disabled


def test_disable_gone_disables_with_its_reason_and_the_subscription_receives_nothing_more(subscriptions):
    gone = subscription()
    subscriptions.add(gone)
    subscriptions.reader.disable_gone(TEAM, gone.id, reason="410 Gone from the receiver", now=T0)
    read = subscriptions.reader.get(TEAM, gone.id)
    assert (read.enabled, read.disabled_reason) == (False, "410 Gone from the receiver")
    assert subscriptions.reader.subscribed(TEAM, WebhookAction.WORKFLOW_CREATED) == []
    # Another team cannot disable it, and an unknown id is a no-op
    other = subscription()
    subscriptions.add(other)
    subscriptions.reader.disable_gone(OTHER_TEAM, other.id, reason="x", now=T0)
    subscriptions.reader.disable_gone(TEAM, new_object_id(), reason="x", now=T0)
    assert subscriptions.reader.get(TEAM, other.id).enabled is True
