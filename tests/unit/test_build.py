"""What ``sam build`` makes is what ``sam deploy`` can run: one runtime story, dependencies in the layer.

The layer's dependencies carry code compiled for one CPython (``pydantic_core``): a layer built for
3.11 fails at import on a python3.13 function. ``layers/common/Makefile`` therefore installs them for
every runtime the template allows, and these tests check that the lists agree, that the build output
really holds each runtime's own compiled wheels, and that nothing the code imports is left undeclared.

The tests on the build output need ``.aws-sam/build`` (``make build``). Run alone without it they skip;
``make test`` sets ``MSK_PAIR_REQUIRE_BUILD=1`` (after building), and then a missing build fails.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import importlib.util
import os
import re
import shlex
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from msk_pair.emulator.engine import load_template

ROOT = Path(__file__).resolve().parents[2]
LAYER_SRC = ROOT / "layers" / "common"
BUILD = ROOT / ".aws-sam" / "build"
TEMPLATE = load_template(ROOT)


# -- what the sources say -------------------------------------------------------------------------
def makefile_versions() -> list[str]:
    match = re.search(r"^PYTHON_VERSIONS\s*:=\s*(.+)$", (LAYER_SRC / "Makefile").read_text(), re.M)
    assert match, "layers/common/Makefile has no PYTHON_VERSIONS line"
    return match.group(1).split()


def allowed_runtimes() -> list[str]:
    return TEMPLATE["Parameters"]["PythonRuntime"]["AllowedValues"]


def samconfig_overrides(command: str) -> dict[str, str]:
    """``parameter_overrides`` that ``sam <command>`` reads from samconfig.toml (global, then the command's)."""
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())["default"]
    merged: dict[str, str] = {}
    for section in ("global", command):
        raw = config.get(section, {}).get("parameters", {}).get("parameter_overrides", "")
        merged.update(item.split("=", 1) for item in shlex.split(raw))  # type: ignore[arg-type]
    return merged


def deployed_runtime() -> str:
    return samconfig_overrides("deploy").get("PythonRuntime", TEMPLATE["Parameters"]["PythonRuntime"]["Default"])


def layer_requirements() -> list[Requirement]:
    lines = (LAYER_SRC / "requirements.txt").read_text().splitlines()
    return [Requirement(line) for line in (raw.split("#", 1)[0].strip() for raw in lines) if line]


def lambda_environment(runtime: str) -> dict[str, str]:
    """PEP 508 marker values on a Lambda ``runtime`` (x86_64 Linux CPython) for pip's requirement markers."""
    version = runtime.removeprefix("python")
    return {
        **default_environment(),
        "python_version": version,
        "python_full_version": f"{version}.0",
        "implementation_version": f"{version}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "platform_machine": "x86_64",
    }


def resolve(requirements: list[Requirement], dists: dict[str, md.Distribution], env: dict[str, str]) -> set[str]:
    """Names of every distribution the requirements need (transitively, extras and markers applied).

    Fails when one is missing from ``dists`` or its version is outside the requirement's specifier."""
    needed: set[str] = set()
    todo = [(req, "") for req in requirements]
    seen: set[tuple[str, str]] = set()
    while todo:
        req, via_extra = todo.pop()
        if req.marker and not req.marker.evaluate({**env, "extra": via_extra}):
            continue
        name = canonicalize_name(req.name)
        dist = dists.get(name)
        assert dist is not None, f"{req} is required but not installed"
        assert req.specifier.contains(dist.version, prereleases=True), f"{name} {dist.version} does not satisfy {req}"
        needed.add(name)
        for extra in ["", *sorted(req.extras)]:
            if (name, extra) in seen:
                continue
            seen.add((name, extra))
            todo.extend((Requirement(raw), extra) for raw in dist.requires or [])
    return needed


def third_party_imports(paths: list[Path]) -> dict[str, list[str]]:
    """Top-level module names imported by these files that are neither stdlib nor mskpair_core."""
    found: dict[str, list[str]] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".", 1)[0]
                if top not in sys.stdlib_module_names and top not in ("__future__", "mskpair_core"):
                    found.setdefault(top, []).append(str(path.relative_to(ROOT)))
    return found


