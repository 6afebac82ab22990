"""The local runtime: the deployed handlers, on a laptop, with no AWS account and no MongoDB server.

It installs a ``Services`` backed by an embedded MongoDB stand-in (or MONGODB_URI), loads the
embedded store from WORKFLOWS_LOCAL_DATA_FILE when set, creates the indexes, provisions a
development team and key, serves the route table and the local-only endpoints over HTTP through the
API Gateway emulation, and runs the background emulations (scheduler, queues, reaper) that the
capabilities register in ``background_components``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from local.data_file import LocalDataFile
from local.gateway import LocalGateway
from local.local_endpoints import LocalEndpointRouter
from local.reaper_emulation import create_local_reaper_component
from local.scheduler_emulation import create_local_scheduler_component
from local.team_admin import LocalTeamAdmin
from local.trigger_queue_emulation import create_local_trigger_queue_component, handle_local_trigger_queue_request
from local.webhook_delivery_emulation import create_local_webhook_delivery_component
from local.worker_emulation import create_local_worker_component
from workflow_service import wiring
from workflow_service.adapters.mongo.indexes import create_indexes
from workflow_service.settings import Settings, settings_from_environment

DEV_TEAM_NAME = "Development team"
DEV_USER_ID = "developer"
LOCAL_DEFAULTS = {
    "WORKFLOWS_LOCAL_RUNTIME": "true",
    "STAGE": "local",
    # Local http_request nodes may call services on this machine (never link-local or private ranges).
    "HTTP_NODE_ALLOW_LOOPBACK": "true",
    # ... over plain http, as local development servers usually are.
    "HTTP_NODE_REQUIRE_HTTPS": "false",
}


class BackgroundComponent(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class LocalRuntime:
    settings: Settings
    host: str = "127.0.0.1"
    port: int = 8080
    dev_api_key: str = ""
    services: wiring.Services | None = None
    gateway: LocalGateway | None = None
    background: list[BackgroundComponent] = field(default_factory=list)
    data_file: LocalDataFile | None = None

    @classmethod
    def from_environment(cls, host: str, port: int, overrides: dict[str, str] | None = None) -> LocalRuntime:
        import os

        defaults = {key: value for key, value in LOCAL_DEFAULTS.items() if key not in os.environ}
        return cls(settings=settings_from_environment({**defaults, **(overrides or {})}), host=host, port=port)

    @property
    def uses_embedded_store(self) -> bool:
        store = self.settings.store
        return not (store.mongodb_uri or store.mongodb_secret_arn)

    @property
    def storage_description(self) -> str:
        if not self.uses_embedded_store:
            return "MongoDB at MONGODB_URI" if self.settings.store.mongodb_uri else "MongoDB from MONGODB_SECRET_ARN"
        if self.data_file is not None:
            return f"embedded, kept in {self.data_file.path} (WORKFLOWS_LOCAL_DATA_FILE)"
        return "embedded (in memory; WORKFLOWS_LOCAL_DATA_FILE=.local-data.json keeps it between restarts)"

    def start(self) -> str:
        """Start serving; returns the base URL."""
        self.services = wiring.Services(self.settings)
        wiring.install(self.services)
        database = self.services.core.database
        saved_dev_api_key = None
        if self.settings.store.local_data_file and self.uses_embedded_store:
            self.data_file = LocalDataFile(Path(self.settings.store.local_data_file), database)
            self.data_file.load()
            saved_dev_api_key = self.data_file.dev_api_key
        create_indexes(database)
        self.dev_api_key = self.settings.auth.dev_api_key or saved_dev_api_key or f"wfk_dev_{secrets.token_urlsafe(24)}"
        self.services.auth.service.ensure_key(
            DEV_TEAM_NAME,
            self.settings.concurrency.default_team_max_concurrent_runs,
            DEV_USER_ID,
            self.dev_api_key,
        )
        if self.data_file is not None:
            self.data_file.dev_api_key = self.dev_api_key
            self.data_file.start()
        for factory in background_components:
            component = factory(self)
            component.start()
            self.background.append(component)
        from authorizer import handler as authorizer_handler

        self.gateway = LocalGateway(
            self.host,
            self.port,
            authorizer_handler,
            local_endpoints=self._local_endpoints(self.services),
            cors_allow_origin=self.services.settings.runtime.local_cors_allow_origin,
        )
        return self.gateway.start()

    def stop(self) -> None:
        if self.gateway is not None:
            self.gateway.stop()
        for component in reversed(self.background):
            component.stop()
        if self.data_file is not None:
            self.data_file.stop()  # last: it saves what the others wrote while stopping
        wiring.install(None)

    def _local_endpoints(self, services: wiring.Services) -> LocalEndpointRouter:
        trigger_queue = services.triggers.queue

        def trigger_queue_endpoints(method: str, path: str, body: bytes) -> tuple[int, Any] | None:
            return handle_local_trigger_queue_request(trigger_queue, method, path, body)

        team_admin = LocalTeamAdmin(services.auth.service, self.settings.concurrency.default_team_max_concurrent_runs)
        return LocalEndpointRouter(self.dev_api_key, [trigger_queue_endpoints, team_admin])


# The background emulations, each a factory LocalRuntime -> BackgroundComponent, started in order.
background_components: list[Callable[[LocalRuntime], Any]] = [
    create_local_worker_component,
    create_local_trigger_queue_component,
    create_local_scheduler_component,
    create_local_reaper_component,
    create_local_webhook_delivery_component,
]
