"""GET /workflows/v1/concurrency: the team's limit, slot holders and queue, per workflow too."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.concurrency_overview import ConcurrencyOverview
from workflow_service.wiring import services


def get_concurrency(request: ApiRequest) -> ConcurrencyOverview:
    return services().concurrency.overview.overview(request.caller.team_id)


handler = endpoint("get_concurrency", get_concurrency)
