"""Trigger management under /workflows/v1/workflows/{workflow_id}/triggers, handler by handler."""

from __future__ import annotations

import pytest

from tests.integration.triggers.conftest import create_trigger, create_workflow, send_signed
from tests.support.api import call

OTHER_ID = "65f1a2b3c4d5e6f708192a3b"


def stored_triggers(services) -> list[dict]:
    return list(services.core.database.raw["workflow_triggers"].find())


def test_a_webhook_trigger_shows_its_secret_and_url_once(caller, services):
    # Given a workflow
    workflow_id = create_workflow(caller)
    # When a webhook trigger is created
    created = create_trigger(caller, workflow_id, "webhook", name="CRM tickets")
    # Then the answer carries the secret and the public path, with audit fields
    assert created["secret"].startswith("whsec_") and created["has_secret"] is True
    assert created["webhook_path"] == f"/workflows/v1/hooks/{created['_id']}"
    assert (created["name"], created["type"], created["enabled"]) == ("CRM tickets", "webhook", True)
    assert created["workflow_id"] == workflow_id and created["team_id"] == caller.team_id
    assert created["created_by"] == "alice" and created["created_at"].endswith("Z")
    # And listing never shows the secret again
    listed = call("list_triggers", caller=caller, path={"workflow_id": workflow_id})
    assert listed.status == 200 and listed.body["total"] == 1
    (shown,) = listed.body["triggers"]
    assert "secret" not in shown and shown["has_secret"] is True
    assert shown["webhook_path"] == created["webhook_path"]
    assert created["secret"] not in listed.raw


def test_an_sqs_trigger_has_no_secret_and_a_workflow_gets_at_most_one(caller, services):
    workflow_id = create_workflow(caller)
    created = create_trigger(caller, workflow_id, "sqs", enabled=False)
    assert created["secret"] is None and created["has_secret"] is False and created["webhook_path"] is None
    assert created["enabled"] is False
    # A second SQS trigger could not be told apart from the first by a queue message
    second = call(
        "create_trigger", caller=caller, path={"workflow_id": workflow_id}, body={"type": "sqs", "name": "again"}
    )
    assert second.status == 409 and "already has an SQS trigger" in second.body["detail"]
    # Webhook triggers are not limited, and another workflow may have its own SQS trigger
    create_trigger(caller, workflow_id, "webhook")
    create_trigger(caller, workflow_id, "webhook")
    create_trigger(caller, create_workflow(caller), "sqs")
    assert len(stored_triggers(services)) == 4


def test_patch_disables_enables_and_renames(caller, clock):
    workflow_id = create_workflow(caller)
    trigger = create_trigger(caller, workflow_id, "webhook")
    path = {"workflow_id": workflow_id, "trigger_id": trigger["_id"]}
    clock.advance(seconds=5)
    disabled = call("update_trigger", caller=caller, path=path, body={"enabled": False})
    assert disabled.status == 200 and disabled.body["enabled"] is False
    assert disabled.body["updated_at"] != trigger["updated_at"] and "secret" not in disabled.body
    renamed = call("update_trigger", caller=caller, path=path, body={"name": "Zendesk", "enabled": True})
    assert (renamed.body["name"], renamed.body["enabled"]) == ("Zendesk", True)
    unchanged = call("update_trigger", caller=caller, path=path, body={})
    assert unchanged.status == 200 and unchanged.body["name"] == "Zendesk"
    listed = call("list_triggers", caller=caller, path={"workflow_id": workflow_id})
    assert [(t["name"], t["enabled"]) for t in listed.body["triggers"]] == [("Zendesk", True)]


@pytest.mark.parametrize("body", [{"enabled": None}, {"name": ""}, {"type": "sqs"}])
def test_patch_rejects_nulls_and_unknown_fields_and_changes_nothing(caller, body):
    workflow_id = create_workflow(caller)
    trigger = create_trigger(caller, workflow_id, "webhook")
    reply = call(
        "update_trigger", caller=caller, path={"workflow_id": workflow_id, "trigger_id": trigger["_id"]}, body=body
    )
    assert reply.status == 422 and reply.body["detail"][0]["loc"][0] == "body"
    listed = call("list_triggers", caller=caller, path={"workflow_id": workflow_id})
    assert listed.body["triggers"][0]["enabled"] is True and listed.body["triggers"][0]["type"] == "webhook"


def test_delete_answers_204_then_404(caller, services):
    workflow_id = create_workflow(caller)
    trigger = create_trigger(caller, workflow_id, "sqs")
    path = {"workflow_id": workflow_id, "trigger_id": trigger["_id"]}
    deleted = call("delete_trigger", caller=caller, path=path)
    assert deleted.status == 204 and deleted.raw == ""
    assert stored_triggers(services) == []
    again = call("delete_trigger", caller=caller, path=path)
    assert again.status == 404 and trigger["_id"] in again.body["detail"]
    # With it gone, the workflow may have a new SQS trigger
    create_trigger(caller, workflow_id, "sqs")


