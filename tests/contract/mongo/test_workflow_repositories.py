"""``ports.WorkflowRepository``, ``WorkflowSummaries``, ``VersionRepository``, ``WorkflowNames`` and
``ConcurrencyLimits`` over Mongo."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.clock import T0
from workflow_service.adapters.mongo.auth import MongoTeamRepository
from workflow_service.adapters.mongo.leases import MongoConcurrencyLimits
from workflow_service.adapters.mongo.schedules import MongoWorkflowNames
from workflow_service.adapters.mongo.workflow_summaries import MongoWorkflowSummaries
from workflow_service.adapters.mongo.workflows import MongoVersionRepository, MongoWorkflowRepository
from workflow_service.models.auth import Team
from workflow_service.models.common import audit_fields
from workflow_service.models.workflow_config import WorkflowConfig
from workflow_service.models.workflows import Workflow, WorkflowVersion

TEAM, OTHER_TEAM = "team-a", "team-b"


@pytest.fixture
def workflows(database, clock) -> MongoWorkflowRepository:
    return MongoWorkflowRepository(database, clock)


@pytest.fixture
def versions(database, clock) -> MongoVersionRepository:
    return MongoVersionRepository(database, clock)


def a_workflow(workflows, name: str = "Intake", *, team: str = TEAM, at=T0, **fields: Any) -> Workflow:
    workflow = Workflow(**audit_fields(team, "alice", at), name=name, version_numbers=[0], **fields)
    workflows.insert(workflow)
    return workflow


def test_a_workflow_is_read_within_its_team_until_it_is_marked_deleted(workflows):
    workflow = a_workflow(workflows)
    assert workflows.get(TEAM, workflow.id).name == "Intake"
    assert workflows.get(OTHER_TEAM, workflow.id) is None and workflows.get(TEAM, "not-an-id") is None
    # Marking it deleted hides it, except to callers that ask for deleted ones; repeating it still answers
    assert workflows.mark_deleted(TEAM, workflow.id) is not None
    assert workflows.get(TEAM, workflow.id) is None
    assert workflows.get(TEAM, workflow.id, include_deleted=True).id == workflow.id
    assert workflows.mark_deleted(TEAM, workflow.id).id == workflow.id
    # Deleting removes it for good
    workflows.delete(TEAM, workflow.id)
    assert workflows.get(TEAM, workflow.id, include_deleted=True) is None


def test_list_is_the_team_live_workflows_newest_first_with_a_case_insensitive_search(workflows, database, clock):
    older = a_workflow(workflows, "Patient intake", at=clock.now())
    newer = a_workflow(workflows, "Billing (v2)", at=clock.advance(minutes=1), category="Billing")
    gone = a_workflow(workflows, "Intake archive", at=clock.advance(minutes=1))
    workflows.mark_deleted(TEAM, gone.id)
    a_workflow(workflows, "Intake", team=OTHER_TEAM)
    summaries = MongoWorkflowSummaries(database)
    page, total = summaries.list(TEAM, None, 0, 10)
    assert [w.id for w in page] == [newer.id, older.id] and total == 2
    assert [w.id for w in summaries.list(TEAM, "INTAKE", 0, 10)[0]] == [older.id]
    assert [w.id for w in summaries.list(TEAM, "(v2", 0, 10)[0]] == [newer.id]  # the search text is not a pattern
    assert [w.id for w in summaries.list(TEAM, None, 1, 10)[0]] == [older.id]
    assert [w.id for w in summaries.list(TEAM, None, 0, 10, filters={"category": {"$in": ["Billing"]}})[0]] == [
        newer.id
    ]
    # A summary carries the workflow's own fields, never its config
    assert page[0].model_dump(exclude={"workflow_config"}) == newer.model_dump(
        exclude={"workflow_config", "webhook_revision", "webhook_outbox"}
    )
    assert page[0].workflow_config is None


def test_version_numbers_are_reserved_in_sequence_and_added_to_the_workflow(workflows):
    workflow = a_workflow(workflows)
    assert [workflows.reserve_version_number(TEAM, workflow.id) for _ in range(2)] == [1, 2]
    added = workflows.add_version(TEAM, workflow.id, 2, activate=True, user_id="bob")
    assert added.version_numbers == [0, 2] and added.active_version_number == 2 and added.updated_by == "bob"
    assert workflows.reserve_version_number(OTHER_TEAM, workflow.id) is None


def test_only_an_existing_version_can_be_activated(workflows):
    workflow = a_workflow(workflows)
    assert workflows.activate_version(TEAM, workflow.id, 5, "bob") is None
    workflows.add_version(TEAM, workflow.id, 1, activate=False, user_id="bob")
    assert workflows.activate_version(TEAM, workflow.id, 1, "bob").active_version_number == 1


def test_a_version_is_removed_only_if_it_exists_is_not_active_and_is_not_the_last(workflows):
    workflow = a_workflow(workflows)
    assert workflows.remove_version(TEAM, workflow.id, 0) is None  # the last one
    workflows.add_version(TEAM, workflow.id, 1, activate=False, user_id="bob")
    assert workflows.remove_version(TEAM, workflow.id, 7) is None  # missing
    assert workflows.remove_version(TEAM, workflow.id, 0) is None  # active
    removed = workflows.remove_version(TEAM, workflow.id, 1, "carol", webhook_marker=True)
    assert removed.version_numbers == [0] and removed.updated_by == "carol"
    # Counted like every update (add_version was revision 1), with one more pending workflow_updated
    assert removed.webhook_revision == 2 and removed.webhook_outbox == {"workflow_updated": 1}
    assert workflows.get(TEAM, workflow.id).version_numbers == [0]


def test_update_fields_sets_them_and_records_who(workflows, clock):
    workflow = a_workflow(workflows)
    clock.advance(minutes=5)
    updated = workflows.update_fields(TEAM, workflow.id, {"description": "new"}, "bob")
    assert (updated.description, updated.updated_by, updated.updated_at) == ("new", "bob", clock.now())
    assert workflows.update_fields(OTHER_TEAM, workflow.id, {"description": "x"}, "eve") is None


def test_versions_are_read_by_number_listed_in_order_renamed_and_deleted_together(versions, clock):
    workflow_id = "65f1a2b3c4d5e6f708192a3b"
    for number in (2, 0, 1):
        versions.insert(
            WorkflowVersion(
                **audit_fields(TEAM, "alice", T0),
                workflow_id=workflow_id,
                version_number=number,
                workflow_config=WorkflowConfig.model_validate({"nodes": [], "edges": []}),
            )
        )
    assert versions.get(workflow_id, 1).version_number == 1 and versions.get(workflow_id, 9) is None
    assert [v.version_number for v in versions.list(workflow_id, [2, 0, 7])] == [0, 2]
    renamed = versions.rename(workflow_id, 1, "reviewed", "bob")
    assert (renamed.version_name, renamed.updated_by) == ("reviewed", "bob")
    assert versions.rename(workflow_id, 9, "x", "bob") is None
    versions.delete_all(workflow_id)
    assert versions.list(workflow_id, [0, 1, 2]) == []


def a_version(versions, workflow: Workflow, number: int = 0) -> WorkflowVersion:
    version = WorkflowVersion(
        **audit_fields(TEAM, "alice", T0),
        workflow_id=workflow.id,
        version_number=number,
        workflow_config=WorkflowConfig.model_validate({"nodes": [], "edges": []}),
    )
    versions.insert(version)
    return version


def test_a_marked_version_write_counts_its_change_and_carries_the_marker_until_cleared(workflows, versions, clock):
    # Given a version of a workflow
    version = a_version(versions, a_workflow(workflows))
    assert version.webhook_changes == 0 and versions.webhook_marked(10) == []
    # When it is renamed without a marker, then with one, then its config replaced with one
    assert versions.rename(version.workflow_id, 0, "plain", "bob").webhook_changes == 0
    clock.advance(minutes=1)
    renamed = versions.rename(version.workflow_id, 0, "marked", "bob", webhook_marker=True)
    config = WorkflowConfig.model_validate({"nodes": [], "edges": []})
    replaced = versions.replace_config(version.workflow_id, 0, 0, config, "carol", webhook_marker=True)
    # Then each marked write counted one change and left the marker (when it was made)
    assert renamed.webhook_changes == 1 and renamed.webhook_outbox == {"workflow_updated": clock.now()}
    assert replaced.webhook_changes == 2 and replaced.config_revision == 1
    assert [v.version_number for v in versions.webhook_marked(10)] == [0]
    # And the marker is cleared only while no later change was made
    assert versions.clear_webhook_marker(version.workflow_id, 0, 1) is False
    assert versions.clear_webhook_marker(version.workflow_id, 0, 2) is True
    assert versions.get(version.workflow_id, 0).webhook_outbox == {} and versions.webhook_marked(10) == []


def test_a_version_change_is_counted_on_its_workflow_once_on_the_count_read(workflows, versions, clock):
    # Given a workflow (revision 0) whose version 1 made two marked changes, counted on the workflow as none
    workflow = a_workflow(workflows)
    a_version(versions, workflow, 1)
    versions.rename(workflow.id, 1, "a", "bob", webhook_marker=True)
    clock.advance(minutes=3)
    changed = versions.rename(workflow.id, 1, "b", "carol", webhook_marker=True)
    # When they are counted on the count read (none)
    counted = workflows.count_version_changes(changed, 0, changed.updated_at)
    # Then the workflow has two more revisions with pending events, made by the version's writer, then
    assert counted.webhook_revision == 2 and counted.webhook_outbox == {"workflow_updated": 2}
    assert counted.webhook_versions == {"1": 2}
    assert (counted.updated_by, counted.updated_at) == ("carol", clock.now())
    # And counting again on a stale read changes nothing (another writer counted)
    assert workflows.count_version_changes(changed, 0, changed.updated_at) is None
    assert workflows.count_version_changes(changed, 1, changed.updated_at) is None
    assert workflows.get(TEAM, workflow.id).webhook_revision == 2
    # And a deleted workflow counts nothing
    workflows.mark_deleted(TEAM, workflow.id)
    later = versions.rename(workflow.id, 1, "c", "bob", webhook_marker=True)
    assert workflows.count_version_changes(later, 2, later.updated_at) is None


def test_workflow_names_are_the_team_live_workflows_current_names(database, workflows):
    kept, renamed, gone = (a_workflow(workflows, name) for name in ("Kept", "Old name", "Gone"))
    workflows.update_fields(TEAM, renamed.id, {"name": "New name"}, "bob")
    workflows.mark_deleted(TEAM, gone.id)
    names = MongoWorkflowNames(database).names(TEAM, [kept.id, renamed.id, gone.id, "not-an-id"])
    assert names == {kept.id: "Kept", renamed.id: "New name"}
    assert MongoWorkflowNames(database).names(OTHER_TEAM, [kept.id]) == {}


def test_concurrency_limits_are_the_team_licence_and_each_workflow_cap(database, workflows):
    MongoTeamRepository(database).insert(Team(id=TEAM, name="A", max_concurrent_runs=4, created_at=T0))
    capped, uncapped = a_workflow(workflows, max_concurrent_runs=2), a_workflow(workflows)
    foreign = a_workflow(workflows, team=OTHER_TEAM, max_concurrent_runs=9)
    limits = MongoConcurrencyLimits(database)
    assert limits.team_limit(TEAM) == 4 and limits.team_limit("unknown") is None
    assert limits.workflow_limits(TEAM, [capped.id, uncapped.id, foreign.id]) == {capped.id: 2, uncapped.id: 0}
    assert limits.workflow_limits(TEAM, [capped.id]) == {capped.id: 2}
    assert limits.workflow_limits(TEAM, ["not-an-id"]) == {}
