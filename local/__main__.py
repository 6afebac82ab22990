"""``python -m local [--host H] [--port P]``: run the whole service locally (what ``make run`` does)."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from local.runtime import LocalRuntime


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    runtime = LocalRuntime.from_environment(args.host, args.port)
    base_url = runtime.start()
    storage = "MongoDB at MONGODB_URI" if runtime.settings.store.mongodb_uri else "embedded (in memory)"
    print(
        f"""
Workflow service running locally
  Base URL     {base_url}/workflows/v1
  Swagger UI   {base_url}/workflows/v1/docs
  Storage      {storage}
  API key      {runtime.dev_api_key}

Try:
  curl -s -H "Authorization: Bearer {runtime.dev_api_key}" {base_url}/workflows/v1/workflows

Local trigger queue (SQS emulation; never deployed):
  curl -s -X POST {base_url}/local/trigger-queue/messages -d '{{"workflow_id": "<id>", "idempotency_key": "k1"}}'

Press Ctrl-C to stop.
""",
        flush=True,
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        runtime.stop()


if __name__ == "__main__":
    main()
