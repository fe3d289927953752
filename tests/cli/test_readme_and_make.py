"""What a new user reads and types first: the README's commands and sample, and the Makefile's front door."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib

import pytest

from tests.cli.conftest import ROOT, SAMPLE_FILE

README = (ROOT / "README.md").read_text()


def _shell_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, re.S)


def test_the_readme_sample_input_is_events_region_pair_json():
    section = README.split("## Input (the contract)", 1)[1]
    sample = re.search(r"```json\n(.*?)```", section, re.S).group(1)
    assert json.loads(sample) == json.loads(SAMPLE_FILE.read_text())


def test_every_msk_pair_command_in_the_readme_is_one_the_cli_takes():
    from msk_pair.cli import parser

    commands = [
        re.split(r"\s#\s", line, maxsplit=1)[0].strip()
        for block in _shell_blocks(README)
        for line in block.splitlines()
        if line.startswith("msk-pair ")
    ]
    assert len(commands) >= 12
    for command in commands:
        argv = shlex.split(command.replace("<execution-arn>", "arn:aws:states:us-east-1:1:execution:msk-pair:x"))[1:]
        if argv == ["--version"]:
            continue
        parser().parse_args(argv)  # exits 2 (failing the test) on anything the CLI does not take


def test_the_readme_calls_the_cli_one_way():
    """`msk-pair` everywhere, after saying once how to get it (.venv/bin/msk-pair or an activated venv)."""
    assert ". .venv/bin/activate" in README and "`.venv/bin/msk-pair`" in README
    for block in _shell_blocks(README):
        for line in block.splitlines():
            assert not line.startswith(".venv/bin/msk-pair"), line


def test_the_readme_says_what_a_user_must_know_before_the_first_deployment():
    assert "[docs/state-machine.md](docs/state-machine.md)" in README
    assert "`sam delete` removes the tool, not the clusters" in README
    assert "about **49 minutes**" in README and "about **20 minutes**" in README  # next to the demo's emulated 8
    assert "restarting it loses every deployment made on it" in README
    assert "describe-stacks --stack-name msk-pair --region us-east-1" in README
    assert "session-manager-getting-started-ssm-user-permissions.html" in README


# -- the Makefile and the virtualenv -----------------------------------------------------------------
def _fake_python(path, version: str) -> str:
    """A `python` that says it is ``version`` and fails the 3.11 check, as an old interpreter would."""
    path.write_text(f'#!/bin/sh\necho "Python {version}"\nexit 1\n')
    path.chmod(0o755)
    return str(path)


def test_a_venv_made_by_a_too_old_python_is_replaced(tmp_path):
    venv = tmp_path / ".venv"
    (venv / "bin").mkdir(parents=True)
    _fake_python(venv / "bin" / "python", "3.9.18")
    (venv / ".installed-runtime-123").write_text("")  # what it had installed goes with it
    result = subprocess.run(
        ["sh", str(ROOT / "scripts" / "ensure-venv.sh"), str(venv), sys.executable],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "replacing" in result.stdout and "Python 3.9.18" in result.stdout
    check = subprocess.run([str(venv / "bin" / "python"), "-c", "import sys; print(sys.version_info >= (3, 11))"])
    assert check.returncode == 0
    assert not (venv / ".installed-runtime-123").exists()


def test_a_too_old_python_is_refused_with_what_to_do(tmp_path):
    old = _fake_python(tmp_path / "python3", "3.9.18")
    result = subprocess.run(
        ["sh", str(ROOT / "scripts" / "ensure-venv.sh"), str(tmp_path / ".venv"), old],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "msk-pair needs Python 3.11 or newer" in result.stderr and "make PYTHON=" in result.stderr
    assert not (tmp_path / ".venv").exists()


def _dry_run(*targets: str) -> str:
    """What make would run for ``targets`` if pyproject.toml had just changed (nothing is run)."""
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "-W", "pyproject.toml", *targets],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_make_demo_installs_the_runtime_dependencies_only():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = " ".join(project["dependencies"])
    for tool in ("aws-sam-cli", "ruff", "pytest"):
        assert tool not in runtime
        assert any(dep.startswith(tool) for dep in project["optional-dependencies"]["dev"])
    assert "rich" in runtime
    demo = _dry_run("demo")
    assert "install --progress-bar on -e ." in demo and "[dev]" not in demo
    assert "scripts/ensure-venv.sh" in demo
    assert "install --progress-bar on -e '.[dev]'" in _dry_run("setup")
    assert re.search(r"rm -rf .*\.venv", _dry_run("clean"))


def _make_demo(target: str) -> subprocess.CompletedProcess:
    stamp = _runtime_stamp()
    if not (ROOT / stamp).exists():
        pytest.skip(f"{stamp} is missing: run `make setup` first (this test must not install anything)")
    return subprocess.run(
        ["make", "--no-print-directory", "-s", target, "DEMO_PACE=0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_make_demo_ends_with_what_a_kafka_user_needs():
    result = _make_demo("demo")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    out = result.stdout
    assert "■ execution succeeded in " in out
    # the workflow's emulated time, as README says ("a provisioning of about 8 minutes"): a history read with
    # its timestamps as text once showed every step at [0:00:00] and "succeeded in 0s"
    assert re.search(r"^\[0:0[6-9]:\d\d\] ■ execution succeeded in [6-9]m\d+s$", out, re.MULTILINE), out[-600:]
    summary = out.split("■ execution succeeded", 1)[1]
    assert "Deployment orders-dr" in summary
    assert "sudo /opt/kafka/bin/kafka-topics.sh --bootstrap-server b-1." in summary
    assert '"deploymentName":' not in summary  # the summary, not the execution's raw JSON (that is --json)


def test_make_demo_rollback_succeeds_when_the_rollback_is_verified():
    result = _make_demo("demo-rollback")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    assert "rollback verified: the execution failed at Secondary: create network as injected" in result.stdout
    assert "Error" not in result.stderr and "ignored" not in result.stderr


def _runtime_stamp() -> str:
    total = subprocess.run(
        "cat pyproject.toml | cksum | cut -d' ' -f1", shell=True, cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    return f".venv/.installed-runtime-{total}"
