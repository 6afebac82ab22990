"""What every LLM call of a turn is made of: the node's effective llms_config, prompt and conversation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workflow_service.models.llm import REVEAL_SECRETS
from workflow_service.models.llm_calls import LlmMessage

from .templating import fill_text

if TYPE_CHECKING:
    from workflow_service.models.llm_calls import LlmResponse

    from .context import TurnContext
    from .graph import GraphNode
    from .state import ThreadState


def llm_config(context: TurnContext, node: GraphNode) -> dict[str, Any]:
    """The node's llms_config, else the workflow's, as JSON (computed once per node and turn)."""
    if node.llm_config is None:
        chosen = node.config.llms_config or context.config.llms_config
        node.llm_config = chosen.model_dump(mode="json", context=REVEAL_SECRETS)
    return node.llm_config


def system_prompt(context: TurnContext, thread: ThreadState, node: GraphNode) -> str:
    """The workflow's prompt prefix, the node's (else the workflow's) prompt and the suffix, filled."""
    config = context.config
    scope = context.scope(thread)
    prompt = node.config.main_response_config.prompt or config.main_response_config.prompt
    prefix = None if node.config.ignore_default_prompt_prefix else config.default_prompt_prefix
    suffix = None if node.config.ignore_default_prompt_suffix else config.default_prompt_suffix
    parts = (prefix, prompt, suffix)
    return "\n\n".join(filled for part in parts if part and (filled := fill_text(part, scope)))


def conversation(context: TurnContext) -> tuple[LlmMessage, ...]:
    """The run's conversation so far, every thread's messages included."""
    return tuple(LlmMessage(role=message["role"], content=message["content"]) for message in context.state.history)


def usage_info(response: LlmResponse) -> dict[str, Any]:
    """The ``llm_usage_info`` of an event that reports an LLM call."""
    return {
        "provider": response.provider,
        "model": response.model,
        "input_tokens": response.input_tokens,
        "output_tokens": response.output_tokens,
        "latency_ms": response.latency_ms,
    }
