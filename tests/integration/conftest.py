"""Fixtures shared by the integration suites."""

from __future__ import annotations

import pytest

from tests.support.webhook_outbox import Hooks, install_hooks


@pytest.fixture
def hooks(services) -> Hooks:
    """In-memory webhook subscriptions, event store and delivery queue (tests/support/webhook_outbox.py)."""
    return install_hooks(services)
