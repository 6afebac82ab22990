"""One synthesis for the whole infra session: jsii start-up and synth cost seconds.

The app holds two stacks, synthesized together:
- ``default``: the stage cdk.json selects, exactly as ``python app.py`` builds it;
- ``full``: every optional feature switched on (VPC, WAF, alarm e-mail, explicit Bedrock region,
  OpenAI key secret, customer-managed secret key, explicit account/region, execution logging off
  without the account-level role), so those code paths are synthesized and checked too.

The layer is built for real by ``scripts/build_layer.py`` (pip from PyPI the first time, then
cached by its stamp), because the stack refuses to synthesize without it.
"""

from __future__ import annotations

import copy
import os
import time
from dataclasses import dataclass
from typing import Any

import pytest

from tests.infra.infra_template import merged_template, read_templates, template_files

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

FULL_STAGE = "full"
FULL_ACCOUNT = "111122223333"
FULL_REGION = "eu-west-1"
FULL_STAGE_OVERRIDES: dict[str, Any] = {
    "vpc": {
        "vpc_id": "vpc-0abc1234",
        "subnet_ids": ["subnet-0aaa1111", "subnet-0bbb2222"],
        "security_group_ids": ["sg-0ccc3333"],
        "availability_zones": ["eu-west-1a", "eu-west-1b"],
    },
    "api": {
        "waf_web_acl_arn": "arn:aws:wafv2:eu-west-1:111122223333:regional/webacl/workflows/0123abcd",
        "execution_logging_level": "OFF",
        "create_cloudwatch_role": False,
    },
    "alarms": {"email": "oncall@example.com"},
    "llm": {
        "default_provider": "bedrock",
        "default_model": "anthropic.claude-3-haiku-20240307-v1:0",
        "bedrock_region": "us-east-1",
        "openai_api_key_secret_name": "workflow-service/full/openai-key",
        "gateways": {
            "anthropic": {
                "base_url": "https://llm-gateway.example.com/v1",
                "api_key_secret_name": "workflow-service/full/anthropic-gateway-key",
            },
            "google": {"base_url": "https://llm-gateway.example.com/google/v1"},
        },
    },
    "store": {
        "mongodb_secret_kms_key_arn": "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    },
}


@dataclass(frozen=True)
class Synthesized:
    """The synthesized app and what the tests need to read it."""

    app: Any
    default_stack: Any
    full_stack: Any
    default_config: Any
    full_config: Any
    routes: Any
    # Parent and nested templates of each stack merged into one (see infra_template.merged_template).
    templates: dict[str, dict[str, Any]]
    # Every template as CloudFormation receives it: which -> template name -> template.
    separate_templates: dict[str, dict[str, dict[str, Any]]]
    # Where each template was written (cfn-lint reads the files).
    template_files: dict[str, dict[str, str]]
    seconds: float

    def template(self, which: str = "default") -> dict[str, Any]:
        return self.templates[which]


@pytest.fixture(scope="session")
def built_layer():
    """The real layer directory, built (or refreshed from cache) by scripts/build_layer.py."""
    from scripts.build_layer import build_layer

    return build_layer()


@pytest.fixture(scope="session")
def synthesized(built_layer, tmp_path_factory) -> Synthesized:
    from infra.application import add_service_stack, create_app
    from infra.config import STAGES_CONTEXT_KEY, load_config, read_cdk_json_context
    from infra.route_table import load_route_table

    started = time.perf_counter()
    context = read_cdk_json_context()
    stages = copy.deepcopy(context.get(STAGES_CONTEXT_KEY) or {})
    stages[FULL_STAGE] = FULL_STAGE_OVERRIDES
    app = create_app(context_overrides={STAGES_CONTEXT_KEY: stages}, outdir=str(tmp_path_factory.mktemp("cdk.out")))
    routes = load_route_table()
    default_config = load_config({**context, STAGES_CONTEXT_KEY: stages})
    full_config = load_config(
        {**context, STAGES_CONTEXT_KEY: stages, "stage": FULL_STAGE, "account": FULL_ACCOUNT, "region": FULL_REGION}
    )
    default_stack = add_service_stack(app, default_config, routes)
    full_stack = add_service_stack(app, full_config, routes)
    assembly = app.synth()
    templates, separate, files = {}, {}, {}
    for which, stack in (("default", default_stack), ("full", full_stack)):
        files[which] = template_files(stack, assembly)
        separate[which] = read_templates(files[which])
        nested = {name: template for name, template in separate[which].items() if name != stack.stack_name}
        templates[which] = merged_template(separate[which][stack.stack_name], nested)
    return Synthesized(
        app=app,
        default_stack=default_stack,
        full_stack=full_stack,
        default_config=default_config,
        full_config=full_config,
        routes=routes,
        templates=templates,
        separate_templates=separate,
        template_files=files,
        seconds=time.perf_counter() - started,
    )


@pytest.fixture(scope="session")
def template(synthesized):
    """``aws_cdk.assertions.Template`` of the default stack."""
    from aws_cdk.assertions import Template

    return Template.from_json(synthesized.template("default"))


@pytest.fixture(scope="session")
def full_template(synthesized):
    """``aws_cdk.assertions.Template`` of the every-feature stack."""
    from aws_cdk.assertions import Template

    return Template.from_json(synthesized.template("full"))
