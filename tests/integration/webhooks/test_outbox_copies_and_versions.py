"""Webhook emission of the workflow writes besides create/update/activate/delete (test_outbox.py): a clone
and an import create a workflow (``workflow_created``); a version's config update, rename and deletion
change it (``workflow_updated``, reference G6: "configuration, version or settings changed"). In-process,
over mongomock, with the in-memory subscriptions, event store and delivery queue (the ``hooks`` fixture)."""

from __future__ import annotations

from collections import Counter

from bson import ObjectId

from tests.support.api import call
from tests.support.webhook_outbox import make_workflow
from tests.support.workflows import say_then_end
from workflow_service.errors import StoreUnavailable
from workflow_service.ports.webhooks import WebhookAction, event_id_for


def stored_workflow(services, workflow_id: str) -> dict:
    return services.core.database.raw["workflows"].find_one({"_id": ObjectId(workflow_id)})


def stored_version(services, workflow_id: str, number: int) -> dict:
    return services.core.database.raw["workflow_versions"].find_one(
        {"workflow_id": workflow_id, "version_number": number}
    )


def version_config(caller, workflow_id: str, number: int = 0) -> dict:
    """The version's config as a client reads it (logical ids included), to send back changed."""
    reply = call("get_workflow_version", caller=caller, path={"workflow_id": workflow_id, "version_number": number})
    assert reply.status == 200, reply
    return reply.body["version"]["workflow_config"]


def with_message(config: dict, message: str) -> dict:
    nodes = [dict(node) for node in config["nodes"]]
    nodes[0]["static_messages_config"] = {"static_messages": [message]}
    return {**config, "nodes": nodes}


def update_config(caller, workflow_id: str, config: dict, number: int = 0):
    path = {"workflow_id": workflow_id, "version_number": number}
    return call("update_workflow_version_config", caller=caller, path=path, body={"config": config})


def add_version(caller, workflow_id: str, name: str = "v1") -> int:
    body = {"version_name": name, "workflow_config": say_then_end("One")}
    made = call("create_workflow_version", caller=caller, path={"workflow_id": workflow_id}, body=body)
    assert made.status == 200, made
    return made.body["version"]["version_number"]


def rename(caller, workflow_id: str, number: int, name: str):
    path = {"workflow_id": workflow_id, "version_number": number}
    return call("rename_workflow_version", caller=caller, path=path, body={"version_name": name})


def updated_keys(hooks, workflow_id: str) -> Counter[str]:
    return Counter(key for key in hooks.keys().elements() if key.startswith(f"workflow_updated:{workflow_id}:"))


# -- workflow_created: clone and import ----------------------------------------------------------------


def test_a_cloned_workflow_emits_its_own_workflow_created_shaped_like_a_created_ones(caller, services, hooks):
    # Given a subscribed team's workflow
    subscription = hooks.subscribe(caller.team_id)
    source = make_workflow(caller)
    hooks.queue.drain()
    # When it is cloned
    reply = call("clone_workflow", caller=caller, path={"workflow_id": source}, body={"name": "Copy"})
    assert reply.status == 200, reply
    clone = reply.body["workflow"]["_id"]
    # Then the clone has one workflow_created event, queued for delivery, and its document keeps no marker
    assert hooks.keys()[f"workflow_created:{clone}"] == 1
    created = hooks.events.get(event_id_for(subscription, f"workflow_created:{clone}"))
    assert hooks.queue.drain() == [created.event_id]
    assert not stored_workflow(services, clone).get("webhook_outbox")
    # And its payload has the shape of a created workflow's event, naming the clone
    original = hooks.events.get(event_id_for(subscription, f"workflow_created:{source}"))
    assert set(created.payload) == set(original.payload)
    assert created.payload["workflow"] == {"id": clone, "name": "Copy", "version": 0, "revision": 0}
    assert created.payload["action"] == "workflow_created" and created.workflow_name == "Copy"


