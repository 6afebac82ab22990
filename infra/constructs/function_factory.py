"""The one place that defines a Lambda function of this service.

Every function (one per route row and per events row) is created here, so runtime, architecture,
memory, timeout, tracing, logging, the shared layer, the shared code asset and the common
environment cannot drift between functions. What a row "uses" (store, llm, scheduler, work_queue,
trigger_queue) is turned into environment variables and IAM statements by a ``UseBinding`` that the
construct owning that resource provides, so each grant is written once, next to its resource.

Roles: route functions share one role per distinct "uses" set within their stack (a handful of
roles instead of ~50; identical needs get identical permissions, and a role never spans two
templates, so no template waits on another's policy); each event handler gets its own role because
its event source adds consume permissions that no other function should inherit.

A function may be created in a nested stack (the route groups): its role and code asset are then
created in that stack too, and only the layer and the resources its "uses" name are referenced
across templates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import Annotations, Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import runtime_env
from infra.config import ServiceConfig
from infra.connection_budget import ConcurrencyPlan
from infra.constructs.common import acknowledge, construct_id, log_retention, removal_policy
from infra.constructs.secrets_extension import SecretsExtension
from infra.route_table import FunctionSpec

# Lambda's hard limit on function names.
MAX_FUNCTION_NAME_LENGTH = 64
_ASSET_EXCLUDES = ["__pycache__", "*.pyc", ".pytest_cache", ".ruff_cache"]


@dataclass(frozen=True)
class NagAcknowledgment:
    """A cdk-nag finding accepted on every role holding a binding, with the reason why."""

    rule_id: str
    reason: str


@dataclass(frozen=True)
class UseBinding:
    """What a function that "uses" one resource receives: environment variables and IAM statements.

    ``acknowledgments`` accept the findings those statements cause by design (e.g. a wildcard that
    stands for resources created at run time); they are applied to each role that gets the binding.
    """

    environment: Mapping[str, str]
    statements: Sequence[iam.PolicyStatement]
    acknowledgments: Sequence[NagAcknowledgment] = ()
    # The function reads a secret at run time: it gets the Parameters and Secrets extension.
    reads_secret: bool = False


@dataclass(frozen=True)
class CreatedFunction:
    spec: FunctionSpec
    function: lambda_.Function
    log_group: logs.LogGroup


def lambda_runtime(config: ServiceConfig) -> lambda_.Runtime:
    """The Lambda runtime for the configured Python version (the layer is built for the same one)."""
    attribute = "PYTHON_" + config.lambda_.python_version.replace(".", "_")
    runtime = getattr(lambda_.Runtime, attribute, None)
    if runtime is None:
        raise ValueError(f"aws-cdk-lib has no Lambda runtime {config.lambda_.runtime_name}")
    return runtime


def lambda_architecture(config: ServiceConfig) -> lambda_.Architecture:
    """The configured architecture; it must match the wheels' platform (see LambdaConfig.pip_platform)."""
    return lambda_.Architecture.ARM_64 if config.lambda_.architecture == "arm64" else lambda_.Architecture.X86_64


