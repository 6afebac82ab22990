"""Workflows and workflow versions in MongoDB."""

from __future__ import annotations

import builtins
import contextlib
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from workflow_service.adapters.mongo.documents import object_id, stored_id, to_model, to_model_or_none
from workflow_service.adapters.mongo.workflow_summaries import WORKFLOWS
from workflow_service.models.llm import REVEAL_SECRETS
from workflow_service.models.workflows import Workflow, WorkflowVersion

if TYPE_CHECKING:
    from workflow_service.adapters.mongo.store import StoreDatabase
    from workflow_service.ports.clock import Clock

VERSIONS = "workflow_versions"
OUTBOX = "webhook_outbox"
# Configs a version had before an update, kept for the runs that started on them (immutable documents).
REVISIONS = "workflow_version_revisions"

INDEXES: dict[str, list[dict[str, Any]]] = {
    WORKFLOWS: [
        {"keys": [("team_id", ASCENDING), ("deleted_at", ASCENDING), ("created_at", DESCENDING)], "name": "team_list"},
        # The reaper's sweep for deletions a crash left half done: only tombstones are indexed.
        {
            "keys": [("deleted_at", ASCENDING)],
            "name": "tombstones",
            "partialFilterExpression": {"deleted_at": {"$type": "date"}},
        },
        # The reaper's re-emission: workflows (tombstones included) still carrying a webhook outbox marker.
        *(
            {"keys": [(f"{OUTBOX}.{action}", ASCENDING)], "name": f"outbox_{action}", "sparse": True}
            for action in ("workflow_created", "workflow_updated", "workflow_deleted")
        ),
    ],
    VERSIONS: [
        {
            "keys": [("workflow_id", ASCENDING), ("version_number", ASCENDING)],
            "name": "workflow_version_unique",
            "unique": True,
        },
        # The reaper's re-emission: versions whose rename or config update is not yet counted on the workflow.
        {"keys": [(f"{OUTBOX}.workflow_updated", ASCENDING)], "name": "outbox_workflow_updated", "sparse": True},
    ],
    REVISIONS: [
        {
            "keys": [("workflow_id", ASCENDING), ("version_number", ASCENDING), ("config_revision", ASCENDING)],
            "name": "workflow_version_revision_unique",
            "unique": True,
        },
    ],
}

_WORKFLOW_FIELDS = {"workflow_config": 0}
# Every update counts one revision; a marked one also counts one more update whose events are pending.
_REVISION = "webhook_revision"
_UPDATED_MARKER = f"{OUTBOX}.workflow_updated"


def _revised(update: dict[str, Any], webhook_marker: bool) -> dict[str, Any]:
    update.setdefault("$inc", {})[_REVISION] = 1
    if webhook_marker:
        update["$inc"][_UPDATED_MARKER] = 1
    return update


# A version's marked changes: counted on the version, then on its workflow (``webhook_versions.<n>``).
_VERSION_CHANGES = "webhook_changes"


def _version_marked(update: dict[str, Any], webhook_marker: bool, now: datetime) -> dict[str, Any]:
    """``update`` of a version document, carrying the workflow_updated marker when asked (webhooks.outbox)."""
    if webhook_marker:
        update["$set"][_UPDATED_MARKER] = now
        update.setdefault("$inc", {})[_VERSION_CHANGES] = 1
    return update


def _workflow(document: dict[str, Any] | None) -> Workflow | None:
    return to_model_or_none(Workflow, document)


def _version(document: dict[str, Any] | None) -> WorkflowVersion | None:
    return to_model_or_none(WorkflowVersion, document)


def _stored_version(version: WorkflowVersion) -> dict[str, Any]:
    # The store keeps the LLM configs' own keys (every answer masks them); runs need them for their calls.
    document = version.model_dump(
        by_alias=True, mode="json", exclude={"created_at", "updated_at"}, context=REVEAL_SECRETS
    )
    document.update(_id=stored_id(version.id), created_at=version.created_at, updated_at=version.updated_at)
    return document


