"""``say_static``: says one of the node's static messages (placeholders filled) and adds it to the conversation.

With several messages, ``sequential`` walks them in order, one per visit; ``random`` picks one seeded on
node, turn and visit, so a replay of the run picks the same messages.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from workflow_service.models.event_records import assistant_response, node_event

from ..failures import WorkflowFailure
from ..templating import fill_text

if TYPE_CHECKING:
    from ..context import TurnContext
    from ..graph import GraphNode
    from ..state import ThreadState


def execute(context: TurnContext, thread: ThreadState, node: GraphNode, node_run_id: str) -> dict[str, Any]:
    settings = node.config.static_messages_config
    messages = settings.static_messages
    if not messages:
        raise WorkflowFailure(f"say_static node '{node.id}' has no static_messages")
    if len(messages) == 1:
        text = messages[0]
    else:
        visits = thread.visits
        visit = visits.get(node.id, 0)
        visits[node.id] = visit + 1
        if settings.sequential:
            text = messages[visit % len(messages)]
        else:
            seed = f"{node.id}:{context.state.turn_index}:{visit}".encode()
            digest = hashlib.blake2b(seed, digest_size=8).digest()
            text = messages[int.from_bytes(digest, "big") % len(messages)]
    content = fill_text(text, context.scope(thread)) if ("{{" in text or "[[" in text) else text
    event = node_event("say_static", context.now(), thread.thread_id, node.id, node.name, node_run_id)
    event["message"] = content
    context.events.append(event)
    context.events.append(assistant_response(event, content))
    context.state.history.append({"role": "assistant", "content": content})
    return {"content": content}
