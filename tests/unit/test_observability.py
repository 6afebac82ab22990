"""observability: every service line is JSON with the invocation's correlation keys, never a secret;
metrics are flushed once per invocation, also when the handler raises."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.support.api import Caller, proxy_event
from workflow_service import observability
from workflow_service.http.api import endpoint
from workflow_service.settings import RuntimeSettings


@pytest.fixture
def log_lines():
    """What the service's JSON handler writes, as parsed records."""
    handler = observability.configure_logging().registered_handler
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    handler.setStream(previous)


class LambdaContext:
    aws_request_id = "lambda-request-1"


def test_a_service_module_logger_writes_json_with_the_invocation_keys(log_lines):
    with observability.invocation(LambdaContext(), team_id="t1", run_id="r1"):
        logging.getLogger("workflow_service.runs.anything").info("run %s ended", "r1")
    logging.getLogger("workflow_service.runs.anything").info("after the invocation")

    during, after = log_lines()
    assert during["message"] == "run r1 ended"
    assert during["level"] == "INFO"
    assert during["service"] == RuntimeSettings().service_name
    assert (during["function_request_id"], during["team_id"], during["run_id"]) == ("lambda-request-1", "t1", "r1")
    assert "run_id" not in after and "function_request_id" not in after


def test_only_correlation_keys_may_be_appended():
    with pytest.raises(ValueError, match="api_key"):
        observability.append_keys(api_key="wfk_secret")


def test_a_none_value_removes_a_key_so_a_batch_record_does_not_inherit_the_last_run(log_lines):
    with observability.invocation(LambdaContext()):
        observability.append_keys(run_id="r1", message_id="m1")
        observability.append_keys(run_id=None, message_id="m2")
        logging.getLogger("workflow_service.x").warning("second record")
    (line,) = log_lines()
    assert line["message_id"] == "m2" and "run_id" not in line


def test_keys_belong_to_the_thread_that_appended_them(log_lines):
    # The local runtime serves requests on several threads of one process.
    appended, logged = threading.Event(), threading.Event()

    def other_request() -> None:
        with observability.invocation(LambdaContext(), team_id="other-team"):
            appended.set()
            logged.wait(5)

    thread = threading.Thread(target=other_request)
    thread.start()
    appended.wait(5)
    with observability.invocation(LambdaContext(), team_id="my-team"):
        logging.getLogger("workflow_service.x").info("mine")
    logged.set()
    thread.join(5)
    (line,) = log_lines()
    assert line["team_id"] == "my-team"


def test_metrics_are_flushed_when_the_handler_returns_and_when_it_raises():
    flushed: list[str] = []
    observability.flush_at_end_of_invocation(lambda: flushed.append("flush"))
    try:
        observability.observed(lambda event, context: "ok")({}, LambdaContext())
        with pytest.raises(RuntimeError):
            observability.observed(_raising)({}, LambdaContext())
    finally:
        observability._flushes.pop()
    assert flushed == ["flush", "flush"]


def _raising(event, context):
    raise RuntimeError("handler failed")


def test_an_api_request_logs_its_ids_and_never_its_credentials(log_lines):
    def failing(request):
        raise RuntimeError("boom")

    handler = endpoint("get_workflow", failing)
    caller = Caller(team_id="team-1", user_id="alice", api_key="wfk_never_logged")
    event = proxy_event(
        "get_workflow",
        path={"workflow_id": "a" * 24},
        caller=caller,
        headers={"Authorization": "Bearer wfk_never_logged"},
    )

    assert handler(event, LambdaContext())["statusCode"] == 500

    (line,) = log_lines()
    assert line["level"] == "ERROR"
    assert line["request_id"] == event["requestContext"]["requestId"]
    assert (line["route"], line["team_id"], line["user_id"], line["workflow_id"]) == (
        "get_workflow",
        "team-1",
        "alice",
        "a" * 24,
    )
    assert "wfk_never_logged" not in json.dumps(line)


def test_the_namespaces_are_routed_into_the_one_json_handler_at_the_configured_level():
    powertools = observability.configure_logging()
    for name in observability.LOGGER_NAMESPACES:
        namespace = logging.getLogger(name)
        assert powertools.registered_handler in namespace.handlers
        assert namespace.level == powertools.log_level


_POWERTOOLS_THEN_SDK = r"""
import json, sys
{preload}
from workflow_service.observability import load_powertools
load_powertools()
from aws_lambda_powertools.shared import user_agent
loaded_with_powertools = "botocore" in sys.modules
import botocore.session  # the SDK stays importable afterwards
print(json.dumps([loaded_with_powertools, user_agent.inject_header]))
"""


@pytest.mark.parametrize(
    ("preload", "expected"),
    [
        # A handler that calls no AWS service: Powertools comes without botocore (and without its hook).
        ("", [False, False]),
        # A process that already uses the SDK: nothing hidden, Powertools' User-Agent hook registered.
        ("import botocore", [True, True]),
    ],
)
def test_powertools_is_imported_without_botocore_unless_the_sdk_is_already_loaded(preload, expected):
    repo = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", _POWERTOOLS_THEN_SDK.format(preload=preload)],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": f"{repo}/layers/domain/python", "PATH": ""},
    )
    assert json.loads(result.stdout) == expected


_COLLECTOR_ACROSS_A_COLD_START = """
import gc, json, types
import lambdas_probe  # noqa: F401  (stands in for a handler module: the package first, then its imports)
from workflow_service import observability
import pydantic  # a third-party import the handler makes before its first invocation
during_import = gc.isenabled()
with observability.invocation(types.SimpleNamespace(aws_request_id="r-1")):
    during_first_invocation = (gc.isenabled(), gc.get_freeze_count())
with observability.invocation(types.SimpleNamespace(aws_request_id="r-2")):
    during_second_invocation = (gc.isenabled(), gc.get_freeze_count())
print(json.dumps([during_import, during_first_invocation, during_second_invocation]))
"""


@pytest.mark.parametrize("in_lambda", [True, False])
def test_the_collector_is_paused_from_the_package_import_to_the_first_invocation_only_in_lambda(tmp_path, in_lambda):
    # Given a process that imports the domain package and a handler's dependencies, in Lambda or not
    (tmp_path / "lambdas_probe.py").write_text("import workflow_service\n")
    repo = Path(__file__).resolve().parents[2]
    environment = {"PYTHONPATH": f"{tmp_path}:{repo}/layers/domain/python", "PATH": ""}
    if in_lambda:
        environment["AWS_LAMBDA_FUNCTION_NAME"] = "execute_workflow"

    # When it is invoked twice
    result = subprocess.run(
        [sys.executable, "-c", _COLLECTOR_ACROSS_A_COLD_START],
        capture_output=True,
        text=True,
        check=True,
        env=environment,
    )
    during_import, (first_enabled, first_frozen), (second_enabled, second_frozen) = json.loads(result.stdout)

    # Then in Lambda the imports ran with the collector paused, and the first invocation froze what they
    # made and resumed it; elsewhere (local runtime, tests, CLI) the collector is never touched
    assert during_import is (not in_lambda)
    assert first_enabled and second_enabled
    if in_lambda:
        assert first_frozen > 10_000  # pydantic's and our modules' objects, never walked again
        # Frozen once, at the first invocation: the second adds nothing (a frozen object freed leaves it)
        assert second_frozen <= first_frozen
    else:
        assert first_frozen == second_frozen == 0