FUNCTION_SOURCES = sorted(ROOT.glob("functions/*/*.py"))
LAYER_SOURCES = sorted((LAYER_SRC / "python").rglob("*.py"))


# -- the lists agree (no build needed) ------------------------------------------------------------
def test_layer_is_built_for_exactly_the_runtimes_the_template_allows():
    layer = TEMPLATE["Resources"]["CommonLayer"]
    assert layer["Metadata"] == {"BuildMethod": "makefile"}
    built_for = [f"python{v}" for v in makefile_versions()]
    assert built_for == layer["Properties"]["CompatibleRuntimes"] == allowed_runtimes()
    assert TEMPLATE["Globals"]["Function"]["Runtime"] == {"Ref": "PythonRuntime"}


def test_deploy_runtime_is_one_the_layer_is_built_for_and_build_does_not_override_it():
    assert deployed_runtime() in allowed_runtimes()
    build_override = samconfig_overrides("build").get("PythonRuntime")
    assert build_override in (None, deployed_runtime()), "samconfig builds and deploys different runtimes"
    build_recipe = re.search(r"^build:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.M)
    assert build_recipe, "the Makefile has no build target"
    assert "PythonRuntime" not in build_recipe.group(1), "make build must build what sam deploy deploys"


def test_layer_wheels_are_for_the_functions_architecture():
    architectures = TEMPLATE["Globals"]["Function"]["Architectures"]
    assert architectures == TEMPLATE["Resources"]["CommonLayer"]["Properties"]["CompatibleArchitectures"] == ["x86_64"]
    platform = re.search(r"^PLATFORM\s*:=\s*(\S+)$", (LAYER_SRC / "Makefile").read_text(), re.M)
    assert platform and platform.group(1).endswith("_x86_64")


def test_dependencies_are_declared_once_in_the_layer():
    assert not sorted(ROOT.glob("functions/*/requirements.txt")), "functions get their dependencies from the layer"
    # The local .venv (emulator, tests) installs the same lines, so what is tested is what ships.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for req in layer_requirements():
        assert str(req) in [str(Requirement(line)) for line in project], f"pyproject.toml lacks {req}"


def test_every_third_party_import_of_the_lambda_code_is_a_layer_requirement():
    imports = third_party_imports(FUNCTION_SOURCES + LAYER_SOURCES)
    assert {"boto3", "botocore", "pydantic", "aws_lambda_powertools"} <= imports.keys()  # the scan sees them
    installed = {canonicalize_name(d.metadata["Name"]): d for d in md.distributions()}
    needed = resolve(layer_requirements(), installed, lambda_environment(deployed_runtime()))
    providers = md.packages_distributions()
    for module, files in imports.items():
        dists = {canonicalize_name(d) for d in providers.get(module, [])}
        assert dists & needed, f"{module} (imported by {files}) comes from no layer requirement"


def test_functions_import_only_the_layer_and_the_standard_library():
    assert third_party_imports(FUNCTION_SOURCES) == {}


# -- the layer build's hoisting step --------------------------------------------------------------
def load_hoist():
    spec = importlib.util.spec_from_file_location("hoist_shared", LAYER_SRC / "hoist_shared.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_hoist_moves_only_what_every_version_has_identically(tmp_path):
    hoist = load_hoist()
    python = tmp_path / "python"
    for version, compiled in (("3.12", b"cp312"), ("3.13", b"cp313")):
        site = hoist.site_packages(python, version)
        (site / "pure").mkdir(parents=True)
        (site / "pure" / "__init__.py").write_text("x = 1\n")
        (site / "compiled").mkdir()
        (site / "compiled" / "_ext.so").write_bytes(compiled)
        (site / "single.py").write_text("y = 2\n")
    (hoist.site_packages(python, "3.12") / "backport.py").write_text("z = 3\n")  # only 3.12 needs it

    assert hoist.hoist(python, ["3.12", "3.13"]) == ["pure", "single.py"]
    assert (python / "pure" / "__init__.py").read_text() == "x = 1\n"
    for version, kept in (("3.12", ["backport.py", "compiled"]), ("3.13", ["compiled"])):
        assert sorted(p.name for p in hoist.site_packages(python, version).iterdir()) == kept
    assert (hoist.site_packages(python, "3.13") / "compiled" / "_ext.so").read_bytes() == b"cp313"


def test_hoist_refuses_to_overwrite_the_layer_code(tmp_path):
    hoist = load_hoist()
    python = tmp_path / "python"
    (python / "mskpair_core").mkdir(parents=True)
    for version in ("3.12", "3.13"):
        (hoist.site_packages(python, version) / "mskpair_core").mkdir(parents=True)
    with pytest.raises(SystemExit, match="collides"):
        hoist.hoist(python, ["3.12", "3.13"])


# -- the build output (make build) ----------------------------------------------------------------
@pytest.fixture(scope="module")
def built_layer() -> Path:
    layer = BUILD / "CommonLayer" / "python"
    if not layer.is_dir():
        reason = f"{layer.relative_to(ROOT)} is missing: run `make build` first"
        if os.environ.get("MSK_PAIR_REQUIRE_BUILD") == "1":
            pytest.fail(reason + " (MSK_PAIR_REQUIRE_BUILD=1: make test builds before testing)")
        pytest.skip(reason)
    return layer


def runtime_path(layer: Path, runtime: str) -> list[Path]:
    """The layer's directories on sys.path for this runtime (packaging-layers.html#packaging-layers-paths)."""
    return [layer / "lib" / runtime / "site-packages", layer]


@pytest.mark.parametrize("runtime", allowed_runtimes())
def test_built_layer_has_the_runtimes_own_compiled_pydantic_core(built_layer, runtime):
    tag = "cpython-3" + runtime.removeprefix("python3.")
    site, shared = runtime_path(built_layer, runtime)
    found = [p for d in (site, shared) for p in (d / "pydantic_core").glob("_pydantic_core.*.so")]
    assert [p.name for p in found] == [f"_pydantic_core.{tag}-x86_64-linux-gnu.so"], found
    # and nothing compiled for another CPython sits where every runtime would import it
    stray = [p for p in shared.rglob("*.so") if p.relative_to(shared).parts[0] != "lib"]
    assert all(tag in p.name or "abi3" in p.name for p in stray), stray


@pytest.mark.parametrize("runtime", allowed_runtimes())
def test_built_layer_satisfies_the_requirements_on_each_runtime(built_layer, runtime):
    dists = {
        canonicalize_name(d.metadata["Name"]): d
        for d in md.distributions(path=[str(p) for p in runtime_path(built_layer, runtime)])
    }
    needed = resolve(layer_requirements(), dists, lambda_environment(runtime))
    assert {"aws-lambda-powertools", "pydantic", "pydantic-core", "boto3", "botocore", "aws-xray-sdk"} <= needed
    for module in third_party_imports(FUNCTION_SOURCES + LAYER_SOURCES):
        assert any((d / module).is_dir() or (d / f"{module}.py").is_file() for d in runtime_path(built_layer, runtime))


def test_built_layer_holds_the_current_mskpair_core(built_layer):
    source = LAYER_SRC / "python" / "mskpair_core"
    built = built_layer / "mskpair_core"
    names = sorted(p.relative_to(source) for p in source.rglob("*.py"))
    assert names == sorted(p.relative_to(built) for p in built.rglob("*.py")), "stale build: run make build"
    assert all((built / n).read_bytes() == (source / n).read_bytes() for n in names), "stale build: run make build"


def test_built_functions_carry_no_dependencies(built_layer):
    functions = [k for k, r in TEMPLATE["Resources"].items() if r["Type"] == "AWS::Serverless::Function"]
    for logical_id in functions:
        built = BUILD / logical_id
        assert built.is_dir(), f"{logical_id} is not built"
        assert not list(built.glob("*.dist-info")), f"{logical_id} vendors packages; they belong in the layer"
