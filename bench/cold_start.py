"""Cold start per handler: import + wiring + first request in a fresh interpreter, in two configurations,
against the bare import of the third-party modules that handler pulls in (the floor). Budget: our code
adds at most 10% to that floor (DESIGN.md section 10).

Configurations:
- ``production``: the MongoDB URI comes from Secrets Manager through the Parameters and Secrets Lambda
  Extension, which this bench emulates on 127.0.0.1:2773 (local/secrets_extension_emulation.py). The
  secret names a server nobody listens on, with a 100 ms server selection timeout, so a request that
  reaches the database answers 503 quickly: the cold path is measured, not MongoDB.
  The domain package is the one the layer ships: copied by the layer build's own step
  (``scripts/build_layer.stage_domain_package``), prebuilt documents included.
- ``local``: the local runtime's configuration (the embedded in-memory store), from the source tree.

Every run is CPU time (process_time), which other processes on a shared machine disturb far less than
wall time. The floor is the bare import of exactly the third-party modules (submodules included) that
a first run of the handler left loaded. Each measured process imports the floor first, timed, and
then runs the handler's cold path, timed: the ratio is taken per process, then its median over the
runs, so a sample's two sides share the machine's state. (The handler's own work is the same either
way: what the floor imported first, the handler would have imported.)

Beside the timed figure sits a steadier one: our modules' own import time, the sum of the self times
``python -X importtime`` reports for ``workflow_service.*`` and the handler module (median of the
runs). Floor and handler run under the same ``-X importtime``, so its small overhead is on both sides
of the ratio.
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BUDGET_RATIO = 1.10
EXTENSION_PORT = 2773
SESSION_TOKEN = "bench-session-token"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:workflow-service/bench/mongodb-AbCdEf"
# Nobody listens on port 1: server selection fails after the timeout, and the request answers 503.
UNREACHABLE_MONGODB_URI = "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=100"
OBJECT_ID = "65a1b2c3d4e5f60718293a4b"
TEAM_ID = "65a1b2c3d4e5f60718293a4c"

# The production configuration runs for this representative subset (all 56 handlers in both
# configurations take several minutes on a small machine): the reads and writes of each capability,
# the handlers that call AWS (schedules, the SQS-fed consumers, the reaper) and the authorizer.
# ``python -m bench <repeats> all`` measures every handler in both.
PRODUCTION_SAMPLE = (
    "list_workflows",
    "get_workflow",
    "get_workflow_run",
    "create_workflow",
    "execute_workflow",
    "create_workflow_schedule",
    "receive_webhook",
    "get_openapi",
    "authorizer",
    "schedule_target",
    "run_worker",
    "reaper",
)
# What shipping bytecode in the layer saves: the same reads with every third-party and domain module
# compiled from source, as in a layer without bytecode (Lambda mounts layers read-only, so Python
# cannot cache what it compiles; the standard library ships its own bytecode and stays cached).
NO_BYTECODE_SAMPLE = ("list_workflows", "get_workflow")
# What the extension saves: the same reads with the extension absent, so the secret is read through
# boto3 (the path every handler took before the extension). Secrets Manager's endpoint is a closed
# port here, so the call fails at once; the cost measured is importing boto3 and building its client.
SDK_FALLBACK_SAMPLE = ("list_workflows", "get_workflow")

COMMON_ENVIRONMENT = {
    "PYTHONPATH": f"{REPO}/layers/domain/python:{REPO}/lambdas:{REPO}",
    "PATH": "/usr/bin:/bin",
    "AWS_DEFAULT_REGION": "us-east-1",
}
# What the stack gives every deployed function. Not the local runtime: with these set it would use
# EventBridge and SQS (and import boto3) instead of its in-process scheduler and queues.
DEPLOYED_ENVIRONMENT = {
    **COMMON_ENVIRONMENT,
    "SCHEDULE_TARGET_ARN": "arn:aws:lambda:us-east-1:000000000000:function:target",
    "SCHEDULER_ROLE_ARN": "arn:aws:iam::000000000000:role/scheduler",
    "SCHEDULE_DLQ_ARN": "arn:aws:sqs:us-east-1:000000000000:dlq",
    "RUN_WORK_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/000000000000/work",
    "TRIGGER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/000000000000/triggers",
    "PYDANTIC_DISABLE_PLUGINS": "__all__",
}


# The URI in Secrets Manager, and a short server selection timeout so an unreachable server answers fast.
PRODUCTION_STORE = {
    **DEPLOYED_ENVIRONMENT,
    # Lambda sets it in every execution environment; the domain package pauses the garbage collector
    # for the cold start when it is present.
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
    "STAGE": "bench",
    "MONGODB_SECRET_ARN": SECRET_ARN,
    "MONGODB_SERVER_SELECTION_TIMEOUT_MS": "100",
}


def environments(
    extension_port: int, layer_site: Path | None = None, stdlib_bytecode: Path | None = None
) -> dict[str, dict[str, str]]:
    """The environment of each configuration; ``layer_site`` holds the domain package as the layer ships
    it, ``stdlib_bytecode`` a bytecode cache holding only the standard library's."""
    shipped = {"PYTHONPATH": f"{layer_site}:{REPO}/lambdas:{REPO}"} if layer_site else {}
    production = {
        **PRODUCTION_STORE,
        **shipped,
        "AWS_SESSION_TOKEN": SESSION_TOKEN,
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(extension_port),
    }
    uncached = {"PYTHONPYCACHEPREFIX": str(stdlib_bytecode), "PYTHONDONTWRITEBYTECODE": "1"} if stdlib_bytecode else {}
    return {
        "production": production,
        "production, layer without bytecode": {**production, **uncached},
        "production, SDK fallback": {
            **PRODUCTION_STORE,
            **shipped,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://127.0.0.1:1",
            "AWS_MAX_ATTEMPTS": "1",
        },
        "local": {**COMMON_ENVIRONMENT, "STAGE": "local", "WORKFLOWS_LOCAL_RUNTIME": "true"},
    }