class FunctionFactory(Construct):
    """Creates every function of the stack from its route-table row."""

    def __init__(
        self,
        scope: Construct,
        construct_id_: str,
        *,
        config: ServiceConfig,
        layer: lambda_.ILayerVersion,
        secrets_extension: SecretsExtension,
        concurrency: ConcurrencyPlan,
    ):
        super().__init__(scope, construct_id_)
        self._config = config
        self._layer = layer
        self._secrets_extension = secrets_extension
        self.concurrency = concurrency
        if not config.assets.lambdas_path.is_dir():
            raise FileNotFoundError(f"handler directory {config.assets.lambdas_path} does not exist")
        # One asset for all functions (the same small directory of thin handlers); CDK binds an asset
        # to one stack, so each stack gets its own Code of it; the content hash, and S3 object, are shared.
        self._code_by_stack: dict[str, lambda_.Code] = {}
        self._bindings: dict[str, UseBinding] = {}
        self._roles: dict[tuple[str, str], iam.Role] = {}
        self._created: list[CreatedFunction] = []
        self._network = _Network(self, config) if config.vpc else None

    @property
    def functions(self) -> tuple[CreatedFunction, ...]:
        """Every function created so far, in creation order (the alarms group them by capability)."""
        return tuple(self._created)

    def provide(self, use: str, binding: UseBinding) -> None:
        """Register what functions that "use" ``use`` get. Each resource is provided exactly once."""
        if use in self._bindings:
            raise ValueError(f"'{use}' is already provided")
        self._bindings[use] = binding

    def create(
        self,
        scope: Construct,
        spec: FunctionSpec,
        *,
        shared_role: bool,
        environment: Mapping[str, str] | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
        retry_attempts: int | None = None,
    ) -> lambda_.Function:
        """The function for ``spec``, created in ``scope`` (the construct of its capability).

        ``environment`` adds function-specific variables (e.g. the reaper's thresholds) on top of the
        common ones and those of its "uses"; it may not redefine any of them.
        """
        config = self._config
        function_name = f"{config.resource_prefix}-{spec.name}"
        if len(function_name) > MAX_FUNCTION_NAME_LENGTH:
            raise ValueError(f"function name {function_name!r} exceeds {MAX_FUNCTION_NAME_LENGTH} characters")
        role = self._role(scope, spec, shared=shared_role)
        reads_secret = any(self._binding(spec, use).reads_secret for use in spec.uses)
        log_group = logs.LogGroup(
            scope,
            f"{construct_id(spec.name)}LogGroup",
            retention=log_retention(config),
            removal_policy=removal_policy(config),
        )
        function = lambda_.Function(
            scope,
            f"{construct_id(spec.name)}Function",
            function_name=function_name,
            description=spec.summary[:256],
            runtime=lambda_runtime(config),
            architecture=lambda_architecture(config),
            code=self._code_for(scope),
            handler=spec.handler,
            layers=[self._layer, *([self._secrets_extension.layer_in(scope)] if reads_secret else [])],
            memory_size=config.lambda_.memory_for(spec.capability),
            timeout=Duration.seconds(config.lambda_.timeout_for(spec.capability)),
            # What keeps a burst within the cluster's connection budget (None: unlimited, see ConcurrencyPlan).
            reserved_concurrent_executions=self.concurrency.reserved.get(spec.name),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            role=role,
            environment=self._environment(spec, environment or {}, reads_secret=reads_secret),
            dead_letter_queue=dead_letter_queue,
            retry_attempts=retry_attempts,
            vpc=self._network.vpc if self._network else None,
            vpc_subnets=self._network.subnets if self._network else None,
            security_groups=self._network.security_groups if self._network else None,
        )
        log_group.grant_write(role)
        acknowledge(
            function,
            "AwsSolutions-L1",
            f"The runtime is pinned by lambda.python_version ({config.lambda_.runtime_name}) in cdk.json, the one "
            "value the layer's binary wheels are built for; moving to a newer runtime is a deliberate change of it",
        )
        self._created.append(CreatedFunction(spec=spec, function=function, log_group=log_group))
        return function

    def _environment(self, spec: FunctionSpec, extra: Mapping[str, str], *, reads_secret: bool) -> dict[str, str]:
        config = self._config
        environment = {
            runtime_env.STAGE: config.stage,
            runtime_env.POWERTOOLS_SERVICE_NAME: config.service_name,
            runtime_env.POWERTOOLS_METRICS_NAMESPACE: config.observability.metrics_namespace,
            runtime_env.LOG_LEVEL: config.lambda_.log_level,
            runtime_env.PYDANTIC_DISABLE_PLUGINS: runtime_env.PYDANTIC_PLUGINS_DISABLED,
        }
        # Every function that writes a workflow checks its LLM configs against the gateways, not only
        # those that call one: the base URLs (never a key) go to all.
        for provider, gateway in config.llm.gateways.items():
            environment[runtime_env.llm_gateway_base_url(provider)] = gateway.base_url
        if reads_secret:
            environment.update(self._secrets_extension.environment)
        for use in spec.uses:
            environment.update(self._binding(spec, use).environment)
        clashes = sorted(set(extra) & set(environment))
        if clashes:
            raise ValueError(f"{spec.name}: extra environment redefines {clashes}")
        environment.update(extra)
        return environment

    def _binding(self, spec: FunctionSpec, use: str) -> UseBinding:
        try:
            return self._bindings[use]
        except KeyError:
            raise ValueError(
                f"{spec.name} uses '{use}' but nothing provides it yet: create the construct that owns it first"
            ) from None

    def _code_for(self, scope: Construct) -> lambda_.Code:
        stack_path = Stack.of(scope).node.path
        if stack_path not in self._code_by_stack:
            self._code_by_stack[stack_path] = lambda_.Code.from_asset(
                str(self._config.assets.lambdas_path), exclude=_ASSET_EXCLUDES
            )
        return self._code_by_stack[stack_path]

    def _role(self, scope: Construct, spec: FunctionSpec, *, shared: bool) -> iam.Role:
        key = "uses-" + ("-".join(sorted(spec.uses)) or "nothing") if shared else spec.name
        stack = Stack.of(scope)
        role = self._roles.get((stack.node.path, key))
        if role is not None:
            return role
        own_stack = stack is Stack.of(self)
        role = iam.Role(
            # In the function's own stack: the factory's for the event handlers, a route group's for routes
            # (named after it, so that a role's logical id says which group it serves).
            self if own_stack else stack,
            f"{'' if own_stack else stack.node.id}{construct_id(key.replace('-', '_'))}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=(
                f"Functions using {', '.join(sorted(spec.uses)) or 'no resources'}"
                if shared
                else f"The {spec.name} function"
            ),
        )
        for use in sorted(set(spec.uses)):
            binding = self._binding(spec, use)
            for statement in binding.statements:
                role.add_to_policy(statement)
            for accepted in binding.acknowledgments:
                acknowledge(role, accepted.rule_id, accepted.reason)
        # X-Ray's write actions support no resource-level permissions; CDK adds them for ACTIVE tracing.
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) only accept Resource '*'",
        )
        if self._network:
            role.add_managed_policy(self._network.execution_policy)
            acknowledge(
                role,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]",
                "Functions in a VPC need the ENI permissions of AWSLambdaVPCAccessExecutionRole; "
                "ec2:Describe* and ENI creation cannot be scoped to resources before the ENIs exist",
            )
        self._roles[(stack.node.path, key)] = role
        return role


