"""Workflow lists in MongoDB: the ``workflows`` collection read without configs (ports.WorkflowSummaries).

Apart from ``adapters.mongo.workflows`` so that a list imports no config model (``models.workflow_summaries``).
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from pymongo import DESCENDING

from workflow_service.adapters.mongo.documents import object_id, search_regex, to_model
from workflow_service.models.workflow_summaries import WorkflowSummary

if TYPE_CHECKING:
    from workflow_service.adapters.mongo.store import StoreDatabase

WORKFLOWS = "workflows"
# What a summary shows: the config lives on the versions, and the webhook bookkeeping is never returned.
_SUMMARY_FIELDS = {"workflow_config": 0, "webhook_revision": 0, "webhook_outbox": 0, "webhook_versions": 0}


class MongoWorkflowSummaries:
    """Implements ports.WorkflowSummaries; the ``team_list`` index serves the filter and the order."""

    def __init__(self, database: StoreDatabase) -> None:
        self._workflows = database[WORKFLOWS]

    def list(
        self, team_id: str, search: str | None, skip: int, limit: int, *, filters: dict[str, Any] | None = None
    ) -> tuple[builtins.list[WorkflowSummary], int]:
        selector: dict[str, Any] = {**(filters or {}), "team_id": team_id, "deleted_at": None}
        if search:
            selector["name"] = search_regex(search)
        documents = self._workflows.find(
            selector, projection=_SUMMARY_FIELDS, sort=[("created_at", DESCENDING)], skip=skip, limit=limit
        )
        return [to_model(WorkflowSummary, d) for d in documents], self._workflows.count_documents(selector)


class MongoWorkflowNames:
    """``ports.WorkflowNames`` over the workflows collection (names only): schedule listings and run events."""

    def __init__(self, database: StoreDatabase) -> None:
        self._workflows = database[WORKFLOWS]

    def names(self, team_id: str, workflow_ids: list[str]) -> dict[str, str]:
        oids = [oid for oid in (object_id(value) for value in set(workflow_ids)) if oid is not None]
        if not oids:
            return {}
        documents = self._workflows.find(
            {"_id": {"$in": oids}, "team_id": team_id, "deleted_at": None}, projection={"name": 1}
        )
        return {str(document["_id"]): document.get("name", "") for document in documents}