class MongoWorkflowRepository:
    def __init__(self, database: StoreDatabase, clock: Clock) -> None:
        self._workflows = database[WORKFLOWS]
        self._clock = clock

    def _live(self, team_id: str, workflow_id: str) -> dict[str, Any] | None:
        oid = object_id(workflow_id)
        return None if oid is None else {"_id": oid, "team_id": team_id, "deleted_at": None}

    def _update(
        self,
        team_id: str,
        workflow_id: str,
        condition: dict[str, Any],
        update: dict[str, Any],
        user_id: str | None = None,
    ) -> Workflow | None:
        selector = self._live(team_id, workflow_id)
        if selector is None:
            return None
        update.setdefault("$set", {})["updated_at"] = self._clock.now()
        if user_id is not None:
            update["$set"]["updated_by"] = user_id
        document = self._workflows.find_one_and_update(
            {**selector, **condition}, update, projection=_WORKFLOW_FIELDS, return_document=ReturnDocument.AFTER
        )
        return _workflow(document)

    def insert(self, workflow: Workflow) -> None:
        document = workflow.model_dump(by_alias=True, exclude={"workflow_config"})
        document["_id"] = stored_id(workflow.id)
        document[_REVISION] = workflow.webhook_revision
        if workflow.webhook_outbox:  # absent, never null: later marker writes set keys inside it
            document[OUTBOX] = dict(workflow.webhook_outbox)
        self._workflows.insert_one(
            {**document, "next_version_number": max(workflow.version_numbers) + 1, "deleted_at": None}
        )

    def get(self, team_id: str, workflow_id: str, *, include_deleted: bool = False) -> Workflow | None:
        selector = self._live(team_id, workflow_id)
        if selector is None:
            return None
        if include_deleted:
            selector.pop("deleted_at")
        return _workflow(self._workflows.find_one(selector, projection=_WORKFLOW_FIELDS))

    def update_fields(
        self, team_id: str, workflow_id: str, fields: dict[str, Any], user_id: str, *, webhook_marker: bool = False
    ) -> Workflow | None:
        return self._update(team_id, workflow_id, {}, _revised({"$set": dict(fields)}, webhook_marker), user_id)

    def reserve_version_number(self, team_id: str, workflow_id: str) -> int | None:
        selector = self._live(team_id, workflow_id)
        if selector is None:
            return None
        document = self._workflows.find_one_and_update(
            selector,
            {"$inc": {"next_version_number": 1}},
            projection={"next_version_number": 1},
            return_document=ReturnDocument.BEFORE,
        )
        return None if document is None else int(document["next_version_number"])

    def add_version(
        self,
        team_id: str,
        workflow_id: str,
        version_number: int,
        activate: bool,
        user_id: str,
        *,
        webhook_marker: bool = False,
    ) -> Workflow | None:
        update: dict[str, Any] = {"$addToSet": {"version_numbers": version_number}}
        if activate:
            update["$set"] = {"active_version_number": version_number}
        return self._update(team_id, workflow_id, {}, _revised(update, webhook_marker), user_id)

    def activate_version(
        self, team_id: str, workflow_id: str, version_number: int, user_id: str, *, webhook_marker: bool = False
    ) -> Workflow | None:
        return self._update(
            team_id,
            workflow_id,
            {"version_numbers": version_number},
            _revised({"$set": {"active_version_number": version_number}}, webhook_marker),
            user_id,
        )

    def remove_version(
        self,
        team_id: str,
        workflow_id: str,
        version_number: int,
        user_id: str | None = None,
        *,
        webhook_marker: bool = False,
    ) -> Workflow | None:
        # One conditional update: exists, is not active, and at least one other version remains.
        condition = {
            "version_numbers": version_number,
            "active_version_number": {"$ne": version_number},
            "version_numbers.1": {"$exists": True},
        }
        update = _revised({"$pull": {"version_numbers": version_number}}, webhook_marker)
        return self._update(team_id, workflow_id, condition, update, user_id)

    def mark_deleted(self, team_id: str, workflow_id: str, *, webhook_marker: bool = False) -> Workflow | None:
        oid = object_id(workflow_id)
        if oid is None:
            return None
        selector = {"_id": oid, "team_id": team_id}
        now = self._clock.now()
        marked = {f"{OUTBOX}.workflow_deleted": now} if webhook_marker else {}
        document = self._workflows.find_one_and_update(
            {**selector, "deleted_at": None},
            {"$set": {"deleted_at": now, **marked}},
            projection=_WORKFLOW_FIELDS,
            return_document=ReturnDocument.AFTER,
        )
        if document is None:
            # Already marked deleted: returned anyway so that a retried DELETE finishes the cascade.
            document = self._workflows.find_one(selector, projection=_WORKFLOW_FIELDS)
        return _workflow(document)

    def abandoned_deletions(self, marked_before: datetime, limit: int) -> builtins.list[Workflow]:
        """ports.WorkflowRepository: tombstones through the partial ``tombstones`` index, oldest first."""
        documents = self._workflows.find(
            {"deleted_at": {"$type": "date", "$lt": marked_before}},
            projection=_WORKFLOW_FIELDS,
            sort=[("deleted_at", ASCENDING)],
            limit=limit,
        )
        return [to_model(Workflow, d) for d in documents]

    def delete(self, team_id: str, workflow_id: str) -> None:
        oid = object_id(workflow_id)
        if oid is not None:
            self._workflows.delete_one({"_id": oid, "team_id": team_id})

    def clear_webhook_marker(self, workflow_id: str, action: str, *, revision: int | None = None) -> bool:
        """ports.webhooks.WorkflowOutboxMarks: one conditional write."""
        marker = f"{OUTBOX}.{action}"
        selector: dict[str, Any] = {"_id": object_id(workflow_id), marker: {"$exists": True}}
        if revision is not None:
            selector[_REVISION] = revision
        return self._workflows.update_one(selector, {"$unset": {marker: ""}}).matched_count == 1

    def webhook_marked(self, action: str, limit: int) -> builtins.list[Workflow]:
        """Workflows carrying ``action``'s marker, through its sparse index; tombstones included."""
        marker = f"{OUTBOX}.{action}"
        documents = self._workflows.find({marker: {"$exists": True}}, projection=_WORKFLOW_FIELDS, limit=limit)
        return [to_model(Workflow, d) for d in documents]

    def count_version_changes(
        self, version: WorkflowVersion, counted: int, changed_at: datetime | None
    ) -> Workflow | None:
        """ports.webhooks.WorkflowOutboxMarks: one conditional write on the count read."""
        field = f"webhook_versions.{version.version_number}"
        added = version.webhook_changes - counted
        selector = {
            "_id": object_id(version.workflow_id),
            "deleted_at": None,
            # Never stored as 0: a workflow that counted none of the version's changes has no entry.
            field: counted if counted else None,
        }
        update: dict[str, Any] = {
            "$set": {field: version.webhook_changes, "updated_by": version.updated_by},
            "$inc": {_REVISION: added, _UPDATED_MARKER: added},
        }
        if changed_at is not None:
            # The version's change is the workflow's latest only if nothing later touched the workflow.
            update["$max"] = {"updated_at": changed_at}
        document = self._workflows.find_one_and_update(
            selector, update, projection=_WORKFLOW_FIELDS, return_document=ReturnDocument.AFTER
        )
        return _workflow(document)


