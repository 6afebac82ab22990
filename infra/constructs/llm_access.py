"""What functions that "use" llm get: the LLM settings and permission to invoke Bedrock models."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra import runtime_env
from infra.config import ServiceConfig
from infra.constructs.common import nag_resource_form
from infra.constructs.function_factory import NagAcknowledgment, UseBinding
from infra.constructs.store_secret import secret_read_statements


class LlmAccess(Construct):
    """``binding`` (the "llm" use).

    Bedrock's Converse API is authorized by ``bedrock:InvokeModel`` (there is no separate Converse
    action). The grant covers the foundation models of the Bedrock region (the stack's own unless
    ``llm.bedrock_region`` says otherwise) and the account's inference profiles there: the model is
    chosen per workflow at run time, so it cannot be narrowed to one model id here.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: ServiceConfig) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        llm = config.llm
        bedrock_region = llm.bedrock_region or stack.region
        environment = {
            runtime_env.LLM_DEFAULT_PROVIDER: llm.default_provider,
            runtime_env.LLM_REQUEST_TIMEOUT_SECONDS: _number(llm.request_timeout_seconds),
        }
        if llm.default_model:
            environment[runtime_env.LLM_DEFAULT_MODEL] = llm.default_model
        if llm.bedrock_region:
            environment[runtime_env.LLM_BEDROCK_REGION] = llm.bedrock_region
        if llm.openai_base_url:
            environment[runtime_env.LLM_OPENAI_BASE_URL] = llm.openai_base_url
        statements = [
            iam.PolicyStatement(
                actions=["bedrock:InvokeModel"],
                resources=[
                    # Any Region's models: a cross-Region inference profile routes a call to a model in
                    # another Region, and IAM checks the model there too (Bedrock's inference-profile
                    # prerequisites: grant the foundation model in each Region the profile spans).
                    f"arn:{stack.partition}:bedrock:*::foundation-model/*",
                    f"arn:{stack.partition}:bedrock:{bedrock_region}:{stack.account}:inference-profile/*",
                ],
            )
        ]
        if llm.openai_api_key_secret_name:
            # The key is read from Secrets Manager at run time; it never sits in the environment.
            api_key_secret = secretsmanager.Secret.from_secret_name_v2(
                self, "OpenAiApiKey", llm.openai_api_key_secret_name
            )
            environment[runtime_env.LLM_OPENAI_API_KEY_SECRET_ARN] = api_key_secret.secret_arn
            statements.extend(secret_read_statements(api_key_secret, None, self))
        gateway_secrets = {
            provider: gateway.api_key_secret_name
            for provider, gateway in llm.gateways.items()
            if gateway.api_key_secret_name
        }
        for provider, secret_name in sorted(gateway_secrets.items()):
            gateway_secret = secretsmanager.Secret.from_secret_name_v2(self, f"GatewayApiKey-{provider}", secret_name)
            environment[runtime_env.llm_gateway_api_key_secret_arn(provider)] = gateway_secret.secret_arn
            statements.extend(secret_read_statements(gateway_secret, None, self))
        reason = (
            "Workflows pick their Bedrock model at run time; the grant is InvokeModel only, on the models "
            "and inference profiles of one region"
        )
        self.binding = UseBinding(
            environment=environment,
            statements=statements,
            reads_secret=bool(llm.openai_api_key_secret_name or gateway_secrets),
            acknowledgments=[
                NagAcknowledgment(f"AwsSolutions-IAM5[Resource::{nag_resource_form(self, resource)}]", reason)
                for resource in statements[0].resources
            ],
        )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