class _Network:
    """The existing VPC, subnets and security groups from context (ids only: no lookups at synth)."""

    def __init__(self, scope: Construct, config: ServiceConfig) -> None:
        assert config.vpc is not None
        vpc_config = config.vpc
        self.vpc = ec2.Vpc.from_vpc_attributes(
            scope, "Vpc", vpc_id=vpc_config.vpc_id, availability_zones=list(vpc_config.availability_zones)
        )
        subnets = [
            ec2.Subnet.from_subnet_id(scope, f"Subnet{index}", subnet_id)
            for index, subnet_id in enumerate(vpc_config.subnet_ids)
        ]
        for subnet in subnets:
            # Functions only need subnet ids; nothing here reads the subnets' route tables.
            Annotations.of(subnet).acknowledge_warning(
                "@aws-cdk/aws-ec2:noSubnetRouteTableId", "Lambda VPC config uses subnet ids only"
            )
        self.subnets = ec2.SubnetSelection(subnets=subnets)
        self.security_groups = [
            ec2.SecurityGroup.from_security_group_id(scope, f"SecurityGroup{index}", group_id, mutable=False)
            for index, group_id in enumerate(vpc_config.security_group_ids)
        ]
        self.execution_policy = iam.ManagedPolicy.from_aws_managed_policy_name(
            "service-role/AWSLambdaVPCAccessExecutionRole"
        )