def test_an_imported_bundle_emits_workflow_created_for_the_new_workflow(caller, services, hooks):
    # Given a subscribed team and a bundle exported from one of its workflows
    hooks.subscribe(caller.team_id)
    source = make_workflow(caller)
    query = {"version_numbers": "0", "active_version_number": 0}
    bundle = call("export_workflow", caller=caller, path={"workflow_id": source}, query=query)
    assert bundle.status == 200, bundle
    # When the bundle is imported
    body = {"bundle": bundle.body, "workflow_name": "Imported"}
    imported = call("import_workflow_bundle", caller=caller, body=body)
    assert imported.status == 200, imported
    # Then the new workflow has exactly one workflow_created event, and the export made none
    new_id = imported.body["workflow"]["_id"]
    assert hooks.keys() == Counter({f"workflow_created:{source}": 1, f"workflow_created:{new_id}": 1})
    [event] = [e for e in hooks.of(WebhookAction.WORKFLOW_CREATED) if e.workflow_id == new_id]
    assert event.payload["workflow"]["name"] == "Imported" and event.workflow_name == "Imported"


def test_a_clone_whose_event_write_failed_is_emitted_once_by_the_reaper(caller, services, hooks):
    # Given a subscribed team whose event store fails while a workflow is cloned
    hooks.subscribe(caller.team_id)
    source = make_workflow(caller)
    hooks.events.failures_left = 1
    reply = call("clone_workflow", caller=caller, path={"workflow_id": source}, body={})
    # Then the clone is made anyway, without its event, and keeps the marker its insert wrote
    assert reply.status == 200, reply
    clone = reply.body["workflow"]["_id"]
    assert hooks.keys()[f"workflow_created:{clone}"] == 0
    assert "workflow_created" in stored_workflow(services, clone)["webhook_outbox"]
    # When the reaper passes twice
    first, second = services.reaper.service.reap(), services.reaper.service.reap()
    # Then the event exists once and the marker is gone
    assert first["webhook_markers_reemitted"] == 1 and second["webhook_markers_reemitted"] == 0
    assert hooks.keys()[f"workflow_created:{clone}"] == 1
    assert not stored_workflow(services, clone).get("webhook_outbox")


# -- workflow_updated: a version's config, name and deletion ----------------------------------------------


def test_a_version_config_update_emits_workflow_updated_shaped_like_a_workflow_update(caller, services, hooks):
    # Given a subscribed team's workflow, renamed once (revision 1, the existing workflow_updated event)
    subscription = hooks.subscribe(caller.team_id)
    workflow_id = make_workflow(caller)
    assert call("update_workflow", caller=caller, path={"workflow_id": workflow_id}, body={"name": "w2"}).status == 200
    # When version 0's config is replaced
    reply = update_config(caller, workflow_id, with_message(version_config(caller, workflow_id), "Changed"))
    assert reply.status == 200, reply
    # Then the change is the workflow's revision 2, with one event, queued, and no marker left anywhere
    assert updated_keys(hooks, workflow_id) == Counter(
        {f"workflow_updated:{workflow_id}:1": 1, f"workflow_updated:{workflow_id}:2": 1}
    )
    event = hooks.events.get(event_id_for(subscription, f"workflow_updated:{workflow_id}:2"))
    assert event.event_id in hooks.queue.drain()
    assert "workflow_updated" not in stored_workflow(services, workflow_id).get("webhook_outbox", {})
    assert "workflow_updated" not in stored_version(services, workflow_id, 0).get("webhook_outbox", {})
    # And its payload has exactly the fields of the workflow update's event
    renamed = hooks.events.get(event_id_for(subscription, f"workflow_updated:{workflow_id}:1"))
    assert set(event.payload) == set(renamed.payload)
    assert event.payload["workflow"] == {"id": workflow_id, "name": "w2", "version": 0, "revision": 2}
    assert event.payload["action"] == "workflow_updated" and event.workflow_name == "w2"
    assert event.created_by == caller.user_id


