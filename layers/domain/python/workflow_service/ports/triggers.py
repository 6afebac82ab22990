"""Inbound triggers (webhook and SQS)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from workflow_service.models.triggers import Trigger


class TriggerRepository(Protocol):
    """Webhook and SQS triggers (collection ``workflow_triggers``). The webhook secret is stored with
    its trigger but only ``find_webhook`` returns it."""

    def insert(self, trigger: Trigger, secret: str | None) -> None:
        """Raises DuplicateKey when ``trigger`` is an SQS trigger and its workflow already has one."""
        ...

    def get(self, team_id: str, workflow_id: str, trigger_id: str) -> Trigger | None: ...

    def list_for_workflow(self, team_id: str, workflow_id: str) -> list[Trigger]: ...

    def update_fields(
        self, team_id: str, workflow_id: str, trigger_id: str, fields: dict[str, Any], user_id: str
    ) -> Trigger | None: ...

    def replace_secret(
        self, team_id: str, workflow_id: str, trigger_id: str, secret: str, user_id: str
    ) -> Trigger | None:
        """Sets a webhook trigger's new secret; None if no such webhook trigger."""
        ...

    def delete(self, team_id: str, workflow_id: str, trigger_id: str) -> bool: ...

    def delete_for_workflow(self, team_id: str, workflow_id: str) -> int: ...

    def find_webhook(self, trigger_id: str) -> tuple[Trigger, str] | None:
        """The webhook trigger and its secret, whatever its team (the public endpoint's lookup)."""
        ...

    def find_sqs_trigger(self, workflow_id: str) -> Trigger | None:
        """The workflow's SQS trigger, whatever its team (the trigger queue names only the workflow)."""
        ...
