"""What ties template.yaml, the ASL and the handlers together, checked so that a rename or a new step
cannot leave one of them behind: one name per function (logical id, handler, metric step), the handlers'
typing, and the ASL's ``${...Arn}`` placeholders = the state machine's DefinitionSubstitutions = the
functions it may invoke = the template's functions."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from msk_pair.emulator.cfn import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT)
FUNCTIONS = {
    logical_id: resource["Properties"]
    for logical_id, resource in TEMPLATE["Resources"].items()
    if resource["Type"] == "AWS::Serverless::Function"
}


def _words(logical_id: str) -> list[str]:
    """``ClientSecurityGroupCreateFunction`` -> ``["client", "security", "group", "create"]``."""
    return [w.lower() for w in re.findall(r"[A-Z][a-z0-9]*", logical_id.removesuffix("Function"))]


def _handlers(path: Path) -> dict[str, ast.FunctionDef]:
    """The functions of an app.py decorated with ``@task(...)``."""
    tree = ast.parse(path.read_text())
    return {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any(isinstance(d, ast.Call) and getattr(d.func, "id", None) == "task" for d in node.decorator_list)
    }


def _step(handler: ast.FunctionDef) -> str:
    [call] = [d for d in handler.decorator_list if isinstance(d, ast.Call) and getattr(d.func, "id", None) == "task"]
    return ast.literal_eval(call.args[0])


# -- one naming order: noun first ------------------------------------------------------------------


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_a_function_its_handler_and_its_step_share_one_noun_first_name(logical_id: str) -> None:
    """``ClusterCreateFunction`` is ``functions/cluster/app.py:cluster_create``, step ``cluster-create``."""
    props: dict[str, Any] = FUNCTIONS[logical_id]
    words = _words(logical_id)
    assert props["Handler"] == "app." + "_".join(words)
    handlers = _handlers(ROOT / props["CodeUri"] / "app.py")
    handler = handlers["_".join(words)]
    assert _step(handler) == "-".join(words)


def test_every_handler_is_a_function_of_the_template() -> None:
    named = {(str(Path(p["CodeUri"])), p["Handler"].removeprefix("app.")) for p in FUNCTIONS.values()}
    found = {
        (str(path.parent.relative_to(ROOT)), name)
        for path in sorted(ROOT.glob("functions/*/app.py"))
        for name in _handlers(path)
    }
    assert found == named


@pytest.mark.parametrize("path", sorted(ROOT.glob("functions/*/app.py")), ids=lambda p: p.parent.name)
def test_handlers_are_typed_as_powertools_types_them(path: Path) -> None:
    """``def name(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]`` (Powertools' examples)."""
    for name, handler in _handlers(path).items():
        args = [(a.arg, ast.unparse(a.annotation) if a.annotation else None) for a in handler.args.args]
        assert args == [("event", "dict[str, Any]"), ("context", "LambdaContext")], name
        assert handler.returns is not None and ast.unparse(handler.returns) == "dict[str, Any]", name


# -- the ASL, its substitutions and the state machine's invoke permission --------------------------
STATE_MACHINE = TEMPLATE["Resources"]["ProvisionStateMachine"]["Properties"]
ASL_TEXT = (ROOT / STATE_MACHINE["DefinitionUri"]).read_text()


def _placeholders() -> set[str]:
    return set(re.findall(r"\$\{([^}]+)\}", ASL_TEXT))


def _invocable() -> set[str]:
    """The functions the state machine's role may invoke: lambda:InvokeFunction on ``!GetAtt <Function>.Arn``
    (or a SAM ``LambdaInvokePolicy`` naming one)."""
    found: set[str] = set()
    for policy in STATE_MACHINE["Policies"]:
        if "LambdaInvokePolicy" in policy:
            found.add(policy["LambdaInvokePolicy"]["FunctionName"]["Ref"])
            continue
        statements = policy["Statement"]
        for st in statements if isinstance(statements, list) else [statements]:
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            if st["Effect"] != "Allow" or not any(a.lower() in ("lambda:invokefunction", "lambda:*") for a in actions):
                continue
            resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            for resource in resources:
                assert isinstance(resource, dict) and list(resource) == ["Fn::GetAtt"], (
                    f"not a function ARN: {resource}"
                )
                function, attribute = resource["Fn::GetAtt"]
                assert attribute == "Arn", resource
                found.add(function)
    return found


def test_every_asl_placeholder_is_a_definition_substitution_and_no_more() -> None:
    assert _placeholders() == set(STATE_MACHINE["DefinitionSubstitutions"])


def test_each_substitution_is_the_arn_of_the_function_it_names() -> None:
    for key, value in STATE_MACHINE["DefinitionSubstitutions"].items():
        assert key.endswith("Arn") and value == {"Fn::GetAtt": [key.removesuffix("Arn"), "Arn"]}, (key, value)


def test_the_state_machine_may_invoke_exactly_the_functions_its_asl_uses() -> None:
    """On AWS a missing permission fails the execution at that state; the emulator runs the state machine as the
    account, so only this test says so before a deployment. One more would be a permission nothing needs."""
    used = {key.removesuffix("Arn") for key in _placeholders()}
    assert _invocable() == used


def test_every_function_of_the_template_is_a_task_of_the_asl() -> None:
    assert {key.removesuffix("Arn") for key in _placeholders()} == set(FUNCTIONS)
