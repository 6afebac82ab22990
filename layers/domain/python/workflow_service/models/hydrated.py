"""The product SDK's "fully hydrated" workflow shape, beside this service's inline one.

The SDK (``WorkflowConfigFullyHydrated``) carries a workflow as
``{workflow_config: {...}, node_configs: [...], edge_configs: [...], dynamic_variables, runtime_variables}``,
where ``workflow_config.nodes`` / ``edges`` are lists of ids. This service stores a version's nodes and
edges inline (``workflow_config.nodes`` / ``edges`` are the objects), so a hydrated body is folded into
that form on the way in (:class:`HydratedConfigFields`) and unfolded on the way out
(:func:`hydrate`). A problem found in a node or edge is reported where the caller put it
(``node_configs[i]``), not where the service keeps it.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from workflow_service.errors import FieldProblem
from workflow_service.models.common import ApiModel, empty_list
from workflow_service.models.workflow_config import MAX_EDGES, MAX_NODES, EdgeConfig, NodeConfig, WorkflowConfig

_FOLDED = {"node_configs": "nodes", "edge_configs": "edges"}


def is_hydrated(data: Any) -> bool:
    """True for the SDK's hydrated shape: the node or edge list is present (an empty one counts)."""
    return isinstance(data, dict) and any(isinstance(data.get(key), list) for key in _FOLDED)


class HydratedConfigFields(BaseModel):
    """Request fields of the SDK's hydrated shape, folded into ``workflow_config`` once validated."""

    # Mixins too: a model built at import costs every handler that imports it (DESIGN.md section 10).
    model_config = ConfigDict(defer_build=True)

    node_configs: list[NodeConfig] | None = Field(
        None, max_length=MAX_NODES, description="SDK shape: the nodes (then workflow_config.nodes holds ids)"
    )
    edge_configs: list[EdgeConfig] | None = Field(
        None, max_length=MAX_EDGES, description="SDK shape: the edges (then workflow_config.edges holds ids)"
    )
    dynamic_variables: dict[str, Any] | None = Field(
        None, description="SDK shape: the workflow's default dynamic variables (a run's own values win)"
    )
    runtime_variables: dict[str, Any] | None = Field(
        None, description="SDK shape: the workflow's initial runtime variables (a run's own values win)"
    )

    @model_validator(mode="before")
    @classmethod
    def _id_lists_are_not_nodes(cls, data: Any) -> Any:
        # In the hydrated shape workflow_config.nodes/edges list ids; the objects are node_configs/edge_configs.
        if not is_hydrated(data) or not isinstance(data.get("workflow_config"), dict):
            return data
        config = dict(data["workflow_config"])
        for key in ("nodes", "edges"):
            if isinstance(config.get(key), list) and all(isinstance(item, str) for item in config[key]):
                config.pop(key)
        return {**data, "workflow_config": config}

    def fold_into(self, config: WorkflowConfig) -> WorkflowConfig:
        """``config`` with this body's nodes, edges and variables in it (unchanged for an inline body)."""
        update: dict[str, Any] = {}
        if self.node_configs is not None:
            update["nodes"] = self.node_configs
        if self.edge_configs is not None:
            update["edges"] = self.edge_configs
        if self.dynamic_variables:
            update["dynamic_variables"] = {**config.dynamic_variables, **self.dynamic_variables}
        if self.runtime_variables:
            update["runtime_variables"] = {**config.runtime_variables, **self.runtime_variables}
        return config.model_copy(update=update) if update else config

    @property
    def hydrated(self) -> bool:
        return self.node_configs is not None or self.edge_configs is not None


def name_from_config(data: Any) -> Any:
    """A hydrated body's name and description: the top level's, else ``workflow_config``'s (the one in
    ``config`` when the hydrated config is sent as that one field)."""
    if isinstance(data, dict) and isinstance(data.get("config"), dict):
        config = data["config"].get("workflow_config")
    elif is_hydrated(data):
        config = data.get("workflow_config")
    else:
        return data
    if not isinstance(config, dict):
        return data
    filled = dict(data)
    for key in ("name", "description"):
        if filled.get(key) is None and config.get(key) is not None:
            filled[key] = config[key]
    return filled


def as_caller_located(problems: list[FieldProblem], config_loc: tuple[str | int, ...]) -> list[FieldProblem]:
    """Problems at ``<config_loc>.nodes[i]`` / ``.edges[i]`` moved to ``node_configs[i]`` / ``edge_configs[i]``."""
    depth = len(config_loc)
    relocated = []
    for problem in problems:
        loc = problem.loc
        if loc[:depth] == config_loc and len(loc) > depth and loc[depth] in ("nodes", "edges"):
            key = "node_configs" if loc[depth] == "nodes" else "edge_configs"
            loc = (*config_loc[:-1], key, *loc[depth + 1 :])
        relocated.append(FieldProblem(loc=loc, msg=problem.msg, type=problem.type, input=problem.input))
    return relocated


class HydratedWorkflowConfig(ApiModel):
    """A version's config in the SDK's hydrated shape (``WorkflowConfigFullyHydrated``)."""

    workflow_config: dict[str, Any] = Field(description="The workflow config; its nodes and edges are logical ids")
    node_configs: list[dict[str, Any]] = Field(default_factory=empty_list)
    edge_configs: list[dict[str, Any]] = Field(default_factory=empty_list)
    dynamic_variables: dict[str, Any] = Field(default_factory=dict)
    runtime_variables: dict[str, Any] = Field(default_factory=dict)


def hydrate(config: WorkflowConfig) -> HydratedWorkflowConfig:
    """``config`` in the SDK's hydrated shape."""
    document = config.model_dump(mode="json", by_alias=True)
    nodes = document.pop("nodes")
    edges = document.pop("edges")
    dynamic_variables = document.pop("dynamic_variables")
    runtime_variables = document.pop("runtime_variables")
    for node in nodes:
        if node.get("max_consecutive_tool_calls") is None:
            # Unset means 1 here and in the SDK, whose field is a plain int: null would fail its node class.
            node["max_consecutive_tool_calls"] = 1
        messages = node.get("static_messages_config") or {}
        if messages.get("static_messages_selection_mode") == "sequential":
            messages["static_messages_selection_mode"] = "sequence"  # the SDK's name for it
    document["nodes"] = [node["logical_id"] for node in nodes]
    document["edges"] = [edge["logical_id"] for edge in edges]
    return HydratedWorkflowConfig(
        workflow_config=document,
        node_configs=nodes,
        edge_configs=edges,
        dynamic_variables=dynamic_variables,
        runtime_variables=runtime_variables,
    )