def test_a_retried_version_config_update_makes_no_second_revision_or_event(caller, services, hooks):
    # Given a subscribed team's version whose config was updated
    hooks.subscribe(caller.team_id)
    workflow_id = make_workflow(caller)
    changed = with_message(version_config(caller, workflow_id), "Changed")
    assert update_config(caller, workflow_id, changed).status == 200
    # When the client retries the same request
    retried = update_config(caller, workflow_id, changed)
    # Then it answers the version as it is: no new config revision, and still one event
    assert retried.status == 200, retried
    assert retried.body["version"]["config_revision"] == 1
    assert updated_keys(hooks, workflow_id) == Counter({f"workflow_updated:{workflow_id}:1": 1})


def test_renaming_a_version_emits_one_workflow_updated_and_renaming_it_again_to_that_name_none(caller, hooks):
    # Given a subscribed team's workflow with a second version (revision 1)
    hooks.subscribe(caller.team_id)
    workflow_id = make_workflow(caller)
    number = add_version(caller, workflow_id)
    # When the version is renamed, and the rename retried
    first, retried = rename(caller, workflow_id, number, "Spring"), rename(caller, workflow_id, number, "Spring")
    # Then both answer the renamed version, and the rename is one update (revision 2) with one event
    assert first.status == retried.status == 200, (first, retried)
    assert retried.body["version"]["version_name"] == "Spring"
    assert updated_keys(hooks, workflow_id) == Counter(
        {f"workflow_updated:{workflow_id}:1": 1, f"workflow_updated:{workflow_id}:2": 1}
    )


def test_deleting_a_version_emits_one_workflow_updated_and_a_retried_delete_none(caller, services, hooks):
    # Given a subscribed team's workflow with a second, inactive version (revision 1)
    subscription = hooks.subscribe(caller.team_id)
    workflow_id = make_workflow(caller)
    number = add_version(caller, workflow_id)
    path = {"workflow_id": workflow_id, "version_number": number}
    # When the version is deleted, and the delete retried
    gone = call("delete_workflow_version", caller=caller, path=path)
    again = call("delete_workflow_version", caller=caller, path=path)
    # Then the first removed it with one event (revision 2) naming who did it; the retry found nothing
    assert gone.status == 200 and again.status == 404, (gone, again)
    assert updated_keys(hooks, workflow_id) == Counter(
        {f"workflow_updated:{workflow_id}:1": 1, f"workflow_updated:{workflow_id}:2": 1}
    )
    event = hooks.events.get(event_id_for(subscription, f"workflow_updated:{workflow_id}:2"))
    assert event.payload["workflow"] == {"id": workflow_id, "name": "wf", "version": 0, "revision": 2}
    assert event.created_by == caller.user_id
    assert stored_workflow(services, workflow_id)["updated_by"] == caller.user_id


def test_a_version_change_not_counted_on_its_workflow_is_counted_and_emitted_once_by_the_reaper(
    caller, services, hooks, monkeypatch
):
    # Given a subscribed team whose store fails right after a version's config is replaced
    hooks.subscribe(caller.team_id)
    workflow_id = make_workflow(caller)
    workflows = services.webhooks.workflow_outbox._workflows

    def unreachable(*args, **kwargs):
        raise StoreUnavailable("store unreachable")

    monkeypatch.setattr(workflows, "count_version_changes", unreachable)
    reply = update_config(caller, workflow_id, with_message(version_config(caller, workflow_id), "Changed"))
    # Then the update stands, without its event, and the version keeps the marker its write carried
    assert reply.status == 200, reply
    assert updated_keys(hooks, workflow_id) == Counter()
    assert "workflow_updated" in stored_version(services, workflow_id, 0)["webhook_outbox"]
    # When the store is back and the reaper passes twice
    monkeypatch.undo()
    first, second = services.reaper.service.reap(), services.reaper.service.reap()
    # Then the change is the workflow's revision 1, with one event, and no marker is left
    assert first["webhook_markers_reemitted"] == 1 and second["webhook_markers_reemitted"] == 0
    assert updated_keys(hooks, workflow_id) == Counter({f"workflow_updated:{workflow_id}:1": 1})
    assert stored_workflow(services, workflow_id)["webhook_revision"] == 1
    assert not stored_version(services, workflow_id, 0).get("webhook_outbox")


