"""What the user hands the CLI: input files, latency profiles, ``--fail`` specs, numbers.

Every problem here is the user's to fix, so each becomes one :class:`CliError` line that
names the file or the option, never a traceback.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from msk_pair.cli.errors import CliError
from msk_pair.layer import ensure_on_path, project_root


def read_json_file(path: str, what: str = "input file") -> Any:
    """A JSON file's content; a UTF-8 byte order mark is accepted (editors on Windows write one)."""
    try:
        raw = Path(path).read_bytes()
    except IsADirectoryError:
        raise CliError(f"cannot read {what} {path}: it is a directory") from None
    except OSError as exc:
        raise CliError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CliError(f"{path} is not UTF-8 text (byte {exc.start}): save it as UTF-8") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CliError(f"{path} is not valid JSON: {exc}") from None


def read_input(path: str) -> dict[str, Any]:
    request = read_json_file(path)
    if not isinstance(request, dict):
        raise CliError(f"{path}: InvalidInput: input: must be a JSON object")
    return request


def validate_locally(request: Any, source: str) -> dict[str, Any]:
    """The state machine's own first state, run here: same rules, same availability-zone lookup."""
    ensure_on_path()
    from mskpair_core import aws
    from mskpair_core.config import validate_request
    from mskpair_core.errors import InvalidInput
    from mskpair_core.network import availability_zones

    aws.reset_clients()
    try:
        return validate_request(request, az_lookup=availability_zones)
    except InvalidInput as exc:
        raise CliError(f"{source}: InvalidInput: {exc}") from None


def load_latency_profile(path: str | None, option: str = "--latency-profile") -> Any:
    """The emulator's latency profile from ``path`` (the FAST profile without one)."""
    from dataclasses import fields

    from msk_pair.emulator.profile import FAST, LatencyProfile

    if not path:
        return FAST
    raw = read_json_file(path, what=f"{option} file")
    if not isinstance(raw, dict):
        raise CliError(f"{option} {path}: must be a JSON object of durations in seconds")
    known = [f.name for f in fields(LatencyProfile)]
    for key, value in raw.items():
        if key == "_comment":
            continue
        if key not in known:
            near = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise CliError(f"{option} {path}: unknown field {key!r}{hint}; the fields are {', '.join(known)}")
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise CliError(f"{option} {path}: {key} must be a number of seconds >= 0 (got {value!r})")
    return LatencyProfile.load(path)


# -- --fail FUNCTION[:ROLE] ------------------------------------------------------------------------
_PLACEHOLDER = re.compile(r"^\$\{([A-Za-z0-9]+)\}$")


@lru_cache(maxsize=1)
def fail_targets() -> dict[str, frozenset[str]]:
    """Each Lambda function the state machine invokes, with the roles its tasks pass (from the template)."""
    from msk_pair.emulator.engine import load_template

    root = project_root()
    template = load_template(root)
    machine = next(
        r["Properties"] for r in template["Resources"].values() if r.get("Type") == "AWS::Serverless::StateMachine"
    )
    definition = json.loads((root / machine["DefinitionUri"]).read_text())
    substitutions = machine.get("DefinitionSubstitutions", {})
    found: dict[str, set[str]] = {}

    def walk(states: dict[str, Any]) -> None:
        for state in states.values():
            if state.get("Type") == "Task":
                params = state.get("Parameters", {})
                resource = params.get("FunctionName") or state.get("Resource", "")
                match = _PLACEHOLDER.match(resource)
                target = substitutions.get(match.group(1)) if match else None
                if isinstance(target, dict) and "Fn::GetAtt" in target:
                    function = target["Fn::GetAtt"][0]
                    payload = params.get("Payload", params)
                    roles = found.setdefault(function, set())
                    if isinstance(payload.get("role"), str):
                        roles.add(payload["role"])
            for branch in state.get("Branches", []):
                walk(branch["States"])
            if "ItemProcessor" in state:
                walk(state["ItemProcessor"]["States"])

    walk(definition["States"])
    return {k: frozenset(v) for k, v in found.items()}


def _words(name: str) -> list[str]:
    return sorted(w.lower() for w in re.findall(r"[A-Z][a-z0-9]*|[a-z0-9]+", name.removesuffix("Function")))


def _same_words(function: str, targets: Iterable[str]) -> list[str]:
    """A target with the same words in another order: the verb-first names before the noun-first renaming
    (``CreateNetworkFunction`` is ``NetworkCreateFunction``)."""
    return [t for t in targets if _words(t) == _words(function)][:1]


def parse_fail(specs: list[str] | None) -> list[tuple[str, str | None]]:
    """``--fail FUNCTION[:ROLE]`` values checked against the state machine's functions and roles."""
    targets = fail_targets()
    parsed = []
    for spec in specs or []:
        function, sep, role = spec.partition(":")
        if function not in targets:
            near = _same_words(function, targets) or difflib.get_close_matches(function, targets, n=1, cutoff=0.5)
            hint = f" (did you mean {near[0]}?)" if near else ""
            raise CliError(
                f"--fail {spec}: no function {function!r} in the state machine{hint}; "
                f"the functions are {', '.join(sorted(targets))}"
            )
        roles = targets[function]
        if sep and role not in roles:
            if not roles:
                raise CliError(f"--fail {spec}: {function} runs once, for no region: use --fail {function}")
            raise CliError(f"--fail {spec}: {function} has no role {role!r}; its roles are {', '.join(sorted(roles))}")
        parsed.append((function, role or None))
    return parsed


# -- argparse types ---------------------------------------------------------------------------------
def non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if value < 0 or value != value:  # NaN
        raise argparse.ArgumentTypeError(f"must be >= 0 (real seconds per emulated second), got {text}")
    return value


def positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535, got {value}")
    return value
