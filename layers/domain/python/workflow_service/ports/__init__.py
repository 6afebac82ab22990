"""Protocols for every piece of I/O, one module per capability. Services and the engine depend on
these; adapters implement them; ``wiring`` is the only place that constructs adapters.

Everything is re-exported here, so ``from workflow_service.ports import RunRepository`` works.
"""

from __future__ import annotations

from workflow_service.ports.auth import ApiKeyRepository, TeamRepository
from workflow_service.ports.clock import Clock
from workflow_service.ports.concurrency import (
    Admission,
    ConcurrencyLimits,
    LeaseStore,
    QueuedTeamFinder,
    RunDispatcher,
    RunTerminator,
    SlotDecision,
    WorkQueue,
)
from workflow_service.ports.errors import DuplicateKey
from workflow_service.ports.http import (
    HttpClient,
    OutboundRequest,
    OutboundRequestFailed,
    OutboundRequestRefused,
    OutboundResponse,
)
from workflow_service.ports.llm import LlmError, LlmGateway
from workflow_service.ports.runs import RunFinishedListener, RunRepository, RunSubmitter, TurnClaim
from workflow_service.ports.schedules import (
    OneTimeScheduleRepository,
    RecurringScheduleRepository,
    ScheduleDefinition,
    Scheduler,
    ScheduleReconciler,
    WorkflowNames,
)
from workflow_service.ports.secrets import SecretReader
from workflow_service.ports.triggers import TriggerRepository
from workflow_service.ports.workflows import VersionRepository, WorkflowDeletionListener, WorkflowRepository

__all__ = [
    "Admission",
    "ApiKeyRepository",
    "Clock",
    "ConcurrencyLimits",
    "DuplicateKey",
    "HttpClient",
    "LeaseStore",
    "LlmError",
    "LlmGateway",
    "OneTimeScheduleRepository",
    "OutboundRequest",
    "OutboundRequestFailed",
    "OutboundRequestRefused",
    "OutboundResponse",
    "QueuedTeamFinder",
    "RecurringScheduleRepository",
    "RunDispatcher",
    "RunFinishedListener",
    "RunRepository",
    "RunSubmitter",
    "RunTerminator",
    "ScheduleDefinition",
    "ScheduleReconciler",
    "Scheduler",
    "SecretReader",
    "SlotDecision",
    "TeamRepository",
    "TriggerRepository",
    "TurnClaim",
    "VersionRepository",
    "WorkQueue",
    "WorkflowDeletionListener",
    "WorkflowNames",
    "WorkflowRepository",
]
