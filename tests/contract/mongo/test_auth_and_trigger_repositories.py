"""``ports.TeamRepository``, ``ApiKeyRepository`` and ``TriggerRepository`` over Mongo."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.fakes.clock import T0
from workflow_service.adapters.mongo.auth import MongoApiKeyRepository, MongoTeamRepository
from workflow_service.adapters.mongo.triggers import MongoTriggerRepository
from workflow_service.models.auth import ApiKey, Team
from workflow_service.models.common import audit_fields
from workflow_service.models.triggers import Trigger, TriggerKind
from workflow_service.ports import DuplicateKey

TEAM, OTHER_TEAM = "team-a", "team-b"
WORKFLOW, OTHER_WORKFLOW = "65f1a2b3c4d5e6f708192a3b", "65f1a2b3c4d5e6f708192a3c"


# -- teams and API keys -------------------------------------------------------------------------------


def test_a_team_is_read_back_and_its_limit_changed(database):
    teams = MongoTeamRepository(database)
    teams.insert(Team(id=TEAM, name="Team A", max_concurrent_runs=5, created_at=T0))
    assert teams.get(TEAM) == Team(id=TEAM, name="Team A", max_concurrent_runs=5, created_at=T0)
    assert teams.set_max_concurrent_runs(TEAM, 8).max_concurrent_runs == 8
    assert teams.get(TEAM).max_concurrent_runs == 8
    assert teams.get("missing") is None and teams.set_max_concurrent_runs("missing", 3) is None


def api_key(key_id: str, key_hash: str, minute: int = 0, team: str = TEAM) -> ApiKey:
    return ApiKey(
        id=key_id,
        key_hash=key_hash,
        team_id=team,
        user_id="alice",
        name=key_id,
        created_at=T0 + timedelta(minutes=minute),
    )


def test_a_key_hash_is_stored_once(database):
    keys = MongoApiKeyRepository(database)
    keys.insert(api_key("k1", "hash-1"))
    with pytest.raises(DuplicateKey):
        keys.insert(api_key("k2", "hash-1"))
    assert [key.id for key in keys.list_for_team(TEAM)] == ["k1"]


def test_a_revoked_key_is_no_longer_found_and_revoking_again_still_succeeds(database):
    keys = MongoApiKeyRepository(database)
    keys.insert(api_key("k1", "hash-1"))
    assert keys.find_active_by_hash("hash-1").id == "k1"
    assert keys.revoke("k1", T0) is True
    assert keys.find_active_by_hash("hash-1") is None
    assert keys.revoke("k1", T0 + timedelta(hours=1)) is True
    assert keys.list_for_team(TEAM)[0].revoked_at == T0  # the first revocation time stays
    assert keys.revoke("missing", T0) is False


def test_a_team_keys_are_listed_oldest_first(database):
    keys = MongoApiKeyRepository(database)
    for key in (api_key("late", "h1", 2), api_key("early", "h2", 1), api_key("foreign", "h3", 0, OTHER_TEAM)):
        keys.insert(key)
    assert [key.id for key in keys.list_for_team(TEAM)] == ["early", "late"]


# -- triggers -------------------------------------------------------------------------------------


@pytest.fixture
def triggers(database, clock) -> MongoTriggerRepository:
    return MongoTriggerRepository(database, clock)


def a_trigger(triggers, kind: TriggerKind, *, workflow: str = WORKFLOW, team: str = TEAM, secret=None, at=T0):
    trigger = Trigger(**audit_fields(team, "alice", at), workflow_id=workflow, type=kind, name=f"{kind} trigger")
    triggers.insert(trigger, secret)
    return trigger


def test_a_workflow_has_at_most_one_sqs_trigger_found_whatever_the_team(triggers):
    sqs = a_trigger(triggers, TriggerKind.SQS)
    with pytest.raises(DuplicateKey):
        a_trigger(triggers, TriggerKind.SQS)
    a_trigger(triggers, TriggerKind.SQS, workflow=OTHER_WORKFLOW)
    assert triggers.find_sqs_trigger(WORKFLOW).id == sqs.id
    assert triggers.find_sqs_trigger("65f1a2b3c4d5e6f708192a3d") is None


def test_the_webhook_secret_is_returned_by_find_webhook_only(triggers):
    webhook = a_trigger(triggers, TriggerKind.WEBHOOK, secret="whsec_first")
    stored = triggers.get(TEAM, WORKFLOW, webhook.id)
    assert stored.has_secret is True
    assert triggers.find_webhook(webhook.id) == (stored, "whsec_first")
    sqs = a_trigger(triggers, TriggerKind.SQS)
    assert triggers.find_webhook(sqs.id) is None and triggers.find_webhook("not-an-id") is None


def test_a_trigger_is_addressed_by_team_workflow_and_id(triggers):
    trigger = a_trigger(triggers, TriggerKind.WEBHOOK, secret="s")
    assert triggers.get(OTHER_TEAM, WORKFLOW, trigger.id) is None
    assert triggers.get(TEAM, OTHER_WORKFLOW, trigger.id) is None
    assert triggers.update_fields(OTHER_TEAM, WORKFLOW, trigger.id, {"enabled": False}, "eve") is None
    assert triggers.delete(TEAM, OTHER_WORKFLOW, trigger.id) is False
    assert triggers.get(TEAM, WORKFLOW, trigger.id).enabled is True


def test_update_fields_and_listing_oldest_first(triggers, clock):
    first = a_trigger(triggers, TriggerKind.WEBHOOK, secret="s", at=T0)
    second = a_trigger(triggers, TriggerKind.SQS, at=T0 + timedelta(minutes=1))
    clock.advance(minutes=5)
    updated = triggers.update_fields(TEAM, WORKFLOW, first.id, {"enabled": False, "name": "paused"}, "bob")
    assert (updated.enabled, updated.name, updated.updated_by, updated.updated_at) == (
        False,
        "paused",
        "bob",
        clock.now(),
    )
    assert [t.id for t in triggers.list_for_workflow(TEAM, WORKFLOW)] == [first.id, second.id]
    assert triggers.list_for_workflow(OTHER_TEAM, WORKFLOW) == []


def test_replace_secret_applies_to_webhook_triggers_only(triggers, clock):
    webhook, sqs = a_trigger(triggers, TriggerKind.WEBHOOK, secret="old"), a_trigger(triggers, TriggerKind.SQS)
    clock.advance(minutes=1)
    rotated = triggers.replace_secret(TEAM, WORKFLOW, webhook.id, "new", "bob")
    assert rotated.secret_rotated_at == clock.now()
    assert triggers.find_webhook(webhook.id)[1] == "new"
    assert triggers.replace_secret(TEAM, WORKFLOW, sqs.id, "new", "bob") is None
    assert triggers.get(TEAM, WORKFLOW, sqs.id).has_secret is False


def test_delete_and_delete_for_workflow(triggers):
    one, two = a_trigger(triggers, TriggerKind.WEBHOOK, secret="s"), a_trigger(triggers, TriggerKind.SQS)
    other = a_trigger(triggers, TriggerKind.SQS, workflow=OTHER_WORKFLOW)
    assert triggers.delete(TEAM, WORKFLOW, one.id) is True and triggers.delete(TEAM, WORKFLOW, one.id) is False
    assert triggers.delete_for_workflow(TEAM, WORKFLOW) == 1
    assert triggers.get(TEAM, WORKFLOW, two.id) is None and triggers.get(TEAM, OTHER_WORKFLOW, other.id) is not None
    # The workflow's SQS trigger slot is free again
    a_trigger(triggers, TriggerKind.SQS)