def test_rotating_the_secret_invalidates_the_old_one_at_once(caller, clock):
    # Given a webhook trigger whose secret works
    workflow_id = create_workflow(caller)
    trigger = create_trigger(caller, workflow_id, "webhook")
    assert send_signed(trigger, {"n": 1}, clock.now()).status == 202
    # When its secret is rotated
    clock.advance(seconds=1)
    rotated = call(
        "rotate_trigger_secret", caller=caller, path={"workflow_id": workflow_id, "trigger_id": trigger["_id"]}
    )
    # Then the new secret is shown once, and only it is accepted from now on
    assert rotated.status == 200 and rotated.body["secret"].startswith("whsec_")
    assert rotated.body["secret"] != trigger["secret"] and rotated.body["secret_rotated_at"] == "2030-01-01T12:00:01Z"
    assert send_signed(trigger, {"n": 2}, clock.now()).status == 401
    assert send_signed({**trigger, "secret": rotated.body["secret"]}, {"n": 3}, clock.now()).status == 202


def test_an_sqs_trigger_has_no_secret_to_rotate(caller):
    workflow_id = create_workflow(caller)
    trigger = create_trigger(caller, workflow_id, "sqs")
    path = {"workflow_id": workflow_id, "trigger_id": trigger["_id"]}
    reply = call("rotate_trigger_secret", caller=caller, path=path)
    assert reply.status == 409 and "only webhook triggers have a secret" in reply.body["detail"]


def test_another_teams_workflow_and_triggers_are_404_and_untouched(caller, other_caller, services):
    # Given a trigger of team A
    workflow_id = create_workflow(caller)
    trigger = create_trigger(caller, workflow_id, "webhook")
    workflow_path = {"workflow_id": workflow_id}
    path = {**workflow_path, "trigger_id": trigger["_id"]}
    # When team B tries every operation on it
    replies = [
        call("list_triggers", caller=other_caller, path=workflow_path),
        call("create_trigger", caller=other_caller, path=workflow_path, body={"type": "sqs", "name": "mine"}),
        call("update_trigger", caller=other_caller, path=path, body={"enabled": False}),
        call("rotate_trigger_secret", caller=other_caller, path=path),
        call("delete_trigger", caller=other_caller, path=path),
    ]
    # Then each is a 404 naming the workflow, and nothing changed
    assert [reply.status for reply in replies] == [404] * 5
    assert all(workflow_id in reply.body["detail"] for reply in replies)
    (stored,) = stored_triggers(services)
    assert stored["enabled"] is True and stored["secret"] == trigger["secret"]


def test_a_trigger_id_of_another_workflow_of_the_same_team_is_404(caller):
    first, second = create_workflow(caller), create_workflow(caller)
    trigger = create_trigger(caller, first, "webhook")
    reply = call(
        "update_trigger",
        caller=caller,
        path={"workflow_id": second, "trigger_id": trigger["_id"]},
        body={"enabled": False},
    )
    assert reply.status == 404 and trigger["_id"] in reply.body["detail"]


def test_unknown_workflow_is_404_and_malformed_ids_are_422(caller):
    assert call("list_triggers", caller=caller, path={"workflow_id": OTHER_ID}).status == 404
    bad_workflow = call(
        "create_trigger", caller=caller, path={"workflow_id": "nope"}, body={"type": "sqs", "name": "x"}
    )
    assert bad_workflow.status == 422 and bad_workflow.body["detail"][0]["loc"] == ["path", "workflow_id"]
    workflow_id = create_workflow(caller)
    bad_trigger = call("delete_trigger", caller=caller, path={"workflow_id": workflow_id, "trigger_id": "nope"})
    assert bad_trigger.status == 422 and bad_trigger.body["detail"][0]["loc"] == ["path", "trigger_id"]


@pytest.mark.parametrize("body", [{"type": "email", "name": "x"}, {"type": "sqs"}, {"type": "sqs", "name": ""}])
def test_create_rejects_an_unknown_type_or_a_missing_name(caller, services, body):
    workflow_id = create_workflow(caller)
    reply = call("create_trigger", caller=caller, path={"workflow_id": workflow_id}, body=body)
    assert reply.status == 422
    assert stored_triggers(services) == []


def test_deleting_the_workflow_deletes_its_triggers(caller, services, clock):
    # Given a workflow with a webhook and an SQS trigger, and another workflow's trigger
    workflow_id = create_workflow(caller)
    webhook = create_trigger(caller, workflow_id, "webhook")
    create_trigger(caller, workflow_id, "sqs")
    kept = create_trigger(caller, create_workflow(caller), "webhook")
    # When the workflow is deleted
    assert call("delete_workflow", caller=caller, path={"workflow_id": workflow_id}).status == 200
    # Then its triggers are gone (its webhook is unknown) and the other workflow's remains
    assert [str(t["_id"]) for t in stored_triggers(services)] == [kept["_id"]]
    assert send_signed(webhook, {"n": 1}, clock.now()).status == 404


def test_the_deletion_listener_is_idempotent(caller, services):
    workflow_id = create_workflow(caller)
    create_trigger(caller, workflow_id, "webhook")
    services.triggers.deletion_listener.on_workflow_deleted(caller.team_id, workflow_id)
    services.triggers.deletion_listener.on_workflow_deleted(caller.team_id, workflow_id)
    assert stored_triggers(services) == []
