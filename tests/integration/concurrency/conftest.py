from __future__ import annotations

import pytest
from workflow_service.settings import Settings

from tests.integration.concurrency.helpers import short_timeout_settings


@pytest.fixture
def settings() -> Settings:
    return short_timeout_settings()