def stdlib_only_bytecode_cache(cache: Path, environment: dict[str, str]) -> Path:
    """A ``PYTHONPYCACHEPREFIX`` tree holding the standard library's bytecode and nothing else: a
    handler run under it compiles every other module from source, as it would from a layer without
    bytecode."""
    import sysconfig

    handler = NO_BYTECODE_SAMPLE[0]
    warm_up = "floor = 0.0\n" + _HANDLER.format(module=handler, wired=wired_members(handler))
    _run(warm_up, {**environment, "PYTHONPYCACHEPREFIX": str(cache)}, json.dumps(first_event(handler)))
    stdlib = Path(sysconfig.get_paths()["stdlib"]).relative_to("/")
    kept = cache.with_name(cache.name + "-stdlib")
    shutil.move(cache / stdlib, kept)
    shutil.rmtree(cache)
    (cache / stdlib).parent.mkdir(parents=True)
    shutil.move(kept, cache / stdlib)
    return cache


def wired_members(handler: str) -> list[list[str]]:
    """The Services members a handler's first request builds: the attribute paths its module reaches
    for (``services().runs.turns.execute`` -> ``["runs", "turns", "execute"]``)."""
    source = (REPO / "lambdas" / f"{handler}.py").read_text()
    paths = {tuple(path.split(".")[1:]) for path in re.findall(r"services\(\)((?:\.\w+)+)", source)}
    return [list(path) for path in sorted(paths)]


def first_event(handler: str) -> dict[str, Any]:
    """A first request for ``handler``: its API Gateway proxy event (ids filled in, body ``{}``), or
    the event its AWS source sends."""
    from local.proxy_integration import IncomingRequest, build_proxy_event
    from workflow_service.http.routes import route_table

    sqs_record = {"messageId": "m-1", "receiptHandle": "r-1", "attributes": {}, "eventSource": "aws:sqs"}
    events: dict[str, dict[str, Any]] = {
        "authorizer": {
            "type": "TOKEN",
            "authorizationToken": "Bearer wfk_bench",
            "methodArn": "arn:aws:execute-api:us-east-1:000000000000:api/bench/GET/workflows/v1/workflows",
        },
        "schedule_target": {"schedule_id": OBJECT_ID, "kind": "one_time", "scheduled_time": "2030-01-01T09:00:00Z"},
        "trigger_queue_consumer": {"Records": [{**sqs_record, "body": json.dumps({"workflow_id": OBJECT_ID})}]},
        "run_worker": {"Records": [{**sqs_record, "body": json.dumps({"run_id": OBJECT_ID})}]},
        "reaper": {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}},
        "deliver_webhook_events": {"Records": [{**sqs_record, "body": json.dumps({"event_id": "0" * 24})}]},
    }
    if handler in events:
        return events[handler]
    route = next(route for route in route_table() if route.name == handler)
    parameters = {name: OBJECT_ID for name in re.findall(r"{(\w+)}", route.path)}
    path = route.path
    for name, value in parameters.items():
        path = path.replace("{" + name + "}", value)
    has_body = route.method in ("POST", "PUT", "PATCH")
    request = IncomingRequest(
        method=route.method,
        raw_path=path,
        headers=(("Content-Type", "application/json"), ("Authorization", "Bearer wfk_bench")),
        body=b"{}" if has_body else b"",
    )
    authorizer = {"team_id": TEAM_ID, "user_id": "bench", "principalId": "bench"}
    return build_proxy_event(route, request, parameters, authorizer=authorizer, stage="bench")


