"""Protocols for every piece of I/O. Services and the engine depend on these; adapters implement them.

``wiring`` is the only module that constructs adapters. Each capability keeps its ports in its own
section below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from workflow_service.models.auth import ApiKey, Team
from workflow_service.models.llm import LlmRequest, LlmResponse
from workflow_service.models.workflows import Workflow, WorkflowVersion

# --- time ---------------------------------------------------------------------------------------


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


# --- secrets ------------------------------------------------------------------------------------


class SecretReader(Protocol):
    def read(self, secret_id: str) -> str:
        """The secret's string value (cached by the adapter for the container's lifetime)."""
        ...


# --- LLM ----------------------------------------------------------------------------------------


class LlmError(Exception):
    """A provider call failed (network, throttling, bad credentials, unparseable answer)."""


class LlmGateway(Protocol):
    def complete(self, request: LlmRequest) -> LlmResponse:
        """Run one completion with the provider ``request.llm_config`` names; raises LlmError."""
        ...


# --- outbound HTTP (http_request and tool nodes) -------------------------------------------------


class OutboundRequestRefused(Exception):
    """The target address is not allowed (loopback, link-local, private) by the settings."""


class OutboundRequestFailed(Exception):
    """Timeout, connection failure, TLS error or an oversized response."""


@dataclass(frozen=True)
class OutboundRequest:
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    timeout_seconds: float | None = None


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes
    elapsed_ms: float

    def json_or_text(self) -> Any:
        import json

        text = self.body.decode("utf-8", errors="replace")
        try:
            return json.loads(text)
        except ValueError:
            return text


class HttpClient(Protocol):
    def send(self, request: OutboundRequest) -> OutboundResponse:
        """Send one request; non-2xx statuses are returned, not raised.

        Raises OutboundRequestRefused or OutboundRequestFailed.
        """
        ...


# --- teams and API keys (auth) -----------------------------------------------------------------


class TeamRepository(Protocol):
    def insert(self, team: Team) -> None: ...

    def get(self, team_id: str) -> Team | None: ...

    def set_max_concurrent_runs(self, team_id: str, limit: int) -> Team | None: ...


class ApiKeyRepository(Protocol):
    def insert(self, key: ApiKey) -> None:
        """Raises KeyError if a key with the same hash exists (so a fixed dev key is idempotent)."""
        ...

    def find_active_by_hash(self, key_hash: str) -> ApiKey | None: ...

    def revoke(self, key_id: str, revoked_at: datetime) -> bool: ...

    def list_for_team(self, team_id: str) -> list[ApiKey]: ...


# --- workflows and versions ---------------------------------------------------------------------


class WorkflowRepository(Protocol):
    """Workflow documents. ``version_numbers`` on the workflow is the authority on which versions
    exist, so activation and deletion rules are single-document conditional updates."""

    def insert(self, workflow: Workflow) -> None: ...

    def get(self, team_id: str, workflow_id: str, *, include_deleted: bool = False) -> Workflow | None: ...

    def list(self, team_id: str, search: str | None, skip: int, limit: int) -> tuple[list[Workflow], int]: ...

    def update_fields(self, team_id: str, workflow_id: str, fields: dict[str, Any], user_id: str) -> Workflow | None:
        ...

    def reserve_version_number(self, team_id: str, workflow_id: str) -> int | None: ...

    def add_version(self, team_id: str, workflow_id: str, version_number: int, activate: bool, user_id: str) -> (
        Workflow | None
    ): ...

    def activate_version(self, team_id: str, workflow_id: str, version_number: int, user_id: str) -> Workflow | None:
        """Sets the active version only if ``version_number`` exists; None otherwise."""
        ...

    def remove_version(self, team_id: str, workflow_id: str, version_number: int) -> bool:
        """Removes ``version_number`` only if it exists, is not active and is not the last one."""
        ...

    def mark_deleted(self, team_id: str, workflow_id: str) -> Workflow | None: ...

    def delete(self, team_id: str, workflow_id: str) -> None: ...


class VersionRepository(Protocol):
    def insert(self, version: WorkflowVersion) -> None: ...

    def get(self, workflow_id: str, version_number: int) -> WorkflowVersion | None: ...

    def list(self, workflow_id: str, version_numbers: list[int]) -> list[WorkflowVersion]: ...

    def rename(self, workflow_id: str, version_number: int, version_name: str, user_id: str) -> (
        WorkflowVersion | None
    ): ...

    def delete(self, workflow_id: str, version_number: int) -> None: ...

    def delete_all(self, workflow_id: str) -> None: ...


class WorkflowDeletionListener(Protocol):
    """Capabilities that own objects of a workflow (runs, schedules, triggers) wind them down here.

    Called after the workflow is marked deleted and before its documents are removed; must be
    idempotent, because a retried DELETE calls it again.
    """

    def on_workflow_deleted(self, team_id: str, workflow_id: str) -> None: ...
