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
        from workflow_service.wiring.core import Deferred
        from workflow_service.workflows.service import WorkflowService

        return WorkflowService(
            self.workflow_repository,
            self.version_repository,
            self._core.clock,
            deletion_listeners=lambda: self.deletion_listeners,
            # Built on the first write: reads (list, get) never import the outbox and its payload models.
            webhooks=Deferred(lambda: self._services.webhooks.workflow_outbox),
            gateway_providers=self._services.settings.llm.gateway_providers,
            dispatch_team=self._services.concurrency.dispatch_team,
        )

    @cached_property
    def abandoned_deletions(self):
        """The reaper's step that finishes deletions a crash left half done (the write path built only
        when one is found)."""
        from datetime import timedelta

        from workflow_service.workflows.deletion import AbandonedDeletions

        grace = timedelta(seconds=self._services.settings.reaper.lease_grace_seconds)
        return AbandonedDeletions(self.workflow_repository, lambda: self.service.delete, self._core.clock, grace)

    @cached_property
    def reads(self):
        """Workflows and versions read: what runs, schedules and triggers use (no write-path models)."""
        from workflow_service.workflows.reads import WorkflowReads

        return WorkflowReads(self.workflow_repository, self.version_repository)

    @cached_property
    def listing(self):
        from workflow_service.workflows.listing import WorkflowListing

        return WorkflowListing(self.workflow_summaries)

    @cached_property
    def workflow_summaries(self):
        from workflow_service.adapters.mongo.workflow_summaries import MongoWorkflowSummaries

        return MongoWorkflowSummaries(self._core.database)

    @cached_property
    def workflow_repository(self):
        from workflow_service.adapters.mongo.workflows import MongoWorkflowRepository

        return MongoWorkflowRepository(self._core.database, self._core.clock)

    @cached_property
    def version_repository(self):
        from workflow_service.adapters.mongo.workflows import MongoVersionRepository

        return MongoVersionRepository(self._core.database, self._core.clock)

    @cached_property
    def copies(self):
        """Clone, export and import (the SDK's workflows.clone / export / import_bundle)."""
        from workflow_service.workflows.bundles import WorkflowCopies

        return WorkflowCopies(self.service, self.version_repository, self._core.clock)

    @cached_property
    def version_views(self):
        """The team's active versions and version diffs."""
        from workflow_service.workflows.version_views import VersionViews

        return VersionViews(self.service, self.workflow_summaries, self.version_repository)

    @cached_property
    def version_configs(self):
        """A version's config replaced in place, runs keeping the revision they started on."""
        from workflow_service.workflows.config_revisions import VersionConfigs

        return VersionConfigs(self.service, self.version_repository)

    @property
    def deletion_listeners(self) -> list[Any]:
        """Capabilities owning objects of a workflow, wound down when it is deleted."""
        services = self._services
        return [services.schedules.deletion_listener, services.triggers.deletion_listener, services.runs.lifecycle]
