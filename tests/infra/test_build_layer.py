"""The layer build with a stand-in installer (no network): idempotence, pruning, packaging, sizes."""

from __future__ import annotations

import subprocess
import zipfile

import pytest

from infra.config import load_config_from_cdk_json
from scripts.build_layer import (
    LAMBDA_LAYER_SITE,
    LayerBuildSpec,
    build_layer,
    compile_bytecode,
    layer_size,
    runtime_dependencies,
    runtime_interpreter,
)


class RecordingInstaller:
    """Writes what pip would: the requested packages plus boto3/botocore pulled in transitively."""

    def __init__(self) -> None:
        self.calls: list[LayerBuildSpec] = []

    def __call__(self, spec: LayerBuildSpec, site_dir) -> None:
        self.calls.append(spec)
        for package in ("pydantic", "boto3", "botocore", "jmespath"):
            (site_dir / package).mkdir()
            (site_dir / package / "__init__.py").write_text(f"# {package}\n" * 200)
            (site_dir / f"{package}-1.0.dist-info").mkdir()
        (site_dir / "bin").mkdir()
        (site_dir / "bin" / "jp.py").write_text("#!/usr/bin/env python\n")


@pytest.fixture
def project(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\nversion = "0"\ndependencies = ["pydantic==2.0", "tzdata"]\n')
    package = tmp_path / "src" / "workflow_service"
    (package / "http").mkdir(parents=True)
    (package / "__init__.py").write_text('"""domain"""\n')
    (package / "http" / "routes.json").write_text("{}\n")
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "junk.cpython-311.pyc").write_bytes(b"\0")
    return {
        "pyproject": pyproject,
        "domain_package_dir": package,
        "layer_dir": tmp_path / "build" / "layer",
        "documents": RecordingDocumentWriter(),
        "bytecode": RecordingBytecodeCompiler(),
    }


class RecordingBytecodeCompiler:
    """Stands in for compiling with the runtime's interpreter; records what the site held then."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def __call__(self, site_dir, python_version):
        self.calls.append((site_dir, python_version, sorted(p.name for p in site_dir.iterdir())))
        return "/usr/bin/python-stand-in"


class RecordingDocumentWriter:
    """Stands in for generating the OpenAPI document (the fake package has no models)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def __call__(self, source_root, package) -> None:
        self.calls.append((source_root, package))
        (package / "http" / "openapi.json").write_text("{}")


def test_the_prebuilt_documents_are_written_into_the_copied_package_from_its_source(project):
    result = build_layer(installer=RecordingInstaller(), **project)

    copied = result.layer_dir / "python" / "workflow_service"
    assert project["documents"].calls == [(project["domain_package_dir"].parent, copied)]
    assert (copied / "http" / "openapi.json").is_file()
    assert not (project["domain_package_dir"] / "http" / "openapi.json").exists()


def test_dependencies_come_from_the_project_table(project):
    assert runtime_dependencies(project["pyproject"]) == ("pydantic==2.0", "tzdata")


def test_first_build_installs_prunes_runtime_packages_and_adds_the_domain_package(project):
    installer = RecordingInstaller()
    result = build_layer(installer=installer, **project)
    site = project["layer_dir"] / "python"
    assert result.installed_dependencies
    assert installer.calls[0].dependencies == ("pydantic==2.0", "tzdata")
    assert installer.calls[0].platform == "manylinux2014_aarch64"
    assert (site / "pydantic" / "__init__.py").is_file()
    for provided in ("boto3", "botocore", "jmespath", "boto3-1.0.dist-info", "bin"):
        assert not (site / provided).exists(), provided
    assert (site / "workflow_service" / "http" / "routes.json").is_file()
    assert not (site / "workflow_service" / "__pycache__").exists()


def test_second_build_skips_pip_but_refreshes_the_domain_package(project):
    installer = RecordingInstaller()
    build_layer(installer=installer, **project)
    (project["domain_package_dir"] / "new_module.py").write_text("VALUE = 1\n")
    result = build_layer(installer=installer, **project)
    assert len(installer.calls) == 1
    assert not result.installed_dependencies
    assert (project["layer_dir"] / "python" / "workflow_service" / "new_module.py").is_file()


