"""The deployed-stack tier: tests marked ``deployed_stack`` run only against a real, deployed msk-pair stack.

They are skipped, with a reason that says what to set (shown by ``-ra`` in every run's summary), unless
``AWS_SAM_STACK_NAME`` is set and boto3 finds credentials; the one marked ``full_provisioning``
also needs ``MSK_PAIR_INTEGRATION_FULL=1``. See README, "Integration tests against a deployed stack".
"""

from __future__ import annotations

import os

import pytest

from tests.integration import support

TARGET = pytest.StashKey[support.Target | str]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "deployed_stack: needs a deployed msk-pair stack and AWS credentials (skipped otherwise)"
    )
    config.addinivalue_line(
        "markers", "full_provisioning: builds and deletes real MSK clusters; needs MSK_PAIR_INTEGRATION_FULL=1"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ours = [item for item in items if item.get_closest_marker("deployed_stack")]
    if not ours:
        return
    target = support.find_target(os.environ)
    config.stash[TARGET] = target
    full = os.environ.get(support.FULL_VAR) == "1"
    for item in ours:
        reason = target if isinstance(target, str) else ""
        if item.get_closest_marker("full_provisioning") and not full:
            reason = f"{reason}; and {support.FULL_ONLY}" if reason else support.FULL_ONLY
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> support.Stack:
    """The deployed stack's state machine (from its ``ProvisionStateMachineArn`` output)."""
    target = request.config.stash.get(TARGET, support.NO_STACK)
    if isinstance(target, str):
        pytest.skip(target)
    return support.connect(target)


@pytest.fixture
def deployment() -> str:
    """A deployment name of its own for each test, so runs never collide."""
    return support.unique_deployment_name()
