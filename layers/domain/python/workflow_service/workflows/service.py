"""Workflows and their versions: the rules, independent of storage and HTTP.

Write order is chosen so that a crash at any point leaves nothing visible half-done and a retry
converges: a version document is written before the workflow lists it, and a version is unlisted
before its document is removed (an unlisted version document is invisible).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from workflow_service.errors import Conflict, FieldProblem, NotFound, ValidationFailed
from workflow_service.models.common import audit_fields
from workflow_service.models.hydrated import as_caller_located
from workflow_service.models.llm import LlmsConfig, llm_config_problems
from workflow_service.models.webhook_actions import WebhookAction
from workflow_service.models.workflow_api import (
    CreateVersionRequest,
    CreateWorkflowRequest,
    UpdateWorkflowRequest,
)
from workflow_service.models.workflow_config import WorkflowConfig, validate_workflow_config
from workflow_service.models.workflows import INITIAL_VERSION_NAME, Workflow, WorkflowVersion, default_version_name
from workflow_service.workflows.reads import WorkflowReads

if TYPE_CHECKING:
    from workflow_service.ports.clock import Clock
    from workflow_service.ports.workflows import VersionRepository, WorkflowDeletionListener, WorkflowRepository
    from workflow_service.webhooks.outbox import WorkflowOutbox

_CREATED, _UPDATED, _DELETED = (
    WebhookAction.WORKFLOW_CREATED,
    WebhookAction.WORKFLOW_UPDATED,
    WebhookAction.WORKFLOW_DELETED,
)


def check_config(
    config: WorkflowConfig,
    loc_prefix: tuple[str | int, ...],
    gateway_providers: frozenset[str] | None = None,
    *,
    hydrated: bool = False,
) -> None:
    """Raise ValidationFailed (422) listing every structural problem of ``config``; with
    ``gateway_providers`` (this deployment's), also every LLM config it cannot call.

    ``hydrated``: the caller sent the SDK's shape, so node and edge problems name ``node_configs[i]`` /
    ``edge_configs[i]``.
    """
    problems = validate_workflow_config(config, loc_prefix=loc_prefix)
    if gateway_providers is not None:
        problems += llm_problems(config, loc_prefix, gateway_providers)
    if problems:
        raise ValidationFailed(as_caller_located(problems, loc_prefix) if hydrated else problems)


def llm_problems(
    config: WorkflowConfig, loc_prefix: tuple[str | int, ...], gateway_providers: frozenset[str]
) -> list[FieldProblem]:
    """Every LLM config of ``config`` (the workflow's and each node's) this deployment cannot call."""
    located: list[tuple[LlmsConfig, tuple[str | int, ...]]] = [(config.llms_config, (*loc_prefix, "llms_config"))]
    located += [
        (node.llms_config, (*loc_prefix, "nodes", index, "llms_config"))
        for index, node in enumerate(config.nodes)
        if node.llms_config is not None
    ]
    return [
        FieldProblem(loc, message, "value_error")
        for llm_config, where in located
        for loc, message in llm_config_problems(llm_config, where, gateway_providers)
    ]


def keep_masked_secrets(config: WorkflowConfig, previous: WorkflowConfig | None) -> WorkflowConfig:
    """``config`` with the masked credentials a client sent back (as it read them) restored from
    ``previous``, matched by the LLM config's ``logical_id``: a read-modify-write keeps the keys.
    A mask with nothing to restore becomes no credential (never the mask itself)."""
    known: dict[str, LlmsConfig] = {}
    if previous is not None:
        known[previous.llms_config.logical_id] = previous.llms_config
        known.update({node.llms_config.logical_id: node.llms_config for node in previous.nodes if node.llms_config})
    nodes = [
        node.model_copy(
            update={"llms_config": node.llms_config.with_secrets_from(known.get(node.llms_config.logical_id))}
        )
        if node.llms_config
        else node
        for node in config.nodes
    ]
    workflow_llm = config.llms_config.with_secrets_from(known.get(config.llms_config.logical_id))
    return config.model_copy(update={"llms_config": workflow_llm, "nodes": nodes})


class WorkflowService(WorkflowReads):
    """Create, read, update and delete workflows and versions of one team (the reads: ``WorkflowReads``)."""

    def __init__(
        self,
        workflows: WorkflowRepository,
        versions: VersionRepository,
        clock: Clock,
        deletion_listeners: Callable[[], Sequence[WorkflowDeletionListener]] = tuple,
        *,
        webhooks: WorkflowOutbox | None = None,
        gateway_providers: frozenset[str] = frozenset(),
        dispatch_team: Callable[[str], None] | None = None,
    ) -> None:
        """``deletion_listeners`` is called when needed: the listeners themselves depend on this service.
        ``webhooks``: the outbox of workflow events (created, updated, deleted); none without it.
        ``gateway_providers``: the SDK providers this deployment has an LLM gateway for (others are refused).
        ``dispatch_team`` starts a team's queued runs that a changed workflow cap lets in (it never raises)."""
        self._dispatch_team = dispatch_team or (lambda team_id: None)
        super().__init__(workflows, versions)
        self._webhooks = webhooks
        self.gateway_providers = gateway_providers
        self._clock = clock
        self._deletion_listeners = deletion_listeners

    # -- workflows ------------------------------------------------------------------------------

    def create(self, team_id: str, user_id: str, request: CreateWorkflowRequest) -> Workflow:
        config = request.version_config()
        location, hydrated = request.config_location()
        check_config(config, location, self.gateway_providers, hydrated=hydrated)
        config = keep_masked_secrets(config, None)
        if not config.name:
            config = config.model_copy(update={"name": request.name, "description": request.description})
        now = self._clock.now()
        workflow = Workflow(
            **audit_fields(team_id, user_id, now),
            name=request.name,
            description=request.description,
            category=request.category,
            active_version_number=0,
            max_concurrent_runs=request.max_concurrent_runs,
            version_numbers=[0],
        )
        self.insert_new(workflow, [self._new_version(workflow, 0, INITIAL_VERSION_NAME, config, user_id)])
        return workflow.model_copy(update={"workflow_config": config})

    def insert_new(self, workflow: Workflow, versions: Sequence[WorkflowVersion]) -> None:
        """Store a new workflow (a created, cloned or imported one) and write its ``workflow_created`` event.

        The version documents go first (unlisted, so invisible), then the workflow that lists them,
        carrying the outbox marker in that insert when the team listens: a crash before the insert leaves
        nothing visible and no event owed, a crash after it leaves the marker to the reaper.
        """
        if self._wants(workflow.owner_team_id, _CREATED):
            workflow.webhook_outbox = {_CREATED.value: workflow.created_at or self._clock.now()}
        for version in versions:
            self._versions.insert(version)
        self._workflows.insert(workflow)
        self._emit(workflow, _CREATED)

    def update(self, team_id: str, user_id: str, workflow_id: str, request: UpdateWorkflowRequest) -> Workflow:
        fields = request.model_dump(exclude_unset=True)
        if fields.get("name", "") is None:
            raise ValidationFailed(FieldProblem(("body", "name"), "name cannot be null", "value_error"))
        if not fields:
            return self.get_with_config(team_id, workflow_id)
        updated = self._workflows.update_fields(
            team_id, workflow_id, fields, user_id, webhook_marker=self._wants(team_id, _UPDATED)
        )
        if updated is None:
            raise NotFound("workflow", workflow_id)
        self._emit(updated, _UPDATED)
        return self.get_with_config(team_id, workflow_id)

    def set_concurrency(self, team_id: str, user_id: str, workflow_id: str, limit: int) -> Workflow:
        workflow = self._workflows.update_fields(
            team_id, workflow_id, {"max_concurrent_runs": limit}, user_id, webhook_marker=self._wants(team_id, _UPDATED)
        )
        if workflow is None:
            raise NotFound("workflow", workflow_id)
        self._emit(workflow, _UPDATED)
        # A raised (or removed) cap lets queued runs in now, not at the reaper's next sweep.
        self._dispatch_team(team_id)
        return workflow

    def delete(self, team_id: str, workflow_id: str) -> None:
        """Delete a workflow and its versions; runs stay readable, live runs and schedules are wound down.

        The workflow is first marked deleted (every read then answers 404 and nothing new can start),
        then its webhook events are written, then each capability winds down its objects, then the
        documents go. A retry after a crash or a failure (StoreUnavailable, a 503) repeats the idempotent
        steps and finishes; so does the reaper, which finds the tombstone.
        """
        marked = self._workflows.mark_deleted(team_id, workflow_id, webhook_marker=self._wants(team_id, _DELETED))
        if marked is None:
            raise NotFound("workflow", workflow_id)
        # The markers go with the document: an event that cannot be written fails the delete here,
        # leaving the tombstone (and its marker) to the retry or the reaper.
        if self._webhooks is not None:
            self._webhooks.emit_before_delete(marked)
        for listener in self._deletion_listeners():
            listener.on_workflow_deleted(team_id, workflow_id)
        self._versions.delete_all(workflow_id)
        self._workflows.delete(team_id, workflow_id)

    # -- versions -------------------------------------------------------------------------------

    def create_version(
        self, team_id: str, user_id: str, workflow_id: str, request: CreateVersionRequest
    ) -> tuple[WorkflowVersion, int]:
        """A new version (cloned from the source version unless a config is given) and the parent active one."""
        workflow = self.get(team_id, workflow_id)
        given = request.version_config()
        if given is not None:
            check_config(given, ("body", "workflow_config"), self.gateway_providers, hydrated=request.hydrated)
            source = self.get_version(team_id, workflow_id, request.source_version_number)
            config = keep_masked_secrets(given, source.workflow_config)
        else:
            source_number = request.source_version_number
            if source_number is not None and source_number not in workflow.version_numbers:
                raise ValidationFailed(
                    FieldProblem(
                        ("body", "source_version_number"),
                        f"version {source_number} does not exist",
                        "value_error",
                        source_number,
                    )
                )
            config = self.get_version(team_id, workflow_id, source_number).workflow_config
        number = self._workflows.reserve_version_number(team_id, workflow_id)
        if number is None:
            raise NotFound("workflow", workflow_id)
        name = request.version_name or default_version_name(number)
        version = self._new_version(workflow, number, name, config, user_id)
        self._versions.insert(version)
        added = self._workflows.add_version(
            team_id, workflow_id, number, request.mark_as_active, user_id, webhook_marker=self._wants(team_id, _UPDATED)
        )
        if added is None:
            raise NotFound("workflow", workflow_id)
        self._emit(added, _UPDATED)
        return version, workflow.active_version_number

    def rename_version(self, team_id: str, user_id: str, workflow_id: str, number: int, name: str) -> WorkflowVersion:
        """The version under its new name, with a ``workflow_updated`` event; renaming it to the name it has
        changes nothing and makes no event (so a retried rename makes one event, not two)."""
        workflow, current = self.get_workflow_and_version(team_id, workflow_id, number)
        if current.version_name == name:
            # A first attempt that died between its write and its event left its marker: count it now.
            self.emit_version_changes(current, workflow)
            return current
        version = self._versions.rename(
            workflow_id, number, name, user_id, webhook_marker=self._wants(team_id, _UPDATED)
        )
        if version is None:
            raise NotFound("workflow version", f"{workflow_id}/{number}")
        self.emit_version_changes(version, workflow)
        return version

    def activate_version(self, team_id: str, user_id: str, workflow_id: str, number: int) -> Workflow:
        activated = self._workflows.activate_version(
            team_id, workflow_id, number, user_id, webhook_marker=self._wants(team_id, _UPDATED)
        )
        if activated is None:
            self.get(team_id, workflow_id)
            raise NotFound("workflow version", f"{workflow_id}/{number}")
        self._emit(activated, _UPDATED)
        return self.get_with_config(team_id, workflow_id)

    def delete_version(self, team_id: str, workflow_id: str, number: int, user_id: str | None = None) -> None:
        """Remove a version from the workflow (never the active or the last one), with a ``workflow_updated``
        event; a retried delete finds the version gone (404) and makes no second event.

        Its document stays, unlisted, so runs that started on it finish on it (and go with the workflow);
        schedules pinned to it fail at firing with "version not found".
        """
        marker = self._wants(team_id, _UPDATED)
        removed = self._workflows.remove_version(team_id, workflow_id, number, user_id, webhook_marker=marker)
        if removed is None:
            workflow = self.get(team_id, workflow_id)
            if number not in workflow.version_numbers:
                raise NotFound("workflow version", f"{workflow_id}/{number}")
            if len(workflow.version_numbers) == 1:
                raise Conflict(f"version {number} is the only version of the workflow and cannot be deleted")
            raise Conflict(f"version {number} is the active version; activate another version first")
        self._emit(removed, _UPDATED)

    def listens(self, team_id: str, action: WebhookAction) -> bool:
        """Whether a write of the team's that causes ``action`` must carry its outbox marker (webhooks.outbox)."""
        return self._wants(team_id, action)

    def emit_version_changes(self, version: WorkflowVersion, workflow: Workflow | None = None) -> None:
        """Count a version write's marked changes (a rename, a config update) as updates of ``workflow`` (as
        read before the write) and write their ``workflow_updated`` events; never raises."""
        if self._webhooks is not None:
            self._webhooks.emit_version_changes(version, workflow)

    def _wants(self, team_id: str, action: WebhookAction) -> bool:
        return self._webhooks is not None and self._webhooks.wants(team_id, action)

    def _emit(self, workflow: Workflow, action: WebhookAction) -> None:
        if self._webhooks is not None:
            self._webhooks.emit(workflow, action)

    def _new_version(
        self, workflow: Workflow, number: int, name: str, config: WorkflowConfig, user_id: str
    ) -> WorkflowVersion:
        now = self._clock.now()
        return WorkflowVersion(
            **audit_fields(workflow.team_id, user_id, now),
            workflow_id=workflow.id,
            version_number=number,
            version_name=name,
            workflow_config=config,
        )
