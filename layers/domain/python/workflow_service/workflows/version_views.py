"""Read-only views over versions the product SDK offers: the team's active versions and version diffs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workflow_service.models.sdk import (
    ActiveVersionList,
    ActiveVersionsQuery,
    EdgeDiff,
    FieldDiff,
    NodeDiff,
    VersionDiff,
)

if TYPE_CHECKING:
    from workflow_service.models.workflow_config import WorkflowConfig
    from workflow_service.ports.workflows import VersionRepository, WorkflowSummaries
    from workflow_service.workflows.service import WorkflowService


class VersionViews:
    def __init__(self, service: WorkflowService, workflows: WorkflowSummaries, versions: VersionRepository) -> None:
        self._service = service
        self._workflows = workflows
        self._versions = versions

    def list_active(self, team_id: str, user_id: str, query: ActiveVersionsQuery) -> ActiveVersionList:
        """One active version per workflow of the team, newest workflow first, filtered like the SDK asks."""
        if query.favorites:
            # The service keeps no favorites: none of the caller's workflows is one.
            return ActiveVersionList(versions=[], total=0, page=query.page, size=query.size)
        filters: dict[str, Any] = {}
        if query.created_by_me:
            filters["created_by"] = user_id
        categories = [name.strip() for name in (query.categories or "").split(",") if name.strip()]
        if query.category:
            categories.append(query.category)
        if categories:
            filters["category"] = {"$in": categories}
        workflows, total = self._workflows.list(
            team_id, None, (query.page - 1) * query.size, query.size, filters=filters
        )
        versions = []
        for workflow in workflows:
            version = self._versions.get(str(workflow.id), workflow.active_version_number)
            if version is None:
                continue
            if query.logical_id and version.workflow_config.logical_id != query.logical_id:
                continue
            versions.append(version)
        if query.logical_id:
            total = len(versions)
        return ActiveVersionList(versions=versions, total=total, page=query.page, size=query.size)

    def diff(self, team_id: str, workflow_id: str, number1: int, number2: int) -> VersionDiff:
        """What changed from version ``number1`` to ``number2``: workflow fields, nodes and edges by logical_id."""
        first = self._service.get_version(team_id, workflow_id, number1)
        second = self._service.get_version(team_id, workflow_id, number2)
        old, new = _dumped(first.workflow_config), _dumped(second.workflow_config)
        workflow_changes = field_changes(
            {k: v for k, v in old.items() if k not in ("nodes", "edges")},
            {k: v for k, v in new.items() if k not in ("nodes", "edges")},
        )
        nodes = [NodeDiff(**entry) for entry in _item_diffs(old["nodes"], new["nodes"], "node_type")]
        edges = [EdgeDiff(**entry) for entry in _item_diffs(old["edges"], new["edges"], "edge_type")]
        summary = {"workflow_config_changes": len(workflow_changes)}
        for kind, entries in (("nodes", nodes), ("edges", edges)):
            for status in ("added", "removed", "modified"):
                summary[f"{kind}_{status}"] = sum(1 for entry in entries if entry.status == status)
        return VersionDiff(
            version1_number=first.version_number,
            version1_name=first.version_name,
            version2_number=second.version_number,
            version2_name=second.version_name,
            workflow_config_changes=workflow_changes,
            nodes=nodes,
            edges=edges,
            summary=summary,
        )


def _dumped(config: WorkflowConfig) -> dict[str, Any]:
    # Masked (the default serialization): a diff never shows a credential, old or new.
    return config.model_dump(mode="json")


def _item_diffs(old: list[dict[str, Any]], new: list[dict[str, Any]], type_key: str) -> list[dict[str, Any]]:
    before = {item["logical_id"]: item for item in old}
    after = {item["logical_id"]: item for item in new}
    entries: list[dict[str, Any]] = []
    for logical_id in [*before, *(key for key in after if key not in before)]:
        item = after.get(logical_id) or before[logical_id]
        entry = {"logical_id": logical_id, "name": item.get("name"), type_key: item.get("type")}
        if logical_id not in after:
            entries.append({**entry, "status": "removed"})
        elif logical_id not in before:
            entries.append({**entry, "status": "added"})
        elif changes := field_changes(before[logical_id], after[logical_id]):
            entries.append({**entry, "status": "modified", "changes": changes})
    return entries


def field_changes(old: dict[str, Any], new: dict[str, Any]) -> list[FieldDiff]:
    """Leaf-level differences between two JSON objects, by dotted path (lists compare whole)."""
    flat_old, flat_new = _flatten(old), _flatten(new)
    return [
        FieldDiff(path=path, old_value=flat_old.get(path), new_value=flat_new.get(path))
        for path in sorted(set(flat_old) | set(flat_new))
        if flat_old.get(path) != flat_new.get(path)
    ]


def _flatten(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, item in value.items():
        path = f"{prefix}{key}"
        if isinstance(item, dict) and item:
            flat.update(_flatten(item, f"{path}."))
        else:
            flat[path] = item
    return flat
