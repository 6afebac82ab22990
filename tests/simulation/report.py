"""The simulation's output: counts per operation and per pair, one line per violation, the summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TextIO

from tests.simulation.runner import CaseResult


def summary_line(crash_results: Sequence[CaseResult], interleaving_results: Sequence[CaseResult]) -> str:
    violations = sum(len(result.violations) for result in [*crash_results, *interleaving_results])
    return (
        f"simulation: crash points {len(crash_results)}, interleavings {len(interleaving_results)}, "
        f"invariant violations {violations}"
    )


def write_report(
    out: TextIO, crash_results: Sequence[CaseResult], interleaving_results: Sequence[CaseResult], *, verbose: bool
) -> None:
    """Counts per group, then one line per violation (all of them with ``verbose``, else the first
    three of each group and invariant), then the summary line."""
    for title, results in (("crash points", crash_results), ("interleavings", interleaving_results)):
        out.write(f"{title} per {'operation' if title == 'crash points' else 'pair'}:\n")
        cases: Counter[str] = Counter(result.group for result in results)
        bad: dict[str, Counter[str]] = {}
        for result in results:
            for violation in result.violations:
                bad.setdefault(result.group, Counter())[violation.invariant] += 1
        for group, count in cases.items():
            found = ", ".join(f"{name} x{n}" for name, n in sorted(bad.get(group, Counter()).items())) or "none"
            out.write(f"  {group:<32} {count:>5} cases; violations: {found}\n")
    shown: Counter[tuple[str, str]] = Counter()
    for result in [*crash_results, *interleaving_results]:
        for violation in result.violations:
            key = (result.group, violation.invariant)
            shown[key] += 1
            if verbose or shown[key] <= 3:
                out.write(f"VIOLATION [{result.label}] {violation}\n")
    hidden = sum(max(n - 3, 0) for n in shown.values())
    if hidden and not verbose:
        out.write(f"({hidden} more violation lines: run with --verbose)\n")
    out.write(summary_line(crash_results, interleaving_results) + "\n")
