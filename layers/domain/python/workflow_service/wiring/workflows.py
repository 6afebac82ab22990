"""Workflows and their versions, and who winds down their objects when a workflow is deleted."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workflow_service.wiring import Services


class WorkflowsContainer:
    def __init__(self, services: Services) -> None:
        self._services = services
        self._core = services.core

    @cached_property
    def service(self):
        from workflow_service.adapters.mongo.workflows import MongoVersionRepository, MongoWorkflowRepository
        from workflow_service.workflows.service import WorkflowService

        database, clock = self._core.database, self._core.clock
        return WorkflowService(
            MongoWorkflowRepository(database, clock),
            MongoVersionRepository(database, clock),
            clock,
            deletion_listeners=lambda: self.deletion_listeners,
            gateway_providers=self._services.settings.llm.gateway_providers,
        )

    @property
    def deletion_listeners(self) -> list[Any]:
        """Capabilities owning objects of a workflow, wound down when it is deleted."""
        services = self._services
        return [services.schedules.deletion_listener, services.triggers.deletion_listener, services.runs.lifecycle]
