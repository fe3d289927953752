"""Least privilege, proved: each handler runs under exactly its own policy from template.yaml.

The whole sample provisioning and its teardown run on the emulator with IAM
enforced (``msk_pair.emulator.iam_enforcement``): every AWS call a handler makes
is signed with its function's role credentials and authorized against that
role's policy (actions, resource ARNs, tag and service conditions), so a missing
permission fails the execution. What the evaluator does and does not model is
documented in that module.
"""

from __future__ import annotations

import copy

from msk_pair.emulator.iam_enforcement import as_list, enforced, function_policies, statements
from msk_pair.emulator.iam_reference import action_spec
from tests.conftest import TEARDOWN_REQUEST as TEARDOWN
from tests.conftest import leftovers


def no_resource_types(action: str) -> bool:
    """The Service Authorization Reference lists no resource type: only ``"*"`` can allow the action."""
    return not action_spec(action).has_resource_types


def _policies(emu):
    return function_policies(emu.template)


def test_no_policy_grants_everything_or_a_whole_service(emu):
    problems = []
    for fn, docs in _policies(emu).items():
        assert docs, f"{fn} has no policy"
        for st in statements(docs):
            assert st["Effect"] == "Allow" and "NotAction" not in st and "NotResource" not in st, (fn, st)
            for action in as_list(st["Action"]):
                if action == "*" or action.endswith(":*"):
                    problems.append(f"{fn}/{st.get('Sid')}: {action}")
            if "*" in as_list(st["Resource"]) and not st.get("Condition"):
                broad = sorted(a for a in as_list(st["Action"]) if not no_resource_types(a))
                if broad:
                    problems.append(f"{fn}/{st.get('Sid')}: Resource * without a Condition for {broad}")
    assert not problems, "\n".join(problems)


def _run_enforced(emu, sample, policies=None):
    with enforced(emu, policies) as enforcement:
        provision = emu.run(sample)
        teardown = emu.run(TEARDOWN)
    return enforcement, provision, teardown


def test_every_handler_succeeds_under_exactly_its_own_policy(emu, sample):
    enforcement, provision, teardown = _run_enforced(emu, sample)

    assert provision.status == "SUCCEEDED", provision.cause
    assert teardown.status == "SUCCEEDED", teardown.cause
    assert leftovers() == {}

    denied = [c for c in enforcement.checks if not c.allowed]
    assert not denied, denied
    # Every function of the template ran, and every call it made was authorized against its policy.
    invoked = {i["function"] for i in emu.runtime.invocations}
    assert invoked == set(emu.functions), set(emu.functions) - invoked
    checked_by = {c.function for c in enforcement.checks}
    assert checked_by == invoked
    checked = {(c.function, c.action.split(":", 1)[1]) for c in enforcement.checks}
    assert set(enforcement.signed) <= checked, set(enforcement.signed) - checked
    # Every Condition the policies use on an exercised statement was evaluated, none skipped.
    assert not enforcement.unevaluated, enforcement.unevaluated


def test_a_missing_permission_fails_the_run_and_rollback_cleans_up(emu, sample):
    policies = copy.deepcopy(_policies(emu))
    docs = policies["NetworkCreateFunction"]
    for st in statements(docs):
        st["Action"] = [a for a in as_list(st["Action"]) if a != "ec2:CreateSubnet"]
    for doc in docs:
        doc["Statement"] = [st for st in doc["Statement"] if st["Action"]]

    enforcement, provision, teardown = _run_enforced(emu, sample, policies)

    assert provision.status == "FAILED"
    assert provision.error == "AccessDenied", provision.error  # EC2's UnauthorizedOperation, classified
    assert "UnauthorizedOperation" in provision.cause and "ec2:CreateSubnet" in provision.cause, provision.cause
    denied = {(c.function, c.action) for c in enforcement.checks if not c.allowed}
    assert denied == {("NetworkCreateFunction", "ec2:CreateSubnet")}
    assert teardown.status == "SUCCEEDED", teardown.cause
    assert leftovers() == {}