class MongoVersionRepository:
    def __init__(self, database: StoreDatabase, clock: Clock) -> None:
        self._versions = database[VERSIONS]
        self._revisions = database[REVISIONS]
        self._clock = clock

    def insert(self, version: WorkflowVersion) -> None:
        self._versions.insert_one(_stored_version(version))

    def get(self, workflow_id: str, version_number: int) -> WorkflowVersion | None:
        return _version(self._versions.find_one({"workflow_id": workflow_id, "version_number": version_number}))

    def list(self, workflow_id: str, version_numbers: builtins.list[int]) -> builtins.list[WorkflowVersion]:
        documents = self._versions.find(
            {"workflow_id": workflow_id, "version_number": {"$in": version_numbers}},
            sort=[("version_number", ASCENDING)],
        )
        return [to_model(WorkflowVersion, d) for d in documents]

    def rename(
        self,
        workflow_id: str,
        version_number: int,
        version_name: str,
        user_id: str,
        *,
        webhook_marker: bool = False,
    ) -> WorkflowVersion | None:
        now = self._clock.now()
        update: dict[str, Any] = {"$set": {"version_name": version_name, "updated_by": user_id, "updated_at": now}}
        document = self._versions.find_one_and_update(
            {"workflow_id": workflow_id, "version_number": version_number},
            _version_marked(update, webhook_marker, now),
            return_document=ReturnDocument.AFTER,
        )
        return _version(document)

    def delete_all(self, workflow_id: str) -> None:
        self._revisions.delete_many({"workflow_id": workflow_id})
        self._versions.delete_many({"workflow_id": workflow_id})

    def archive_revision(self, version: WorkflowVersion) -> None:
        document = _stored_version(version)
        document.pop("_id")
        # A duplicate was archived by an earlier attempt: revisions never change.
        with contextlib.suppress(DuplicateKeyError):
            self._revisions.insert_one(document)

    def get_revision(self, workflow_id: str, version_number: int, revision: int) -> WorkflowVersion | None:
        current = self.get(workflow_id, version_number)
        if current is not None and current.config_revision == revision:
            return current
        document = self._revisions.find_one(
            {"workflow_id": workflow_id, "version_number": version_number, "config_revision": revision}
        )
        return _version(document)

    def replace_config(
        self,
        workflow_id: str,
        version_number: int,
        expected_revision: int,
        config: Any,
        user_id: str,
        *,
        webhook_marker: bool = False,
    ) -> WorkflowVersion | None:
        # Revision 0 is the default of documents written before revisions existed: match a missing field too.
        revision_condition: Any = expected_revision if expected_revision else {"$in": [0, None]}
        now = self._clock.now()
        update: dict[str, Any] = {
            "$set": {
                "workflow_config": config.model_dump(by_alias=True, mode="json", context=REVEAL_SECRETS),
                "config_revision": expected_revision + 1,
                "updated_by": user_id,
                "updated_at": now,
            }
        }
        document = self._versions.find_one_and_update(
            {"workflow_id": workflow_id, "version_number": version_number, "config_revision": revision_condition},
            _version_marked(update, webhook_marker, now),
            return_document=ReturnDocument.AFTER,
        )
        return _version(document)

    def clear_webhook_marker(self, workflow_id: str, version_number: int, changes: int) -> bool:
        """ports.webhooks.VersionOutboxMarks: only while the version has made no change since ``changes``."""
        selector = {"workflow_id": workflow_id, "version_number": version_number, _VERSION_CHANGES: changes}
        return self._versions.update_one(selector, {"$unset": {_UPDATED_MARKER: ""}}).matched_count == 1

    def webhook_marked(self, limit: int) -> builtins.list[WorkflowVersion]:
        """Versions still carrying the workflow_updated marker, through its sparse index."""
        documents = self._versions.find({_UPDATED_MARKER: {"$exists": True}}, limit=limit)
        return [to_model(WorkflowVersion, d) for d in documents]