def test_a_retry_of_an_update_that_died_before_its_event_emits_that_event_and_no_other(
    caller, services, hooks, monkeypatch
):
    # Given a version whose config update took effect but died before its change was counted
    hooks.subscribe(caller.team_id)
    workflow_id = make_workflow(caller)
    workflows = services.webhooks.workflow_outbox._workflows

    def died(*args, **kwargs):
        raise StoreUnavailable("store unreachable")

    monkeypatch.setattr(workflows, "count_version_changes", died)
    changed = with_message(version_config(caller, workflow_id), "Changed")
    update_config(caller, workflow_id, changed)
    monkeypatch.undo()
    # When the client retries it before any reaper pass
    retried = update_config(caller, workflow_id, changed)
    # Then the retry wrote nothing new, and emitted the first attempt's event: one revision, one event
    assert retried.status == 200 and retried.body["version"]["config_revision"] == 1, retried
    assert updated_keys(hooks, workflow_id) == Counter({f"workflow_updated:{workflow_id}:1": 1})
    assert services.reaper.service.reap()["webhook_markers_reemitted"] == 0


def test_a_change_counted_twice_after_a_lost_marker_clearing_is_still_one_event(caller, services, hooks, monkeypatch):
    # Given a renamed version whose change was counted on the workflow, but whose marker could not be cleared
    hooks.subscribe(caller.team_id)
    workflow_id = make_workflow(caller)
    number = add_version(caller, workflow_id)
    versions = services.webhooks.workflow_outbox._versions

    def unreachable(*args, **kwargs):
        raise StoreUnavailable("store unreachable")

    monkeypatch.setattr(versions, "clear_webhook_marker", unreachable)
    assert rename(caller, workflow_id, number, "Spring").status == 200
    monkeypatch.undo()
    assert stored_workflow(services, workflow_id)["webhook_revision"] == 2
    # When the reaper finds the version's marker and counts its change again
    services.reaper.service.reap()
    # Then the workflow counted the rename once: revision 2, one event each, no marker left
    assert stored_workflow(services, workflow_id)["webhook_revision"] == 2
    assert updated_keys(hooks, workflow_id) == Counter(
        {f"workflow_updated:{workflow_id}:1": 1, f"workflow_updated:{workflow_id}:2": 1}
    )
    assert not stored_version(services, workflow_id, number).get("webhook_outbox")
    assert not stored_workflow(services, workflow_id).get("webhook_outbox")


def test_a_team_without_subscriptions_gets_no_version_marker_and_no_event(caller, other_caller, services, hooks):
    # Given only another team subscribes
    hooks.subscribe(other_caller.team_id)
    workflow_id = make_workflow(caller)
    number = add_version(caller, workflow_id)
    # When this team updates a version's config, renames it and deletes it, and clones the workflow
    assert update_config(caller, workflow_id, with_message(version_config(caller, workflow_id), "New")).status == 200
    assert rename(caller, workflow_id, number, "Spring").status == 200
    path = {"workflow_id": workflow_id, "version_number": number}
    assert call("delete_workflow_version", caller=caller, path=path).status == 200
    assert call("clone_workflow", caller=caller, path={"workflow_id": workflow_id}, body={}).status == 200
    # Then nothing was emitted and no document carries a marker
    assert hooks.events.events == {} and hooks.queue.sent == []
    raw = services.core.database.raw
    assert not [d for d in raw["workflows"].find({}) if d.get("webhook_outbox")]
    assert not [d for d in raw["workflow_versions"].find({}) if d.get("webhook_outbox")]
