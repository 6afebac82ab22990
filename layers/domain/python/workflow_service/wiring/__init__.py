"""The composition root: the only place adapters are constructed.

One ``Services`` per process (a Lambda container or the local runtime) composes one small container
per capability. Nothing is built until first use: a container is created when a handler first
reaches for it, and each adapter or service inside it on first access (with its imports), so a
handler pays only for what it uses. Handlers call ``services()``, e.g.
``services().runs.turns.execute(request.caller, ...)``; the local runtime and tests ``install``
their own instance.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from workflow_service.settings import Settings, load_settings
from workflow_service.wiring.core import CoreContainer

if TYPE_CHECKING:
    from workflow_service.wiring.auth import AuthContainer
    from workflow_service.wiring.concurrency import ConcurrencyContainer
    from workflow_service.wiring.reaper import ReaperContainer
    from workflow_service.wiring.runs import RunsContainer
    from workflow_service.wiring.schedules import SchedulesContainer
    from workflow_service.wiring.triggers import TriggersContainer
    from workflow_service.wiring.webhooks import WebhooksContainer
    from workflow_service.wiring.workflows import WorkflowsContainer


class Services:
    """Every capability's container: ``core`` (clock, secrets, database), ``auth``, ``workflows``,
    ``runs``, ``concurrency``, ``schedules``, ``triggers``, ``webhooks`` and ``reaper``."""

    def __init__(self, settings: Settings, *, database: Any = None, clock: Any = None, metrics: Any = None) -> None:
        """``database``, ``clock`` and ``metrics`` replace the configured ones (the local runtime, tests, benches)."""
        self.settings = settings
        self.core = CoreContainer(settings, database=database, clock=clock, metrics=metrics)

    @cached_property
    def auth(self) -> AuthContainer:
        from workflow_service.wiring.auth import AuthContainer

        return AuthContainer(self)

    @cached_property
    def workflows(self) -> WorkflowsContainer:
        from workflow_service.wiring.workflows import WorkflowsContainer

        return WorkflowsContainer(self)

    @cached_property
    def runs(self) -> RunsContainer:
        from workflow_service.wiring.runs import RunsContainer

        return RunsContainer(self)

    @cached_property
    def concurrency(self) -> ConcurrencyContainer:
        from workflow_service.wiring.concurrency import ConcurrencyContainer

        return ConcurrencyContainer(self)

    @cached_property
    def schedules(self) -> SchedulesContainer:
        from workflow_service.wiring.schedules import SchedulesContainer

        return SchedulesContainer(self)

    @cached_property
    def triggers(self) -> TriggersContainer:
        from workflow_service.wiring.triggers import TriggersContainer

        return TriggersContainer(self)

    @cached_property
    def webhooks(self) -> WebhooksContainer:
        from workflow_service.wiring.webhooks import WebhooksContainer

        return WebhooksContainer(self)

    @cached_property
    def reaper(self) -> ReaperContainer:
        from workflow_service.wiring.reaper import ReaperContainer

        return ReaperContainer(self)


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
