#!/usr/bin/env python3
"""Build the shared Lambda layer without Docker.

    python scripts/build_layer.py [--force] [--stage STAGE]

1. pip installs the runtime dependencies of ``pyproject.toml`` ([project].dependencies) as
   manylinux wheels for the Lambda runtime's Python version and architecture (both read from
   cdk.json through ``infra.config``, the same values the functions are deployed with) into
   ``<layer>/python``. A stamp file next to the layer directory records what was installed; when
   it matches, pip is skipped, so repeated builds take a fraction of a second. ``--force`` rebuilds.
2. Removes what the Lambda Python runtime already provides (boto3, botocore, s3transfer, jmespath)
   if a dependency pulled it in.
3. Copies the domain package ``workflow_service`` in (always, so code changes are picked up), and
   writes beside it what it serves prebuilt: the OpenAPI document (``http/openapi.json``, generated
   from the source just copied; see ``workflow_service.http.published_openapi``).
4. Compiles the layer's bytecode with an interpreter of the runtime's Python version (``LAYER_PYTHON``,
   else ``python3.X`` on the PATH, else a pyenv install), hash-based and unchecked, with the paths the
   files have in Lambda (``/opt/python/...``). A layer is mounted read-only, so Python cannot cache
   the bytecode it compiles: without this, every cold start compiles every module it imports from
   source (measured: 3x the CPU of the cold path itself; README "Cold start"). Without such an
   interpreter the build warns and ships sources only.
5. Writes ``<layer>.zip`` deterministically (sorted entries, fixed timestamps and modes): the stack
   deploys this file, so unchanged content keeps the same asset hash (no needless new layer
   version), and synth hashes one file instead of ~1,600.
6. Prints the layer's unzipped and zipped size.

``layer_size()`` is importable (the benchmarks report it).
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a script: make `infra` (plain-Python config) importable
    sys.path.insert(0, str(REPO_ROOT))

from infra.config import load_config_from_cdk_json  # noqa: E402  (needs the path above)

PYPROJECT = REPO_ROOT / "pyproject.toml"
DOMAIN_PACKAGE_DIR = REPO_ROOT / "layers" / "domain" / "python" / "workflow_service"
# Shipped by the Lambda Python runtime itself; a second copy only adds size and version skew.
RUNTIME_PROVIDED_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath")
# The budget for the unzipped layer (bench enforces it; the build only warns): DESIGN.md's 20 MB of
# sources, plus the bytecode that spares every cold start compiling them (about 10 MB).
LAYER_BUDGET_BYTES = 30 * 1024 * 1024
# Where Lambda mounts a layer's python/ directory: the paths compiled into the bytecode (tracebacks).
LAMBDA_LAYER_SITE = "/opt/python"
_COPY_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")
# Fixed metadata so that the same files always give the same zip bytes (and asset hash).
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_ZIP_FILE_MODE = 0o100644


@dataclass(frozen=True)
class LayerBuildSpec:
    """What the third-party part of the layer is built from; its fingerprint keys the stamp."""

    dependencies: tuple[str, ...]
    python_version: str
    platform: str

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class LayerBuildResult:
    layer_dir: Path
    installed_dependencies: bool
    unzipped_bytes: int
    zipped_bytes: int
    # The interpreter that compiled the layer's bytecode; None: sources only (see compile_bytecode).
    bytecode_compiler: str | None = None


Installer = Callable[[LayerBuildSpec, Path], None]
# (the layer's site directory, the runtime's Python version) -> the interpreter used, or None.
BytecodeCompiler = Callable[[Path, str], str | None]
# (the source root the package was copied from, the copied package) -> writes its prebuilt documents.
DocumentWriter = Callable[[Path, Path], None]


def runtime_dependencies(pyproject: Path = PYPROJECT) -> tuple[str, ...]:
    """``[project].dependencies`` of ``pyproject``: exactly what the layer ships."""
    with pyproject.open("rb") as handle:
        project = tomllib.load(handle)["project"]
    return tuple(project.get("dependencies", ()))


def default_layer_dir(stage: str | None = None) -> Path:
    """The layer directory the stack packages (``assets.layer_path`` in cdk.json)."""
    return load_config_from_cdk_json(stage).assets.layer_path


def pip_install(spec: LayerBuildSpec, site_dir: Path) -> None:
    """Install ``spec.dependencies`` as Lambda-compatible binary wheels into ``site_dir``."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        # .pyc files compiled by the build machine's Python would not match the runtime's.
        "--no-compile",
        "--platform",
        spec.platform,
        "--implementation",
        "cp",
        "--python-version",
        spec.python_version,
        "--only-binary=:all:",
        "--target",
        str(site_dir),
        *spec.dependencies,
    ]
    subprocess.run(command, check=True)


