"""The README's webhook receiver, run verbatim as a subprocess, verifies real deliveries and refuses forgeries."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.webhooks.conftest import emit
from tests.support.local_runtime import free_port
from tests.unit.webhooks.support import SECRET
from workflow_service.ports.webhooks import WebhookEventStatus

README = Path(__file__).resolve().parents[3] / "README.md"
RECEIVER_BLOCK = re.compile(r"<!-- webhook-receiver -->\n```python\n(.*?)```", re.DOTALL)


@pytest.fixture
def readme_receiver() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    (code,) = RECEIVER_BLOCK.findall(README.read_text(encoding="utf-8"))
    assert len(code.strip().splitlines()) <= 20, "the README promises a short receiver"
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        env={"WEBHOOK_SECRET": SECRET, "PORT": str(port), "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the README receiver did not start: {process.communicate()[1]}")
            time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/", process
    finally:
        process.kill()
        process.communicate()


def test_the_readme_receiver_accepts_a_signed_delivery_and_refuses_a_forged_one(
    services, subscriptions, readme_receiver
):
    from tests.unit.webhooks.support import a_subscription

    url, process = readme_receiver
    subscription = subscriptions.add(a_subscription(url=url))
    event = emit(services, subscription)
    # When the event is delivered to the README's receiver
    services.webhooks.delivery.deliver(event.event_id)
    # Then it verified the signature (204) and printed the event id and action
    stored = services.webhooks.events.get(event.event_id)
    assert (stored.status, stored.last_status_code) == (WebhookEventStatus.DELIVERED, 204)
    # And a request with a forged signature is refused
    forged = urllib.request.Request(
        url,
        data=b'{"action":"workflow_deleted"}',
        headers={"webhook-id": "x", "webhook-timestamp": str(int(time.time())), "webhook-signature": "v1,Zm9yZ2Vk"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(forged, timeout=5)
    assert refused.value.code == 401
    process.kill()
    stdout, _ = process.communicate()
    assert stdout.splitlines() == [f"{event.event_id} workflow_run_completed"]
