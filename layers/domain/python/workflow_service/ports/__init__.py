"""Protocols for every piece of I/O, one module per capability. Services and the engine depend on
these; adapters implement them; ``wiring`` is the only place that constructs adapters.

Everything is re-exported here, so ``from workflow_service.ports import RunRepository`` works. The
re-exports are resolved on first access (PEP 562): importing one port module (``ports.clock``) runs
this file, and must not import every other port module with it (cold start, DESIGN.md section 10).
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from workflow_service.ports.workflows import (
        VersionRepository,
        WorkflowDeletionListener,
        WorkflowRepository,
        WorkflowSummaries,
    )


def __getattr__(name: str) -> Any:
    """A re-exported name (one of ``__all__``), taken from the port module that defines it."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    for file_name in sorted(os.listdir(__path__[0])):
        if not file_name.endswith(".py") or file_name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{file_name[:-3]}")
        value = getattr(module, name, None)
        if value is not None and getattr(value, "__module__", module.__name__) == module.__name__:
            globals()[name] = value
            return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    "WorkflowSummaries",
]