# The handler's cold path: import, wiring, first request. Run alone first, to learn which third-party
# modules it loads (the floor); then after ``_FLOOR_PRELUDE`` in the same process, so each sample pairs
# a floor with a handler run on the same machine state.
_HANDLER = r"""
import functools, json, sys, time, types
event = json.loads(sys.stdin.read())
context = types.SimpleNamespace(
    function_name={module!r}, function_version="$LATEST", memory_limit_in_mb="512",
    invoked_function_arn="arn:aws:lambda:us-east-1:000000000000:function:" + {module!r},
    aws_request_id="bench-request", get_remaining_time_in_millis=lambda: 30000,
)
started = time.process_time()
import {module} as handler_module
from workflow_service import wiring
try:
    container = wiring.services()
    for path in {wired!r}:
        # Follow the containers down to the use case, building each; a method ends the path.
        target = container
        for name in path:
            member = getattr(type(target), name, None)
            if not (isinstance(member, (property, functools.cached_property)) or name in vars(target)):
                break
            target = getattr(target, name)
    response = handler_module.handler(event, context)
    if isinstance(response, dict) and "statusCode" in response:
        answer = str(response["statusCode"])
    elif isinstance(response, dict) and "batchItemFailures" in response:
        answer = "sqs:%d failed" % len(response["batchItemFailures"])
    else:
        answer = "ok"
except Exception as error:
    answer = type(error).__name__
done = time.process_time()
ours = ("workflow_service", "local", {module!r})
stdlib = set(sys.stdlib_module_names)
# Every third-party module the handler loaded, submodules included: several packages (pydantic
# above all) import their heavy parts lazily, on first use, so top-level names alone undercount.
third_party = sorted(
    name for name in sys.modules
    if name.split(".")[0] not in stdlib and name.split(".")[0] not in ours
    and not name.startswith("_") and name != "__main__" and sys.modules[name] is not None
)
print(json.dumps({{"floor": floor, "total": done - started, "answer": answer, "third_party": third_party}}))
"""

# The floor: the third-party modules the handler loads, imported the way it imports them (where its
# Powertools came without botocore, observability.load_powertools hid botocore while Powertools' package
# init ran; so does the floor, and then unhides it as load_powertools does).
_FLOOR_PRELUDE = r"""
import sys, time
started = time.process_time()
packages = {packages!r}
hide_botocore = "aws_lambda_powertools" in packages and "botocore" not in packages
if hide_botocore:
    sys.modules["botocore"] = None
for name in packages:
    try:
        __import__(name)
    except Exception:
        pass
if hide_botocore:
    del sys.modules["botocore"]
floor = time.process_time() - started
"""

_IMPORT_TIME = re.compile(r"^import time:\s+(\d+)\s+\|\s+\d+\s+\|\s+(\S.*)$")


def own_import_microseconds(stderr: str, module: str) -> int:
    """The sum of ``-X importtime`` self times of our modules (``workflow_service.*`` and ``module``)."""
    total = 0
    for line in stderr.splitlines():
        match = _IMPORT_TIME.match(line)
        if match:
            name = match.group(2).strip()
            if name == module or name == "workflow_service" or name.startswith("workflow_service."):
                total += int(match.group(1))
    return total


def _run(code: str, environment: dict[str, str], stdin: str = "") -> tuple[dict[str, Any], str]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        cwd=REPO,
        check=True,
        timeout=120,
    )
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def paired_program(module: str, environment: dict[str, str]) -> tuple[str, str, dict[str, Any]]:
    """The program that imports ``module``'s third-party floor and then runs its cold path, the first
    event it gets, and the discovery run that found the floor (its ``answer`` and ``third_party``)."""
    handler_code = _HANDLER.format(module=module, wired=wired_members(module))
    event = json.dumps(first_event(module))
    discovery, _ = _run("floor = 0.0\n" + handler_code, environment, event)
    return _FLOOR_PRELUDE.format(packages=discovery["third_party"]) + handler_code, event, discovery


