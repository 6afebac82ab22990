"""The local runtime: runs the service's real Lambda handlers on a developer machine; never deployed.

``python -m local`` starts it (``local.runtime``). Everything that emulates AWS lives here:

- API Gateway: ``gateway`` (routing), ``authorizer`` (TOKEN authorizer, policy evaluation and
  cache), ``proxy_integration`` (proxy events and responses), ``gateway_responses``, and
  ``http_server`` (HTTP framing);
- Lambda: ``lambda_runtime`` (handler import, context objects), ``sqs_event_source`` (queue
  pollers and partial batch responses);
- EventBridge: ``scheduler_emulation`` (fires due schedules into the schedule-target handler) and
  ``reaper_emulation`` (the reaper's rate rule);
- the SQS-fed consumers: ``trigger_queue_emulation``, ``worker_emulation`` and
  ``webhook_delivery_emulation`` (outbound webhook deliveries).

Every timer runs on ``background_loop.BackgroundLoop``. The port implementations these feed from
(the local SQS queue, the in-memory scheduler, the local work queue) are adapters in
``workflow_service.adapters.local``; the layer never imports this package.
"""
