"""``python -m local [--host H] [--port P]``: run the whole service locally (what ``make run`` does)."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from local.data_file import LocalDataFileError
from local.runtime import LocalRuntime
from workflow_service import observability


def banner(base_url: str, dev_api_key: str, storage: str) -> str:
    """What ``make run`` prints: where the service is, the key to call it with, and a first curl."""
    auth = f'-H "Authorization: Bearer {dev_api_key}"'
    return f"""
Workflow service running locally
  Base URL     {base_url}/workflows/v1
  Swagger UI   {base_url}/workflows/v1/docs
  Storage      {storage}
  API key      {dev_api_key}

Try:
  curl -s {auth} {base_url}/workflows/v1/workflows

Local-only endpoints (they need that key; never deployed):
  curl -s {auth} -X POST {base_url}/local/trigger-queue/messages -d '{{"workflow_id": "<id>"}}'
  curl -s {auth} -X POST {base_url}/local/teams -d '{{"name": "Team B"}}'
  curl -s {auth} -X POST {base_url}/local/teams/<team_id>/keys -d '{{"user_id": "bob"}}'

Press Ctrl-C to stop.
"""


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    # Third-party libraries' own warnings still reach the terminal; ours are the deployed JSON lines.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    runtime = LocalRuntime.from_environment(args.host, args.port)
    observability.configure_logging(runtime.settings.runtime)
    try:
        base_url = runtime.start()
    except LocalDataFileError as unusable:
        raise SystemExit(f"WORKFLOWS_LOCAL_DATA_FILE: {unusable}") from None
    print(banner(base_url, runtime.dev_api_key, runtime.storage_description), flush=True)
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
