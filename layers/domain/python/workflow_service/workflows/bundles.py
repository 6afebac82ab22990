"""Copies of workflows: clone within the team, export to a portable bundle, import a bundle.

Each writes like ``WorkflowService.create`` (through ``insert_new``): the version documents first, then
the workflow that lists them, carrying its ``workflow_created`` outbox marker, then the event; so a
crash leaves at most unlisted (invisible) version documents or the marker for the reaper, and a retry
makes a fresh copy with its own event (the key is the new workflow's id). Credentials of LLM configs
stay with a clone (same team) and never leave in a bundle: an export masks them and an import drops
the masks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflow_service.errors import FieldProblem, NotFound, ValidationFailed
from workflow_service.models.common import audit_fields
from workflow_service.models.sdk import (
    BundleVersion,
    BundleWorkflow,
    CloneWorkflowRequest,
    ImportBundleRequest,
    WorkflowBundle,
)
from workflow_service.models.workflows import Workflow, WorkflowVersion
from workflow_service.workflows.service import check_config, keep_masked_secrets

if TYPE_CHECKING:
    from workflow_service.models.workflow_config import WorkflowConfig
    from workflow_service.ports.clock import Clock
    from workflow_service.ports.workflows import VersionRepository
    from workflow_service.workflows.service import WorkflowService


class WorkflowCopies:
    """Clone, export and import the workflows of one team."""

    def __init__(self, service: WorkflowService, versions: VersionRepository, clock: Clock) -> None:
        """Writes go through ``service`` (``insert_new``: the version documents, the workflow, its event);
        ``versions`` is read for the versions copied."""
        self._service = service
        self._versions = versions
        self._clock = clock

    def clone(self, team_id: str, user_id: str, workflow_id: str, request: CloneWorkflowRequest) -> Workflow:
        """A new workflow with copies of the chosen versions (numbers kept); 422 naming the field otherwise."""
        source = self._service.get(team_id, workflow_id)
        if request.clone_all_versions and not request.version_numbers_to_clone:
            numbers = list(source.version_numbers)
        else:
            numbers = sorted(set(request.version_numbers_to_clone or []))
            if not numbers:
                raise ValidationFailed(
                    FieldProblem(("body", "version_numbers_to_clone"), "select at least one version to clone")
                )
        missing = [number for number in numbers if number not in source.version_numbers]
        if missing:
            raise ValidationFailed(
                FieldProblem(("body", "version_numbers_to_clone"), f"versions {missing} do not exist", input=missing)
            )
        active = _active_of(source.active_version_number, request.fallback_active_version, numbers)
        versions = self._versions.list(workflow_id, numbers)
        copy = self._workflow(
            team_id,
            user_id,
            BundleWorkflow(
                name=request.name or f"{source.name} (copy)"[:200],
                description=request.description if request.description is not None else source.description,
                category=source.category,
                max_concurrent_runs=source.max_concurrent_runs,
            ),
            active,
            [(v.version_number, v.version_name, v.workflow_config) for v in versions],
        )
        return self._service.get_with_config(team_id, str(copy.id))

    def export(self, team_id: str, workflow_id: str, numbers: list[int], active: int) -> WorkflowBundle:
        """The workflow and the ``numbers`` versions as a bundle (``active`` must be one of them)."""
        workflow = self._service.get(team_id, workflow_id)
        if active not in numbers:
            raise ValidationFailed(
                FieldProblem(("query", "active_version_number"), "must be one of version_numbers", input=active)
            )
        missing = [number for number in numbers if number not in workflow.version_numbers]
        if missing:
            raise NotFound("workflow version", f"{workflow_id}/{missing[0]}")
        return WorkflowBundle(
            workflow=BundleWorkflow(
                name=workflow.name,
                description=workflow.description,
                category=workflow.category,
                max_concurrent_runs=workflow.max_concurrent_runs,
            ),
            active_version_number=active,
            versions=[
                BundleVersion(
                    version_number=version.version_number,
                    version_name=version.version_name,
                    workflow_config=version.workflow_config,
                )
                for version in self._versions.list(workflow_id, numbers)
            ],
        )

    def import_bundle(self, team_id: str, user_id: str, request: ImportBundleRequest) -> Workflow:
        """A new workflow from ``request.bundle``'s chosen versions, each checked like a created one."""
        bundle = request.bundle
        by_number = {version.version_number: version for version in bundle.versions}
        missing = [number for number in request.versions_to_import if number not in by_number]
        if missing:
            raise ValidationFailed(
                FieldProblem(("body", "versions_to_import"), f"versions {missing} are not in the bundle", input=missing)
            )
        numbers = sorted(set(request.versions_to_import))
        if request.active_version_number not in numbers:
            raise ValidationFailed(
                FieldProblem(
                    ("body", "active_version_number"),
                    "must be one of versions_to_import",
                    input=request.active_version_number,
                )
            )
        chosen = []
        for number in numbers:
            version = by_number[number]
            index = bundle.versions.index(version)
            check_config(
                version.workflow_config,
                ("body", "bundle", "versions", index, "workflow_config"),
                self._service.gateway_providers,
            )
            # Masked credentials were never exported: the imported config has none.
            chosen.append((number, version.version_name, keep_masked_secrets(version.workflow_config, None)))
        fields = bundle.workflow
        if request.workflow_name:
            fields = fields.model_copy(update={"name": request.workflow_name})
        workflow = self._workflow(team_id, user_id, fields, request.active_version_number, chosen)
        return self._service.get_with_config(team_id, str(workflow.id))

    def _workflow(
        self,
        team_id: str,
        user_id: str,
        fields: BundleWorkflow,
        active: int,
        versions: list[tuple[int, str, WorkflowConfig]],
    ) -> Workflow:
        now = self._clock.now()
        workflow = Workflow(
            **audit_fields(team_id, user_id, now),
            name=fields.name,
            description=fields.description,
            category=fields.category,
            active_version_number=active,
            max_concurrent_runs=fields.max_concurrent_runs,
            version_numbers=[number for number, _, _ in versions],
        )
        documents = [
            WorkflowVersion(
                **audit_fields(team_id, user_id, now),
                workflow_id=workflow.id,
                version_number=number,
                version_name=name,
                workflow_config=config,
            )
            for number, name, config in versions
        ]
        self._service.insert_new(workflow, documents)
        return workflow


def _active_of(source_active: int, fallback: int | None, numbers: list[int]) -> int:
    if source_active in numbers:
        return source_active
    if fallback is not None and fallback in numbers:
        return fallback
    raise ValidationFailed(
        FieldProblem(
            ("body", "fallback_active_version"),
            f"the source's active version {source_active} is not cloned: "
            f"name one of {numbers} as fallback_active_version",
            input=fallback,
        )
    )
