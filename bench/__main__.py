"""``make bench``: every benchmark, printed as tables with their budgets."""

from __future__ import annotations

import importlib
import sys


def table(title: str, rows: list[dict], columns: list[str]) -> None:
    print(f"\n## {title}\n")
    widths = [max(len(column), *(len(str(row.get(column, ""))) for row in rows)) for column in columns]
    print(" | ".join(column.ljust(width) for column, width in zip(columns, widths, strict=True)))
    print("-|-".join("-" * width for width in widths))
    for row in rows:
        print(" | ".join(str(row.get(column, "")).ljust(width) for column, width in zip(columns, widths, strict=True)))


def main() -> int:
    from bench import cold_start, engine_bench, round_trips
    from workflow_service.observability import configure_logging
    from workflow_service.settings import Settings

    # The benches drive handlers in this process: their INFO records would interleave with the tables.
    configure_logging(Settings.from_environ({"LOG_LEVEL": "WARNING"}).runtime)

    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    every_handler = len(sys.argv) > 2 and sys.argv[2] == "all"
    cold = cold_start.rows(repeats, every_handler_in_production=every_handler)
    table(
        f"Cold start: import + wiring + first request (CPU ms, median of {repeats} fresh processes; "
        f"budget ratio <= {cold_start.BUDGET_RATIO}; own_import_ms = our modules' self time in -X importtime)",
        cold,
        [
            "config",
            "handler",
            "first_answer",
            "import_wiring_request_ms",
            "third_party_floor_ms",
            "ratio",
            "own_import_ms",
            "aws_sdk",
            "ok",
        ],
    )
    table("Engine", engine_bench.rows(), ["benchmark", "node_runs_per_second", "events_per_turn", "budget", "ok"])
    table(
        "Run round trips (MongoDB operations, counted)",
        round_trips.rows(),
        ["operation", "mongo_round_trips", "budget", "ok", "minimum", "breakdown"],
    )
    # Capabilities contribute their own tables when present.
    for module_name, title in (
        ("bench.schedule_round_trips", "Schedule round trips (MongoDB operations and AWS calls, counted)"),
        ("bench.concurrency_bench", "Concurrency and reaper round trips"),
        ("bench.layer_bench", "Domain layer size"),
    ):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        rows = module.rows()
        if rows:
            table(title, rows, list(rows[0].keys()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
