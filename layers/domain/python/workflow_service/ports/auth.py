"""Teams and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from workflow_service.models.auth import ApiKey, Team


class TeamRepository(Protocol):
    def insert(self, team: Team) -> None: ...

    def get(self, team_id: str) -> Team | None: ...

    def set_max_concurrent_runs(self, team_id: str, limit: int) -> Team | None: ...


class ApiKeyRepository(Protocol):
    def insert(self, key: ApiKey) -> None:
        """Raises DuplicateKey if a key with the same hash exists (so a fixed dev key is idempotent)."""
        ...

    def find_active_by_hash(self, key_hash: str) -> ApiKey | None: ...

    def revoke(self, key_id: str, revoked_at: datetime) -> bool: ...

    def list_for_team(self, team_id: str) -> list[ApiKey]: ...
