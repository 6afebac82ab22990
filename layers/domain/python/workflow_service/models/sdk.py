"""Shapes of the product SDK's workflow and run surfaces beyond CRUD: clone, export/import, schemas,
version diffs, the team's active versions, a version's config replaced in place, and the 404 of the
surfaces the service does not offer (reference section 9; interactly-ai/workflow-sdk resources)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from workflow_service.models.common import ApiModel, RequestModel
from workflow_service.models.workflow_config import WorkflowConfig
from workflow_service.models.workflows import WorkflowVersion


class UnsupportedSurfaceAnswer(ApiModel):
    """The 404 of a surface the service does not offer: which one, and the routes it does offer."""

    detail: str
    surface: str | None = None
    offered: list[str] = Field(default_factory=list)
