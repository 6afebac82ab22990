"""Auth: teams and their hashed API keys."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workflow_service.wiring import Services


class AuthContainer:
    def __init__(self, services: Services) -> None:
        self._core = services.core

    @cached_property
    def service(self):
        from workflow_service.adapters.mongo.auth import MongoApiKeyRepository, MongoTeamRepository
        from workflow_service.auth.service import AuthService

        database = self._core.database
        return AuthService(MongoTeamRepository(database), MongoApiKeyRepository(database), self._core.clock)