def _handler_runs(module: str, environment: dict[str, str], repeats: int) -> dict[str, Any]:
    """``repeats`` fresh processes, each timing the floor and then the handler's cold path.

    Timing both in one process pairs them: a machine that is slower for a while (other tenants, CPU
    frequency) slows both sides of that sample's ratio. Timed apart, the two medians drifted by up to
    ±20% from run to run, more than the budget's 10%.
    """
    paired, event, discovery = paired_program(module, environment)
    runs = [_run(paired, environment, event) for _ in range(repeats)]
    return {
        "total": statistics.median(sample["floor"] + sample["total"] for sample, _ in runs),
        "floor": statistics.median(sample["floor"] for sample, _ in runs),
        "ratio": statistics.median((sample["floor"] + sample["total"]) / sample["floor"] for sample, _ in runs),
        "own_import_us": statistics.median(own_import_microseconds(stderr, module) for _, stderr in runs),
        "answer": discovery["answer"],
        "third_party": discovery["third_party"],
    }


def handlers() -> list[str]:
    from workflow_service.http.routes import event_handlers, route_table

    return [route.name for route in route_table()] + [handler.name for handler in event_handlers()]


def rows(repeats: int = 3, *, every_handler_in_production: bool = False, workers: int = 1) -> list[dict[str, Any]]:
    """One row per (configuration, handler): the timed figure, its floor and ratio, our own import time.

    ``workers`` > 1 runs that many fresh processes at once: faster, but on a small machine the runs
    disturb each other (``-X importtime`` is wall time), so the default is one at a time.
    """
    import compileall
    import tempfile

    from local.secrets_extension_emulation import EmulatedSecretsExtension
    from scripts.build_layer import stage_domain_package

    scratch = tempfile.TemporaryDirectory(prefix="bench-layer-")
    layer_site = Path(scratch.name) / "python"
    stage_domain_package(layer_site)
    # Byte-compile first: a module compiled during a measured run would add its compile time to its
    # import self time (the deterministic figure) and to that run's total.
    for tree in (str(layer_site), str(REPO / "layers/domain/python"), str(REPO / "lambdas")):
        compileall.compile_dir(tree, quiet=1)
    try:
        extension = EmulatedSecretsExtension(
            {SECRET_ARN: UNREACHABLE_MONGODB_URI}, session_token=SESSION_TOKEN, port=EXTENSION_PORT
        )
    except OSError:  # 2773 is taken on this machine (another bench?): any free port, told to the handlers
        extension = EmulatedSecretsExtension({SECRET_ARN: UNREACHABLE_MONGODB_URI}, session_token=SESSION_TOKEN, port=0)
    try:
        cache = stdlib_only_bytecode_cache(
            Path(scratch.name) / "stdlib-bytecode", environments(extension.port, layer_site)["production"]
        )
        configured = environments(extension.port, layer_site, cache)
        everything = handlers()
        plan = [("production", name) for name in (everything if every_handler_in_production else PRODUCTION_SAMPLE)]
        plan += [("production, layer without bytecode", name) for name in NO_BYTECODE_SAMPLE]
        plan += [("production, SDK fallback", name) for name in SDK_FALLBACK_SAMPLE]
        plan += [("local", name) for name in everything]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            measured = list(pool.map(lambda job: _handler_runs(job[1], configured[job[0]], repeats), plan))
    finally:
        extension.close()
        scratch.cleanup()
    table = []
    for (config, name), sample in zip(plan, measured, strict=True):
        ratio = round(sample["ratio"], 3)
        table.append(
            {
                "config": config,
                "handler": name,
                "first_answer": sample["answer"],
                "import_wiring_request_ms": round(sample["total"] * 1000, 1),
                "third_party_floor_ms": round(sample["floor"] * 1000, 1),
                "ratio": ratio,
                "own_import_ms": round(sample["own_import_us"] / 1000, 1),
                # Whether any of the AWS SDK (boto3, botocore, even its bare package) was loaded.
                "aws_sdk": any(module.split(".")[0] in ("boto3", "botocore") for module in sample["third_party"]),
                "ok": ratio <= BUDGET_RATIO,
            }
        )
    return table
