"""What each handler loads on its cold path (import + first request) in the production configuration,
derived from the route table's ``uses``, so that a route added later is held to the same rule:

- a handler whose row uses no AWS service (no ``scheduler``, no ``work_queue``) loads no AWS SDK,
  not even the bare ``botocore`` package;
- a handler whose row does not use ``llm`` loads neither the workflow engine nor the LLM adapters;
- with tracing off, no handler loads the X-Ray SDK.

The first request is the bench's (bench/cold_start.first_event), against a MongoDB nobody listens
on, so the check covers what a 503 costs: the secret read, the store wiring, the error path.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

from bench.cold_start import first_event
from local.secrets_extension_emulation import EmulatedSecretsExtension
from workflow_service.http.routes import event_handlers, route_table

REPO = Path(__file__).resolve().parents[3]
TOKEN = "session-token-of-this-container"
ARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:workflow-service/prod/mongodb-AbCdEf"
AWS_SERVICES = {"scheduler", "work_queue"}

# Serves each handler's first request in turn, in one fresh interpreter, and prints which of the watched
# modules each one brought in (the first handler to load a module is the one named).
_SERVE_IN_TURN = r"""
import json, sys, types
plan = json.loads(sys.stdin.read())
watched = ("boto3", "botocore", "aws_xray_sdk", "workflow_service.engine", "workflow_service.adapters.llm")
context = types.SimpleNamespace(
    aws_request_id="cold-path", function_name="f", get_remaining_time_in_millis=lambda: 30000
)
brought = {}
for name, event in plan:
    before = set(sys.modules)
    module = __import__(name)
    try:
        module.handler(event, context)
    except Exception:
        pass  # an event handler may raise on an unreachable store: what it loaded is what is checked
    brought[name] = sorted(m for m in set(sys.modules) - before if m == "botocore" or m.startswith(watched))
print(json.dumps(brought))
"""


def forbidden_for(uses: tuple[str, ...]) -> tuple[str, ...]:
    """The module prefixes a handler with these ``uses`` must not load on its cold path."""
    prefixes = ["aws_xray_sdk"]
    if not set(uses) & AWS_SERVICES:
        prefixes += ["boto3", "botocore"]
    if "llm" not in uses:
        prefixes += ["workflow_service.engine", "workflow_service.adapters.llm"]
    return tuple(prefixes)


def production_environment(extension_port: int) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": f"{REPO}/layers/domain/python:{REPO}/lambdas:{REPO}",
        "STAGE": "prod",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MONGODB_SECRET_ARN": ARN,
        "MONGODB_SERVER_SELECTION_TIMEOUT_MS": "100",
        "AWS_SESSION_TOKEN": TOKEN,
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(extension_port),
    }


def unreachable_store_extension() -> EmulatedSecretsExtension:
    return EmulatedSecretsExtension(
        {ARN: "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=100"}, session_token=TOKEN, port=0
    )


def test_each_handler_loads_only_what_its_route_table_row_uses():
    # Given the production configuration (the URI from the emulated secrets extension, tracing off)
    extension = unreachable_store_extension()
    environment = production_environment(extension.port)
    uses = {route.name: route.uses for route in route_table()}
    uses.update({handler.name: handler.uses for handler in event_handlers()})
    # Those held to the strictest rule first, so a module a laxer handler may load cannot hide them.
    order = sorted(uses, key=lambda name: -len(forbidden_for(uses[name])))
    plan = [(name, first_event(name)) for name in order]
    try:
        # When each handler is imported and serves its first request
        result = subprocess.run(
            [sys.executable, "-c", _SERVE_IN_TURN],
            input=json.dumps(plan),
            capture_output=True,
            text=True,
            env=environment,
            cwd=REPO,
            timeout=300,
            check=True,
        )
    finally:
        extension.close()
    brought = json.loads(result.stdout.strip().splitlines()[-1])
    # Then none loaded what its row does not use
    violations = {
        name: [module for module in modules if module.startswith(forbidden_for(uses[name]))]
        for name, modules in brought.items()
    }
    assert {name: modules for name, modules in violations.items() if modules} == {}
    assert set(brought) == set(uses)


# What a read has no use for: the webhook outbox (built on the first write), the LLM call shapes (turns
# only), the OpenAPI generator, the settings of schedules, concurrency and deliveries.
_READ_HAS_NO_USE_FOR = (
    "workflow_service.webhooks",
    "workflow_service.models.llm_calls",
    "workflow_service.http.openapi",
    "workflow_service.settings.schedules",
    "workflow_service.settings.concurrency",
    "workflow_service.settings.webhooks",
)

_A_LIST_HAS_NO_USE_FOR = (
    "workflow_service.models.workflows",
    "workflow_service.models.workflow_config",
    "workflow_service.models.hydrated",
    "workflow_service.models.llm",
)


def test_a_workflow_read_declares_none_of_what_only_writes_and_turns_use():
    extension = unreachable_store_extension()
    try:
        for name in ("list_workflows", "get_workflow"):
            # When the read serves its first request in a fresh interpreter
            result = subprocess.run(
                [sys.executable, "-c", _SERVE_IN_TURN.replace("watched = (", "watched = ('workflow_service', ")],
                input=json.dumps([(name, first_event(name))]),
                capture_output=True,
                text=True,
                env=production_environment(extension.port),
                cwd=REPO,
                timeout=120,
                check=True,
            )
            loaded = json.loads(result.stdout.strip().splitlines()[-1])[name]
            # Then it loaded the workflow models it answers with, and nothing a read has no use for
            assert "workflow_service.models.workflow_summaries" in loaded
            assert [module for module in loaded if module.startswith(_READ_HAS_NO_USE_FOR)] == [], name
            # and a list, which shows no config, no config model either
            if name == "list_workflows":
                assert [module for module in loaded if module.startswith(_A_LIST_HAS_NO_USE_FOR)] == []
            else:
                assert "workflow_service.models.workflow_config" in loaded
    finally:
        extension.close()


def _module_level_powertools_imports(tree: ast.Module) -> list[tuple[int, bool]]:
    """(line, preceded by a module-level ``load_powertools()`` call) of each module-level Powertools import."""
    found, loaded = [], False
    for statement in tree.body:
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            loaded = loaded or getattr(statement.value.func, "id", None) == "load_powertools"
        names = []
        if isinstance(statement, ast.ImportFrom) and statement.module:
            names = [statement.module]
        elif isinstance(statement, ast.Import):
            names = [alias.name for alias in statement.names]
        if any(name.split(".")[0] == "aws_lambda_powertools" for name in names):
            found.append((statement.lineno, loaded))
    return found


def test_handlers_and_the_layer_import_powertools_only_after_load_powertools():
    # The test above serves every handler in one interpreter: once one of them has initialised Powertools
    # (with botocore hidden), a later plain import loads no botocore there, though it would in the
    # handler's own container. So the order is checked where it is written.
    sources = [*sorted((REPO / "lambdas").glob("*.py")), *sorted((REPO / "layers/domain/python").rglob("*.py"))]
    unguarded = {
        str(path.relative_to(REPO)): line
        for path in sources
        for line, loaded in _module_level_powertools_imports(ast.parse(path.read_text(encoding="utf-8")))
        if not loaded
    }
    assert unguarded == {}
