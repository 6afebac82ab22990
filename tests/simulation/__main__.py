"""``python -m tests.simulation [--bounded|--full] [--verbose] [--only NAME ...]``: exit 1 on any violation."""

from __future__ import annotations

import argparse
import logging
import sys
import time

from tests.simulation.catalogue import OPERATIONS, PAIRS
from tests.simulation.report import write_report
from tests.simulation.runner import BOUNDED, FULL, crash_cases, interleavings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.simulation", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--bounded", action="store_true", help="the set `make test` runs (the default)")
    size.add_argument("--full", action="store_true", help="every crash point and interleaving (`make simulate`)")
    parser.add_argument("--verbose", action="store_true", help="one line per violation, not the first three per group")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="only these operations / pairs (by name)")
    args = parser.parse_args(argv)
    budget = FULL if args.full else BOUNDED
    # The services log every refused request and repaired state; the report says what matters.
    logging.disable(logging.CRITICAL)
    started = time.monotonic()
    wanted = set(args.only or ())
    crash_results = [
        result
        for operation in OPERATIONS
        if not wanted or operation.name in wanted
        for result in crash_cases(operation, budget)
    ]
    pair_results = [
        result for pair in PAIRS if not wanted or pair.name in wanted for result in interleavings(pair, budget)
    ]
    write_report(sys.stdout, crash_results, pair_results, verbose=args.verbose)
    print(f"({time.monotonic() - started:.0f} s)", file=sys.stderr)
    return 1 if any(result.violations for result in [*crash_results, *pair_results]) else 0


if __name__ == "__main__":
    sys.exit(main())
