"""The workflow runtime: runs a workflow's nodes and edges one turn at a time (DESIGN.md section 3).

Pure: it talks to the outside world only through the ports it is given (LLM gateway, outbound HTTP
client, clock) and imports nothing but the standard library, pydantic, the domain models and the
condition language (:mod:`workflow_service.conditions`).
"""

from workflow_service.conditions import ConditionError, evaluate_condition, evaluate_expression
from workflow_service.engine.runner import STATE_SCHEMA_VERSION, TurnResult, WorkflowEngine
from workflow_service.engine.templating import MissingVariable, VariableScope, fill_text, fill_value
from workflow_service.engine.usage import merge_llm_usage

__all__ = [
    "STATE_SCHEMA_VERSION",
    "ConditionError",
    "MissingVariable",
    "TurnResult",
    "VariableScope",
    "WorkflowEngine",
    "evaluate_condition",
    "evaluate_expression",
    "fill_text",
    "fill_value",
    "merge_llm_usage",
]