def build_layer(
    *,
    stage: str | None = None,
    layer_dir: Path | None = None,
    force: bool = False,
    installer: Installer = pip_install,
    pyproject: Path = PYPROJECT,
    domain_package_dir: Path = DOMAIN_PACKAGE_DIR,
    documents: DocumentWriter | None = None,
    bytecode: BytecodeCompiler | None = None,
) -> LayerBuildResult:
    """Build (or refresh) the layer directory; idempotent. See the module docstring."""
    config = load_config_from_cdk_json(stage)
    layer_dir = layer_dir or config.assets.layer_path
    spec = LayerBuildSpec(
        dependencies=runtime_dependencies(pyproject),
        python_version=config.lambda_.python_version,
        platform=config.lambda_.pip_platform,
    )
    site_dir = layer_dir / "python"
    # Outside the layer directory, so the stamp never changes the asset's content hash.
    stamp = layer_dir.parent / f"{layer_dir.name}.stamp.json"
    install = force or not site_dir.is_dir() or _stamped_fingerprint(stamp) != spec.fingerprint()
    if install:
        stamp.unlink(missing_ok=True)
        shutil.rmtree(site_dir, ignore_errors=True)
        site_dir.mkdir(parents=True)
        installer(spec, site_dir)
        _remove_runtime_provided(site_dir)
        stamp.write_text(json.dumps({"fingerprint": spec.fingerprint(), **asdict(spec)}, indent=2) + "\n")
    stage_domain_package(site_dir, domain_package_dir, documents or write_built_documents)
    compiler = (bytecode or compile_bytecode)(site_dir, spec.python_version)
    zipped = write_layer_archive(layer_dir, layer_archive_path(layer_dir))
    unzipped = sum(path.stat().st_size for path in _layer_files(layer_dir))
    return LayerBuildResult(
        layer_dir=layer_dir,
        installed_dependencies=install,
        unzipped_bytes=unzipped,
        zipped_bytes=zipped,
        bytecode_compiler=compiler,
    )


def runtime_interpreter(python_version: str) -> str | None:
    """A CPython ``python_version`` (e.g. "3.12") on this machine, or None: ``LAYER_PYTHON``, then
    ``python3.12`` on the PATH, then a pyenv install. Each candidate is run to check its version
    (a pyenv shim is on the PATH even where it cannot run that version)."""
    candidates = [os.environ.get("LAYER_PYTHON"), shutil.which(f"python{python_version}")]
    pyenv_root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/{python_version}.*/bin/python{python_version}"))
    for candidate in candidates:
        if candidate and _runs_version(candidate, python_version):
            return candidate
    return None


