"""The local runtime: runs the service's real Lambda handlers on a developer machine; never deployed.

``python -m local`` starts it. ``local.gateway`` emulates the REST API in API Gateway; the SQS, Scheduler
and reaper emulation live next to it and in ``workflow_service.adapters.local``.
"""
