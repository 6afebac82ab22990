"""Trigger management: create, list, enable/disable, delete and rotate the secret of a workflow's triggers.

Every operation first reads the caller's workflow, so a missing, deleted or other team's workflow is
a 404 before any trigger is touched; triggers are also stored with their team, so a trigger id of
another team or workflow is a 404 as well.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from workflow_service.errors import Conflict, NotFound
from workflow_service.models.common import audit_fields
from workflow_service.models.triggers import (
    CreateTriggerRequest,
    Trigger,
    TriggerKind,
    TriggerWithSecret,
    UpdateTriggerRequest,
)
from workflow_service.ports.errors import DuplicateKey
from workflow_service.triggers.signatures import generate_secret

if TYPE_CHECKING:
    from workflow_service.models.workflows import Workflow
    from workflow_service.ports.clock import Clock
    from workflow_service.ports.triggers import TriggerRepository


class WorkflowLookup(Protocol):
    def get(self, team_id: str, workflow_id: str) -> Workflow:
        """The team's live workflow; raises NotFound otherwise."""
        ...


class TriggerService:
    """The management API of triggers (the routes under /workflows/{workflow_id}/triggers)."""

    def __init__(self, triggers: TriggerRepository, workflows: WorkflowLookup, clock: Clock) -> None:
        self._triggers = triggers
        self._workflows = workflows
        self._clock = clock

    def create(self, team_id: str, user_id: str, workflow_id: str, request: CreateTriggerRequest) -> TriggerWithSecret:
        """A new trigger; a webhook trigger's secret is in this response and never again.

        Raises Conflict for a second SQS trigger on one workflow: a queue message names only the
        workflow, so two SQS triggers could not be told apart.
        """
        self._workflows.get(team_id, workflow_id)
        now = self._clock.now()
        secret = generate_secret() if request.type == TriggerKind.WEBHOOK else None
        trigger = Trigger(
            **audit_fields(team_id, user_id, now),
            workflow_id=workflow_id,
            type=request.type,
            name=request.name,
            enabled=request.enabled,
            has_secret=secret is not None,
            secret_rotated_at=now if secret else None,
        )
        try:
            self._triggers.insert(trigger, secret)
        except DuplicateKey:
            raise Conflict(
                f"workflow {workflow_id} already has an SQS trigger; enable, disable or delete that one"
            ) from None
        return TriggerWithSecret.of(trigger, secret)

    def list(self, team_id: str, workflow_id: str) -> list[Trigger]:
        self._workflows.get(team_id, workflow_id)
        return self._triggers.list_for_workflow(team_id, workflow_id)

    def get(self, team_id: str, workflow_id: str, trigger_id: str) -> Trigger:
        self._workflows.get(team_id, workflow_id)
        trigger = self._triggers.get(team_id, workflow_id, trigger_id)
        if trigger is None:
            raise NotFound("trigger", trigger_id)
        return trigger

    def update(
        self, team_id: str, user_id: str, workflow_id: str, trigger_id: str, request: UpdateTriggerRequest
    ) -> Trigger:
        """Enable, disable or rename; a disabled trigger starts no runs (its webhook answers 404)."""
        fields = request.model_dump(exclude_unset=True)
        if not fields:
            return self.get(team_id, workflow_id, trigger_id)
        self._workflows.get(team_id, workflow_id)
        trigger = self._triggers.update_fields(team_id, workflow_id, trigger_id, fields, user_id)
        if trigger is None:
            raise NotFound("trigger", trigger_id)
        return trigger

    def delete(self, team_id: str, workflow_id: str, trigger_id: str) -> None:
        self._workflows.get(team_id, workflow_id)
        if not self._triggers.delete(team_id, workflow_id, trigger_id):
            raise NotFound("trigger", trigger_id)

    def rotate_secret(self, team_id: str, user_id: str, workflow_id: str, trigger_id: str) -> TriggerWithSecret:
        """A new webhook secret, effective at once: calls signed with the old one are rejected from now on."""
        trigger = self.get(team_id, workflow_id, trigger_id)
        if trigger.type != TriggerKind.WEBHOOK:
            raise Conflict(f"trigger {trigger_id} is an SQS trigger; only webhook triggers have a secret")
        secret = generate_secret()
        rotated = self._triggers.replace_secret(team_id, workflow_id, trigger_id, secret, user_id)
        if rotated is None:
            raise NotFound("trigger", trigger_id)
        return TriggerWithSecret.of(rotated, secret)


class TriggerDeletionListener:
    """Removes a deleted workflow's triggers (idempotent, as a retried workflow DELETE requires).

    Needs only the repository, so that building it never pulls in the services that start runs.
    """

    def __init__(self, triggers: TriggerRepository) -> None:
        self._triggers = triggers

    def on_workflow_deleted(self, team_id: str, workflow_id: str) -> None:
        self._triggers.delete_for_workflow(team_id, workflow_id)