def compile_bytecode(site_dir: Path, python_version: str) -> str | None:
    """Compile every module under ``site_dir`` for the runtime; the interpreter used, or None (warned).

    Unchecked hash-based .pyc: valid whatever the files' timestamps (the zip fixes them), never
    re-validated against the source at import (nothing in a layer changes), and the same bytes for
    the same source, so the archive stays reproducible.
    """
    interpreter = runtime_interpreter(python_version)
    if interpreter is None:
        print(
            f"warning: no Python {python_version} found (set LAYER_PYTHON): the layer ships without bytecode, "
            "so every cold start compiles its modules from source",
            file=sys.stderr,
        )
        return None
    command = [interpreter, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash"]
    command += ["-s", str(site_dir), "-p", LAMBDA_LAYER_SITE, str(site_dir)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return interpreter


def _runs_version(interpreter: str, python_version: str) -> bool:
    probe = [interpreter, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]
    try:
        found = subprocess.run(probe, capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return False
    return found.returncode == 0 and found.stdout.strip() == python_version


def layer_archive_path(layer_dir: Path) -> Path:
    """Where the deployable zip of ``layer_dir`` is written (the stack's layer asset)."""
    return layer_dir.parent / f"{layer_dir.name}.zip"


def write_layer_archive(layer_dir: Path, archive: Path) -> int:
    """Zip ``layer_dir`` reproducibly into ``archive``; returns the archive's size in bytes."""
    partial = archive.with_name(archive.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for path in _layer_files(layer_dir):
            entry = zipfile.ZipInfo(path.relative_to(layer_dir).as_posix(), date_time=_ZIP_EPOCH)
            entry.external_attr = _ZIP_FILE_MODE << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            zipped.writestr(entry, path.read_bytes())
    partial.replace(archive)
    return archive.stat().st_size


def layer_size(layer_dir: Path | None = None) -> tuple[int, int]:
    """(unzipped_bytes, zipped_bytes) of the layer directory, zipped exactly as it is deployed."""
    layer_dir = layer_dir or default_layer_dir()
    unzipped = sum(path.stat().st_size for path in _layer_files(layer_dir))
    with tempfile.TemporaryDirectory() as scratch:
        zipped = write_layer_archive(layer_dir, Path(scratch) / "layer.zip")
    return unzipped, zipped


def _layer_files(layer_dir: Path) -> list[Path]:
    return sorted(path for path in layer_dir.rglob("*") if path.is_file())


def _stamped_fingerprint(stamp: Path) -> str | None:
    try:
        return json.loads(stamp.read_text())["fingerprint"]
    except (FileNotFoundError, KeyError, ValueError):
        return None


def _remove_runtime_provided(site_dir: Path) -> None:
    for name in RUNTIME_PROVIDED_PACKAGES:
        shutil.rmtree(site_dir / name, ignore_errors=True)
        for metadata in site_dir.glob(f"{name}-*.dist-info"):
            shutil.rmtree(metadata)
    # Console scripts of the dependencies: not importable, never run inside Lambda.
    shutil.rmtree(site_dir / "bin", ignore_errors=True)


def stage_domain_package(
    site_dir: Path, source: Path = DOMAIN_PACKAGE_DIR, documents: DocumentWriter | None = None
) -> Path:
    """Copy the domain package into ``site_dir`` as the layer ships it, prebuilt documents included;
    returns the copy. The cold-start bench measures this copy (bench/cold_start.py)."""
    target = site_dir / source.name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=_COPY_IGNORE)
    (documents or write_built_documents)(source.parent, target)
    return target


def write_built_documents(source_root: Path, package: Path) -> None:
    """Generate the OpenAPI document from the source at ``source_root`` into the copied ``package``.

    In a fresh interpreter with only that source on the path, so the document describes exactly the
    code being shipped, whatever this process has imported.
    """
    environment = {**os.environ, "PYTHONPATH": str(source_root)}
    command = [sys.executable, "-m", "workflow_service.http.published_openapi", str(package)]
    subprocess.run(command, check=True, env=environment)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="reinstall the dependencies even if the stamp matches")
    parser.add_argument("--stage", help="the cdk.json stage whose runtime settings to build for (default: context)")
    arguments = parser.parse_args(argv)
    result = build_layer(stage=arguments.stage, force=arguments.force)
    action = "installed dependencies" if result.installed_dependencies else "dependencies unchanged, pip skipped"
    bytecode = f"bytecode by {result.bytecode_compiler}" if result.bytecode_compiler else "no bytecode"
    print(
        f"layer {result.layer_dir}: {action}; {bytecode}; unzipped {_megabytes(result.unzipped_bytes)} "
        f"({result.unzipped_bytes} bytes), zipped {_megabytes(result.zipped_bytes)}"
    )
    if result.unzipped_bytes > LAYER_BUDGET_BYTES:
        print(f"warning: the layer exceeds its {_megabytes(LAYER_BUDGET_BYTES)} budget", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