def test_changed_dependencies_or_force_reinstall(project):
    installer = RecordingInstaller()
    build_layer(installer=installer, **project)
    build_layer(installer=installer, force=True, **project)
    project["pyproject"].write_text('[project]\nname = "x"\nversion = "0"\ndependencies = ["pydantic==2.1"]\n')
    build_layer(installer=installer, **project)
    assert [call.dependencies for call in installer.calls] == [
        ("pydantic==2.0", "tzdata"),
        ("pydantic==2.0", "tzdata"),
        ("pydantic==2.1",),
    ]


def test_the_stamp_lives_outside_the_packaged_directory(project):
    build_layer(installer=RecordingInstaller(), **project)
    assert not list(project["layer_dir"].rglob("*stamp*"))
    assert (project["layer_dir"].parent / "layer.stamp.json").is_file()


def test_layer_size_reports_unzipped_and_zipped_bytes(project):
    build_layer(installer=RecordingInstaller(), **project)
    files = [path for path in project["layer_dir"].rglob("*") if path.is_file()]
    unzipped, zipped = layer_size(project["layer_dir"])
    assert unzipped == sum(path.stat().st_size for path in files)
    # The stand-in packages are repeated lines: deflate shrinks them well below their raw size.
    assert 0 < zipped < unzipped / 2


def test_the_archive_is_reproducible_and_rooted_at_python(project):
    # Same content -> same bytes -> same asset hash: redeploying an unchanged layer publishes nothing new.
    build_layer(installer=RecordingInstaller(), **project)
    archive = project["layer_dir"].parent / "layer.zip"
    first = archive.read_bytes()
    build_layer(installer=RecordingInstaller(), force=True, **project)
    assert archive.read_bytes() == first
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
    assert "python/workflow_service/http/routes.json" in names
    assert all(name.startswith("python/") for name in names)
    assert layer_size(project["layer_dir"])[1] == len(first)


def test_bytecode_is_compiled_for_the_runtime_after_everything_is_in_place(project):
    result = build_layer(installer=RecordingInstaller(), **project)

    ((site_dir, python_version, present),) = project["bytecode"].calls
    assert site_dir == result.layer_dir / "python"
    assert python_version == load_config_from_cdk_json().lambda_.python_version
    assert {"pydantic", "workflow_service"} <= set(present)
    assert result.bytecode_compiler == "/usr/bin/python-stand-in"


def test_compiled_bytecode_is_the_runtimes_hash_checked_never_and_names_the_lambda_paths(tmp_path):
    # Given a Python of the runtime's version on this machine (else there is nothing to compile with)
    version = load_config_from_cdk_json().lambda_.python_version
    interpreter = runtime_interpreter(version)
    if interpreter is None:
        pytest.skip(f"no Python {version} on this machine (set LAYER_PYTHON)")
    site = tmp_path / "python"
    (site / "package").mkdir(parents=True)
    (site / "package" / "__init__.py").write_text("def where():\n    return __file__\n")

    # When the site is compiled
    assert compile_bytecode(site, version) == interpreter

    # Then the bytecode is that version's, unchecked-hash based (flags 0b01), and its code objects name
    # the paths the files have in Lambda
    probe = (
        "import importlib.util, marshal, sys; data = open(sys.argv[1], 'rb').read(); "
        "code = marshal.loads(data[16:]); "
        "print(data[:4] == importlib.util.MAGIC_NUMBER, int.from_bytes(data[4:8], 'little'), code.co_filename)"
    )
    tag = "cpython-" + version.replace(".", "")
    compiled = site / "package" / "__pycache__" / f"__init__.{tag}.pyc"
    answer = subprocess.run([interpreter, "-c", probe, str(compiled)], capture_output=True, text=True, check=True)
    assert answer.stdout.split() == ["True", "1", f"{LAMBDA_LAYER_SITE}/package/__init__.py"]
