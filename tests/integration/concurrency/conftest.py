from __future__ import annotations

import pytest

from tests.integration.concurrency.helpers import short_timeout_settings
from workflow_service.settings import Settings


@pytest.fixture
def settings() -> Settings:
    return short_timeout_settings()
