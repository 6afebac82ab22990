"""Reading the CDK context: which stage, and its ``workflow_service`` settings with the overlay merged in."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infra.config.base import ContextModel
from infra.config.errors import ConfigError, validate_context
from infra.config.service import SERVICE_CONTEXT_KEY, EnvironmentValue, ServiceConfig, ServiceSettings, StageName

REPO_ROOT = Path(__file__).resolve().parents[2]
CDK_JSON = REPO_ROOT / "cdk.json"

STAGES_CONTEXT_KEY = "workflow_service_stages"
STAGE_CONTEXT_KEY = "stage"


class StageSelection(ContextModel):
    """The top-level context keys the config reads (the rest of the context is CDK feature flags)."""

    stage: StageName
    account: EnvironmentValue = None
    region: EnvironmentValue = None
    workflow_service: dict[str, Any]
    # Per-stage partial overrides of ``workflow_service``, keyed by stage name.
    workflow_service_stages: dict[str, Any] | None = None


# app.py forwards exactly these from the CDK context.
CONFIG_CONTEXT_KEYS = tuple(StageSelection.model_fields)


def read_cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """The ``context`` object of ``cdk.json`` (feature flags included)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ConfigError(f"{path} not found") from error
    context = document.get("context")
    if not isinstance(context, dict):
        raise ConfigError(f"{path} has no 'context' object")
    return context


def load_config(context: Mapping[str, Any], *, root: Path = REPO_ROOT) -> ServiceConfig:
    """Parse and validate the context of one stage; relative asset paths resolve against ``root``."""
    selected = {key: context[key] for key in CONFIG_CONTEXT_KEYS if context.get(key) is not None}
    selection = validate_context(StageSelection, selected, key_prefix="")
    overlay = (selection.workflow_service_stages or {}).get(selection.stage) or {}
    if not isinstance(overlay, Mapping):
        raise ConfigError(f"{STAGES_CONTEXT_KEY}.{selection.stage} must be an object, got {overlay!r}")
    settings = validate_context(
        ServiceSettings,
        _deep_merge(selection.workflow_service, overlay),
        key_prefix=SERVICE_CONTEXT_KEY,
        context={"root": root},
    )
    return ServiceConfig.of_stage(selection.stage, selection.account, selection.region, settings)


def load_config_from_cdk_json(stage: str | None = None, *, path: Path = CDK_JSON) -> ServiceConfig:
    """The config of ``stage`` (default: the context's ``stage``) straight from ``cdk.json``."""
    context = dict(read_cdk_json_context(path))
    if stage is not None:
        context[STAGE_CONTEXT_KEY] = stage
    return load_config(context, root=path.parent)


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
