"""Issue 11, item 8: schemathesis over every operation of the local runtime's own OpenAPI document.

Given the local runtime (outbound calls restricted to https on public addresses, no DNS lookups and
no connection off this machine, see offline_runtime) with real workflows, versions, runs, schedules
and triggers, when every operation gets bounded positive and negative cases under one fixed seed,
then no answer is a 5xx and every answer matches the documented response schema. The other default
checks are run too and their counts printed (they may fail: e.g. a cron expression the schema cannot
describe as invalid is refused with a 422 that ``positive_data_acceptance`` counts).
"""

from __future__ import annotations

import collections
import threading

import pytest

from tests.fuzz.driver import REQUIRED_CHECKS, FuzzTarget, fuzz
from tests.fuzz.seed import seed
from tests.support.local_runtime import LocalService

# Nothing a fuzzed http_request or tool node names can be reached: the launcher refuses the rest.
OFFLINE_SETTINGS = {
    "HTTP_NODE_ALLOW_LOOPBACK": "false",
    "HTTP_NODE_ALLOW_PRIVATE_NETWORKS": "false",
    "HTTP_NODE_REQUIRE_HTTPS": "true",
}
MAX_EXAMPLES_PER_OPERATION = 80
TIME_BUDGET_SECONDS = 150  # the fuzzing itself; start-up and seeding add a few seconds (issue: at most 3 min)


@pytest.fixture(scope="module")
def service():
    running = LocalService(env=OFFLINE_SETTINGS, module="tests.fuzz.offline_runtime")
    # The runtime logs every refused request: read its output continuously so the pipe never fills
    # (a full pipe would block the service), keeping the tail for a failure's report.
    tail: collections.deque[str] = collections.deque(maxlen=400)
    reader = threading.Thread(target=lambda: tail.extend(running.process.stdout), daemon=True)
    reader.start()
    running.log_tail = tail
    yield running
    running.stop()


def test_fuzzing_every_operation_finds_no_server_error_and_no_response_schema_violation(service):
    ids = seed(service)
    status, document, _ = service.request("GET", "/workflows/v1/openapi.json", api_key=None)
    assert status == 200

    report = fuzz(
        document,
        FuzzTarget(service.base_url, service.api_key, ids),
        max_examples=MAX_EXAMPLES_PER_OPERATION,
        time_budget_seconds=TIME_BUDGET_SECONDS,
    )

    print("\n" + report.summary())
    assert report.operations == len([1 for path in document["paths"].values() for _ in path])
    assert report.cases >= report.operations * 10, "too few cases to mean anything: " + report.summary()
    assert report.statuses[404] < report.cases / 2, "most cases stopped at a 404: the seeded ids were not used"
    failures = {check: report.failures(check) for check in REQUIRED_CHECKS}
    assert failures == dict.fromkeys(REQUIRED_CHECKS, 0), (
        report.summary()
        + "\n\n"
        + report.failure_samples(REQUIRED_CHECKS)
        + "\n\nservice log tail:\n"
        + "".join(list(service.log_tail)[-60:])
    )
