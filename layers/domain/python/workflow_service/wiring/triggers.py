"""Triggers: their management, inbound webhooks and trigger-queue messages, and the local trigger queue."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workflow_service.wiring import Services


class TriggersContainer:
    def __init__(self, services: Services) -> None:
        self._services = services
        self._core = services.core

    @cached_property
    def service(self):
        """Trigger management (no run machinery, so the CRUD functions stay light)."""
        from workflow_service.triggers.service import TriggerService

        return TriggerService(self.repository, self._services.workflows.reads, self._core.clock)

    @cached_property
    def inbound(self):
        """Webhook calls and trigger-queue messages -> runs."""
        from workflow_service.triggers.inbound import InboundTriggers

        return InboundTriggers(
            self.repository, self._services.runs.submission, self._core.clock, self._services.settings.triggers
        )

    @cached_property
    def deletion_listener(self):
        from workflow_service.triggers.service import TriggerDeletionListener

        return TriggerDeletionListener(self.repository)

    @cached_property
    def repository(self):
        from workflow_service.adapters.mongo.triggers import MongoTriggerRepository

        return MongoTriggerRepository(self._core.database, self._core.clock)

    @cached_property
    def queue(self):
        """The local runtime's in-process trigger queue. In AWS producers send to SQS directly and the
        service only consumes it (the event source mapping), so nothing deployed uses this."""
        if not self._services.settings.runtime.local_runtime:
            raise RuntimeError("the in-process trigger queue exists only in the local runtime")
        from workflow_service.adapters.local.sqs_queue import LocalSqsQueue

        # max_receive_count matches the deployed redrive policy; a shorter visibility timeout than
        # AWS's makes a failed message's redelivery (and its trip to the DLQ) visible within a minute.
        return LocalSqsQueue("workflow-trigger-queue", visibility_timeout_seconds=10, max_receive_count=5)
