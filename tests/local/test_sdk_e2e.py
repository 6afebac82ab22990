"""The product SDK's authoring path over HTTP against ``python -m local``, with the SDK's URLs and headers.

The SDK joins its paths (``v1/workflows``...) onto ``base_url`` (``<service>/workflows``), sends its own
headers beside the bearer key, encodes ``params={"fully_hydrate": True}`` as ``fully_hydrate=true``,
and drives turns with ``{"run_input": <WorkflowRunInput>, "run_id"?}``.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest

from tests.support.local_runtime import LocalService
from tests.support.sdk import fixture, fully_hydrated_problems, sdk_unwrap, without_llm_configs

SDK_HEADERS = {
    "teamid": "ignored-team",
    "uuid": "ignored-user",
    "X-Interactly-API-Version": "v1",
    "Accept": "application/json",
}


@pytest.fixture(scope="module")
def service():
    running = LocalService()
    yield running
    running.stop()


def sdk_path(service, path: str) -> str:
    """What the SDK requests for ``path`` with ``base_url = <service>/workflows``."""
    url = urljoin(service.base_url + "/workflows/", path.lstrip("/"))
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_create_from_config_get_fully_hydrated_and_a_handle_loop(service):
    # create_from_config
    status, created, _ = service.request(
        "POST",
        sdk_path(service, "/v1/workflows"),
        without_llm_configs(fixture("hydrated_create_three_nodes")),
        headers=SDK_HEADERS,
    )
    assert status == 200, created
    workflow_id = created["workflow"]["_id"]
    # get_fully_hydrated
    status, answer, _ = service.request(
        "GET", sdk_path(service, f"/v1/workflows/{workflow_id}?fully_hydrate=true"), headers=SDK_HEADERS
    )
    assert status == 200, answer
    assert fully_hydrated_problems(sdk_unwrap(answer)) == []
    # dynamic_variables
    status, variables, _ = service.request(
        "GET", sdk_path(service, f"/v1/workflows/dynamic-variables/{workflow_id}"), headers=SDK_HEADERS
    )
    assert (status, variables["dynamic_variables"]) == (200, {"customer": "Ada"})
    # the handle: two turns, the second echoing run_id
    turns = fixture("handle_run_inputs")
    execute = sdk_path(service, f"/v1/workflows/{workflow_id}/execute")
    status, first, _ = service.request("POST", execute, turns["first_turn"], headers=SDK_HEADERS)
    assert (status, first["status"]) == (200, "waiting_for_user_input"), first
    status, second, _ = service.request(
        "POST", execute, {**turns["later_turn"], "run_id": first["run_id"]}, headers=SDK_HEADERS
    )
    assert (status, second["status"]) == (200, "completed"), second
