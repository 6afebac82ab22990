"""The composition root: the only place adapters are constructed.

One ``Services`` per process (a Lambda container or the local runtime) builds each adapter and
service lazily, the first time a handler needs it, so a handler pays only for what it uses.
Handlers call ``services()``; the local runtime and tests ``install`` their own instance.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any

from workflow_service.errors import StoreUnavailable
from workflow_service.settings import Settings, load_settings


class Services:
    def __init__(self, settings: Settings, *, database: Any = None, clock: Any = None) -> None:
        self.settings = settings
        if database is not None:
            self.__dict__["database"] = database
        if clock is not None:
            self.__dict__["clock"] = clock

    # -- adapters ---------------------------------------------------------------------------------

    @cached_property
    def clock(self):
        from workflow_service.adapters.clock import SystemClock

        return SystemClock()

    @cached_property
    def secrets(self):
        import boto3

        from workflow_service.adapters.aws.secrets import SecretsManagerReader

        return SecretsManagerReader(boto3.client("secretsmanager"))

    @cached_property
    def database(self):
        from workflow_service.adapters.mongo import store

        settings = self.settings.store
        uri = settings.mongodb_uri
        if uri is None and settings.mongodb_secret_arn:
            uri = _uri_from_secret(self.secrets.read(settings.mongodb_secret_arn))
        if uri is None:
            if self.settings.runtime.local_runtime:
                return store.in_memory(settings.database_name)
            raise StoreUnavailable("no database configured: set MONGODB_URI or MONGODB_SECRET_ARN")
        return store.connect(
            uri,
            settings.database_name,
            server_selection_timeout_ms=settings.server_selection_timeout_ms,
            app_name=self.settings.runtime.service_name,
        )

    # -- auth -------------------------------------------------------------------------------------

    @cached_property
    def auth(self):
        from workflow_service.adapters.mongo.auth import MongoApiKeyRepository, MongoTeamRepository
        from workflow_service.auth.service import AuthService

        return AuthService(MongoTeamRepository(self.database), MongoApiKeyRepository(self.database), self.clock)

    # -- workflows --------------------------------------------------------------------------------

    @cached_property
    def workflows(self):
        from workflow_service.adapters.mongo.workflows import MongoVersionRepository, MongoWorkflowRepository
        from workflow_service.workflows.service import WorkflowService

        return WorkflowService(
            MongoWorkflowRepository(self.database, self.clock),
            MongoVersionRepository(self.database, self.clock),
            self.clock,
            deletion_listeners=self.workflow_deletion_listeners,
        )

    @property
    def workflow_deletion_listeners(self) -> list[Any]:
        """Capabilities owning objects of a workflow, wound down when it is deleted."""
        return []

    # -- capabilities added by later sections: runs, schedules, concurrency, triggers, reaper ------


def _uri_from_secret(value: str) -> str:
    """The secret holds either the bare URI or JSON with a ``uri`` (or ``MONGODB_URI``) key."""
    if value.lstrip().startswith("{"):
        document = json.loads(value)
        for key in ("uri", "MONGODB_URI", "mongodb_uri"):
            if document.get(key):
                return document[key]
        raise StoreUnavailable("the MongoDB secret has no 'uri' key")
    return value


_services: Services | None = None


def services() -> Services:
    """This process's services, built from the environment on first use."""
    global _services
    if _services is None:
        _services = Services(load_settings())
    return _services


def install(instance: Services | None) -> None:
    """Use ``instance`` for this process (local runtime, tests); None resets to the environment."""
    global _services
    _services = instance
