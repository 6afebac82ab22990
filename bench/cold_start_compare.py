"""Cold start of two trees side by side: ``python -m bench.cold_start_compare BASE_TREE [--rounds N] [--handlers a,b]``.

Both trees are measured by this checkout's :mod:`bench.cold_start` harness in the production
configuration: each sample a fresh process that imports the handler's third-party floor and then runs
its cold path (import, wiring, first request). Rounds alternate over every (handler, tree) pair, so the
machine's noise falls on both alike; the medians of "ours" (CPU ms after the floor) and of the ratio are
printed. Each tree's domain package is staged as its layer ships it: with the prebuilt documents where
the tree has them (``http/published_openapi.py``), else as it is; and the base gets
``PYDANTIC_DISABLE_PLUGINS`` only if its own stack sets it.
"""

from __future__ import annotations

import argparse
import compileall
import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench import cold_start
from local.secrets_extension_emulation import EmulatedSecretsExtension
from scripts.build_layer import stage_domain_package

_CHECKOUT = cold_start.REPO
DEFAULT_HANDLERS = cold_start.PRODUCTION_SAMPLE


def _stage(tree: Path, site: Path) -> None:
    package = tree / "layers" / "domain" / "python" / "workflow_service"
    ships_documents = (package / "http" / "published_openapi.py").is_file()
    stage_domain_package(site, package, None if ships_documents else lambda _root, _package: None)
    compileall.compile_dir(str(site), quiet=1)
    compileall.compile_dir(str(tree / "lambdas"), quiet=1)


def _environment(tree: Path, site: Path, production: dict[str, str]) -> dict[str, str]:
    environment = {**production, "PYTHONPATH": f"{site}:{tree / 'lambdas'}:{_CHECKOUT}"}
    factory = tree / "infra" / "constructs" / "function_factory.py"
    if "PYDANTIC_DISABLE_PLUGINS" not in factory.read_text():
        environment.pop("PYDANTIC_DISABLE_PLUGINS", None)
    return environment


def compare(base: Path, tree: Path, handlers: tuple[str, ...], rounds: int) -> list[dict[str, Any]]:
    """Per handler: the first answer, and the median "ours" (ms) and ratio on each tree."""
    trees = {"base": base, "tree": tree}
    scratch = Path(tempfile.mkdtemp(prefix="cold-start-compare-"))
    extension = EmulatedSecretsExtension(
        {cold_start.SECRET_ARN: cold_start.UNREACHABLE_MONGODB_URI}, session_token=cold_start.SESSION_TOKEN, port=0
    )
    try:
        production = cold_start.environments(extension.port)["production"]
        environments = {}
        for name, root in trees.items():
            _stage(root, scratch / name)
            environments[name] = _environment(root, scratch / name, production)
        plans = {}
        for handler in handlers:
            for name, environment in environments.items():
                paired, event, discovery = cold_start.paired_program(handler, environment)
                plans[(handler, name)] = (paired, event, discovery["answer"])
        samples: dict[tuple[str, str], list[tuple[float, float]]] = {key: [] for key in plans}
        for _ in range(rounds):
            for (handler, name), (code, event, _) in plans.items():
                sample, _ = cold_start._run(code, environments[name], event)
                samples[(handler, name)].append((sample["floor"], sample["total"]))
    finally:
        extension.close()
        shutil.rmtree(scratch, ignore_errors=True)
    rows = []
    for handler in handlers:
        row: dict[str, Any] = {"handler": handler}
        for name in trees:
            runs = samples[(handler, name)]
            row[f"{name}_answer"] = plans[(handler, name)][2]
            row[f"{name}_ours_ms"] = round(statistics.median(total * 1000 for _, total in runs), 1)
            row[f"{name}_ratio"] = round(statistics.median((floor + total) / floor for floor, total in runs), 3)
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    from bench.__main__ import table

    parser = argparse.ArgumentParser(prog="python -m bench.cold_start_compare", description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, help="the tree to compare against (e.g. a checkout of main)")
    parser.add_argument("tree", type=Path, nargs="?", default=_CHECKOUT)
    parser.add_argument("--rounds", type=int, default=5, help="samples per handler and tree (default 5)")
    parser.add_argument("--handlers", default=",".join(DEFAULT_HANDLERS), help="comma-separated handler names")
    args = parser.parse_args(argv)
    rows = compare(args.base.resolve(), args.tree.resolve(), tuple(args.handlers.split(",")), args.rounds)
    table(f"Cold start, base {args.base} vs tree {args.tree} (median of {args.rounds})", rows, list(rows[0]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
