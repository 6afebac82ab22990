"""The engine bench of two trees side by side: ``python -m bench.compare BASE_TREE [TREE] [--runs N]``.

Each run is a fresh process of this checkout's :mod:`bench.engine_bench` (best of ``--repeats`` turns),
so both trees are measured by the same code, with that tree's domain layer on PYTHONPATH and that tree's
``.venv`` interpreter (else this one). Runs alternate between the trees (base-tree, then tree-base) so
that the machine's noise falls on both alike; the medians are compared. ``TREE`` defaults to this
checkout. On a shared machine, use more runs and repeats.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[1]
_RUN_ONE = (
    "import json, sys; from bench import engine_bench; "
    "print(json.dumps(engine_bench.rows(repeats=int(sys.argv[1]))[0]))"
)


def _interpreter(tree: Path) -> str:
    venv_python = tree / ".venv" / "bin" / "python"
    return str(venv_python) if venv_python.exists() else sys.executable


def node_runs_per_second(tree: Path, repeats: int) -> int:
    """One run of the engine bench on ``tree``'s engine (best of ``repeats`` turns) in a fresh process."""
    env = {"PYTHONPATH": f"{tree / 'layers' / 'domain' / 'python'}:{_CHECKOUT}", "PATH": "/usr/bin:/bin"}
    completed = subprocess.run(
        [_interpreter(tree), "-c", _RUN_ONE, str(repeats)],
        cwd=_CHECKOUT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(json.loads(completed.stdout)["node_runs_per_second"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, help="the tree to compare against (e.g. a checkout of main)")
    parser.add_argument("tree", type=Path, nargs="?", default=_CHECKOUT)
    parser.add_argument("--runs", type=int, default=7, help="runs per tree (default 7)")
    parser.add_argument("--repeats", type=int, default=20, help="turns per run, the best counts (default 20)")
    args = parser.parse_args(argv)
    trees = {"base": args.base.resolve(), "tree": args.tree.resolve()}
    rates: dict[str, list[int]] = {name: [] for name in trees}
    for run in range(args.runs):
        # base, tree, tree, base, ...: neither side always runs first
        for name in ("base", "tree") if run % 2 == 0 else ("tree", "base"):
            rates[name].append(node_runs_per_second(trees[name], args.repeats))
    medians = {name: statistics.median(values) for name, values in rates.items()}
    for name, tree in trees.items():
        print(f"{name:4} {tree}: median {medians[name]:,.0f} node runs/s  (runs: {rates[name]})")
    print(f"tree/base = {medians['tree'] / medians['base']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
