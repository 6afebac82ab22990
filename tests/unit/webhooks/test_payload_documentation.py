"""The payload shapes users read about: the README's examples and the OpenAPI document."""

from __future__ import annotations

import json
import re
from pathlib import Path

from workflow_service.http.openapi import openapi_document
from workflow_service.models.webhook_payloads import WEBHOOK_PAYLOAD_MODELS
from workflow_service.ports.webhooks import WebhookAction

README = Path(__file__).resolve().parents[3] / "README.md"
MODELS = {model.model_fields["action"].default: model for model in WEBHOOK_PAYLOAD_MODELS}


def readme_examples() -> list[dict]:
    section = README.read_text(encoding="utf-8").split("## Workflow webhooks", 1)[1]
    section = section.split("### Event payloads", 1)[1]
    section = re.split(r"\n##+ ", section, maxsplit=1)[0]
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", section, flags=re.DOTALL)]


def test_the_readme_shows_one_valid_example_per_action():
    examples = readme_examples()
    # Then every action has exactly one example, and each is what its payload model accepts
    assert sorted(example["action"] for example in examples) == sorted(action.value for action in WebhookAction)
    for example in examples:
        parsed = MODELS[example["action"]].model_validate(example)
        assert parsed.model_dump(mode="json")["workflow_id"] == example["workflow_id"]


def test_the_openapi_document_describes_each_actions_body():
    document = openapi_document()
    schemas = document["components"]["schemas"]
    for action, model in MODELS.items():
        body = document["webhooks"][action]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{model.__name__}"}
        assert schemas[model.__name__]["properties"]["action"]["const"] == action
