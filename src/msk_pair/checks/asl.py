"""ASL checks: the state machine definition, as CloudFormation hands it to Step Functions, read by
two independent validators from npm (asl-validator and @wmfs/statelint, pinned in package.json).

``DefinitionSubstitutions`` are filled in first with the values the SAM-transformed template gives
them (``Fn::GetAtt`` of each function's ``Arn`` -> a plausible Lambda ARN), as CloudFormation does
at deploy time; a placeholder left over is itself a finding.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from msk_pair.checks.findings import Finding
from msk_pair.checks.iam import Resolver, Unresolvable, load_cfn

NODE_SCRIPT = Path(__file__).with_name("asl_validate.js")


def rendered_definitions(root: Path) -> tuple[list[tuple[str, str]], list[Finding]]:
    """(location, definition text) of every state machine in template.yaml, substitutions filled in."""
    from msk_pair.emulator.engine import load_template

    sam = load_template(root)
    cfn = load_cfn(root)
    resolver = Resolver(cfn)
    out, findings = [], []
    for logical, res in sam.get("Resources", {}).items():
        if res.get("Type") != "AWS::Serverless::StateMachine":
            continue
        props = res.get("Properties") or {}
        location = props.get("DefinitionUri") if isinstance(props.get("DefinitionUri"), str) else "template.yaml"
        location = f"{location}:{logical}"
        if isinstance(props.get("DefinitionUri"), str):
            text = (root / props["DefinitionUri"]).read_text()
        elif "Definition" in props:
            text = json.dumps(props["Definition"])
        else:
            findings.append(Finding(location, "asl.definition", "no local DefinitionUri or Definition to read"))
            continue
        substitutions = (cfn["Resources"].get(logical, {}).get("Properties") or {}).get("DefinitionSubstitutions", {})
        for key, value in substitutions.items():
            try:
                text = text.replace("${" + key + "}", str(resolver.resolve(value)))
            except Unresolvable as err:
                findings.append(Finding(location, "resolve", f"DefinitionSubstitutions {key}: {err}"))
        for left in sorted(set(re.findall(r"\$\{([^}]+)\}", text))):
            findings.append(Finding(location, "asl.substitution", f"${{{left}}} has no DefinitionSubstitutions value"))
        out.append((location, text))
    return out, findings


def _validate(text: str, root: Path) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None:
        raise FileNotFoundError("node is not on PATH")
    if not (root / "node_modules" / "asl-validator").is_dir():
        raise FileNotFoundError("node_modules is missing: run `npm ci --no-audit --no-fund` (make check does)")
    done = subprocess.run(
        [node, str(NODE_SCRIPT)], input=text, capture_output=True, text=True, cwd=root, check=False, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"the ASL validators crashed: {done.stderr.strip()[-2000:]}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def check(root: Path, notes: list[str] | None = None) -> list[Finding]:
    definitions, findings = rendered_definitions(root)
    for location, text in definitions:
        try:
            json.loads(text)
        except ValueError as err:
            findings.append(Finding(location, "asl.json", f"not JSON: {err}"))
            continue
        try:
            problems = _validate(text, root)
        except (OSError, RuntimeError) as err:
            findings.append(Finding(location, "asl.tool", str(err)))
            continue
        for p in problems:
            findings.append(Finding(location, f"{p['validator']}.{p['code']}", p["detail"]))
        if notes is not None:
            notes.append(f"{location}: asl-validator and statelint read {len(text)} characters")
    return findings
