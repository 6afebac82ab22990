"""Layout rules from DESIGN.md section 2 that import-linter cannot express for flat handler modules."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from workflow_service.http.routes import event_handlers, route_table

REPO = Path(__file__).resolve().parents[2]
LAMBDAS = REPO / "lambdas"
DOMAIN = REPO / "layers" / "domain" / "python"
HANDLER_NAMES = {path.stem for path in LAMBDAS.glob("*.py")}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_every_route_and_event_row_has_exactly_one_handler_module():
    rows = {route.name for route in route_table()} | {handler.name for handler in event_handlers()}
    assert rows - HANDLER_NAMES == set(), "rows without a lambdas/<name>.py"
    assert HANDLER_NAMES - rows == set(), "handler modules that no row deploys"


@pytest.mark.parametrize("route", route_table(), ids=lambda route: route.name)
def test_http_handler_serves_its_own_row(route):
    source = (LAMBDAS / f"{route.name}.py").read_text()
    assert f'endpoint("{route.name}"' in source


def test_no_lambda_imports_another_lambda():
    offenders = {
        path.name: sorted(imported_modules(path) & HANDLER_NAMES)
        for path in LAMBDAS.glob("*.py")
        if imported_modules(path) & HANDLER_NAMES
    }
    assert offenders == {}


def test_runtime_code_never_imports_infra_and_infra_never_imports_runtime_code():
    runtime_files = [
        *REPO.joinpath("layers").rglob("*.py"),
        *LAMBDAS.glob("*.py"),
        *REPO.joinpath("local").rglob("*.py"),
    ]
    assert [str(p) for p in runtime_files if any(m.split(".")[0] == "infra" for m in imported_modules(p))] == []
    infra_files = [*REPO.joinpath("infra").rglob("*.py"), REPO / "app.py"]
    assert [
        str(p)
        for p in infra_files
        if p.exists() and any(m.split(".")[0] in {"workflow_service", "local"} for m in imported_modules(p))
    ] == []


def test_route_table_is_plain_json():
    document = json.loads((REPO / "layers/domain/python/workflow_service/http/routes.json").read_text())
    assert set(document) >= {"routes", "events"}


def printed_by_fresh_interpreter(code: str, extra_path: str = "") -> str:
    """What ``code`` prints in a new interpreter with the Lambda runtime's path (a cold start)."""
    path = f"{REPO}/layers/domain/python:{LAMBDAS}:{REPO}" + (f":{extra_path}" if extra_path else "")
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
        env={"PYTHONPATH": path, "PATH": ""},
    )
    return result.stdout.strip()


READ_ONLY = [route.name for route in route_table() if route.method == "GET" and "scheduler" not in route.uses]


@pytest.mark.parametrize("name", READ_ONLY)
def test_read_only_handlers_do_not_import_boto3(name):
    code = f"import sys, {name}; print(sorted(m for m in ('boto3', 'botocore') if m in sys.modules))"
    assert printed_by_fresh_interpreter(code) == "[]"


def test_no_handler_imports_aws_xray_sdk_when_tracing_is_disabled(tmp_path):
    # Cold start (DESIGN.md section 10): the X-Ray SDK only where TRACING_ENABLED turns the Tracer on.
    # A stand-in package makes any import of it visible even where the real SDK is not installed.
    (tmp_path / "aws_xray_sdk").mkdir()
    (tmp_path / "aws_xray_sdk" / "__init__.py").write_text("")
    modules = ", ".join(sorted(HANDLER_NAMES))
    code = f"import sys, {modules}; print('aws_xray_sdk' in sys.modules)"
    assert printed_by_fresh_interpreter(code, extra_path=str(tmp_path)) == "False"


def workflow_service_imports(path: Path) -> set[str]:
    """The ``workflow_service`` modules a file imports, relative imports resolved."""
    package = ".".join(path.relative_to(DOMAIN).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module) if part)
            names.add(module)
    return {name for name in names if name == "workflow_service" or name.startswith("workflow_service.")}


def test_the_condition_language_imports_nothing_from_the_package():
    # models (validation) and the engine (evaluation) both import it, so it may import neither.
    assert workflow_service_imports(DOMAIN / "workflow_service" / "conditions.py") == set()


# Besides models and the condition language, the engine sees only the ports it calls through.
ENGINE_MAY_IMPORT = (
    "workflow_service.engine",
    "workflow_service.models",
    "workflow_service.conditions",
    "workflow_service.ports.llm",
    "workflow_service.ports.http",
    "workflow_service.ports.clock",
)


def test_the_engine_imports_only_models_the_condition_language_and_its_ports():
    outside = {
        str(path.relative_to(DOMAIN)): sorted(
            name for name in workflow_service_imports(path) if not name.startswith(ENGINE_MAY_IMPORT)
        )
        for path in sorted((DOMAIN / "workflow_service" / "engine").rglob("*.py"))
    }
    assert {path: names for path, names in outside.items() if names} == {}


NON_TEST_ROOTS = ("layers", "lambdas", "local", "infra", "scripts", "bench")
MAX_MODULE_LINES = 500
MAX_CLASS_LINES = 300


def non_test_modules() -> list[Path]:
    return sorted(path for root in NON_TEST_ROOTS for path in (REPO / root).rglob("*.py") if "build" not in path.parts)


def test_no_non_test_module_over_500_lines_and_no_class_over_300():
    # Given every Python module that ships or runs outside the test suites
    too_long: list[str] = []
    for path in non_test_modules():
        source = path.read_text()
        lines = len(source.splitlines())
        if lines > MAX_MODULE_LINES:
            too_long.append(f"{path.relative_to(REPO)}: {lines} lines")
        # When its classes are measured from their first line to their last
        for node in ast.walk(ast.parse(source, filename=str(path))):
            if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                length = node.end_lineno - node.lineno + 1
                if length > MAX_CLASS_LINES:
                    too_long.append(f"{path.relative_to(REPO)}: class {node.name} {length} lines")
    # Then none is past the limit (split by responsibility instead)
    assert too_long == []
