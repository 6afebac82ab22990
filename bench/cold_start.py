"""Cold start per handler: import + wiring in a fresh interpreter, against the bare import of the
third-party modules that handler pulls in (the floor). Budget: our code adds at most 10% to that floor.

The floor imports exactly the third-party modules (submodules included) found loaded after the
handler's import and wiring, in a fresh interpreter too. Both are CPU time (process_time), which other
processes on a shared machine disturb far less than wall time; medians of several runs damp the rest.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUDGET_RATIO = 1.10


def wired_members(handler: str) -> list[list[str]]:
    """The Services members a handler's first request builds: the attribute paths its module reaches
    for (``services().runs.turns.execute`` -> ``["runs", "turns", "execute"]``)."""
    source = (REPO / "lambdas" / f"{handler}.py").read_text()
    paths = {tuple(path.split(".")[1:]) for path in re.findall(r"services\(\)((?:\.\w+)+)", source)}
    return [list(path) for path in sorted(paths)]


_MEASURE = r"""
import functools, json, sys, time
started = time.process_time()
import {module} as handler_module
imported = time.process_time()
from workflow_service import wiring
container = wiring.services()
for path in {wired!r}:
    # Follow the containers down to the use case, building each; a method ends the path.
    target = container
    for name in path:
        member = getattr(type(target), name, None)
        if not (isinstance(member, (property, functools.cached_property)) or name in vars(target)):
            break
        target = getattr(target, name)
wired = time.process_time()
ours = ("workflow_service", "local", "{module}")
stdlib = set(sys.stdlib_module_names)
# Every third-party module the handler loaded, submodules included: several packages (pydantic
# above all) import their heavy parts lazily, on first use, so top-level names alone undercount.
third_party = sorted(
    name for name in sys.modules
    if name.split(".")[0] not in stdlib and name.split(".")[0] not in ours
    and not name.startswith("_") and name != "__main__" and sys.modules[name] is not None
)
print(json.dumps({{"total": wired - started, "import": imported - started, "third_party": third_party}}))
"""

_FLOOR = r"""
import json, time
started = time.process_time()
for name in {packages!r}:
    try:
        __import__(name)
    except Exception:
        pass
print(json.dumps({{"floor": time.process_time() - started}}))
"""

ENV = {
    "PYTHONPATH": f"{REPO}/layers/domain/python:{REPO}/lambdas:{REPO}",
    # A URI that is never contacted: pymongo connects lazily, so wiring makes no round trip.
    "MONGODB_URI": "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=100",
    "PATH": "/usr/bin:/bin",
    "AWS_DEFAULT_REGION": "us-east-1",
    "SCHEDULE_TARGET_ARN": "arn:aws:lambda:us-east-1:000000000000:function:target",
    "SCHEDULER_ROLE_ARN": "arn:aws:iam::000000000000:role/scheduler",
    "SCHEDULE_DLQ_ARN": "arn:aws:sqs:us-east-1:000000000000:dlq",
    "RUN_WORK_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/000000000000/work",
    "TRIGGER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/000000000000/triggers",
}


def _run(code: str) -> dict:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, cwd=REPO, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure(module: str, repeats: int = 5) -> dict:
    wired = wired_members(module)
    samples = [_run(_MEASURE.format(module=module, wired=wired)) for _ in range(repeats)]
    packages = samples[0]["third_party"]
    floors = [_run(_FLOOR.format(packages=packages))["floor"] for _ in range(repeats)]
    total = statistics.median(s["total"] for s in samples)
    floor = statistics.median(floors)
    return {
        "handler": module,
        "import_and_wiring_ms": round(total * 1000, 1),
        "third_party_floor_ms": round(floor * 1000, 1),
        "ratio": round(total / floor, 3) if floor else None,
        "boto3": "boto3" in packages,
        "third_party": sorted({name.split(".")[0] for name in packages}),
    }


def rows(repeats: int = 5) -> list[dict]:
    from workflow_service.http.routes import event_handlers, route_table

    handlers = [route.name for route in route_table()] + [handler.name for handler in event_handlers()]
    return [measure(name, repeats) for name in handlers]
