"""Issue 11: the workflow against a real deployed stack (skipped unless one is configured; see conftest.py).

Cheap: a bad input and the teardown of a deployment that does not exist (a few state transitions and Lambda
invocations). Behind MSK_PAIR_INTEGRATION_FULL=1: the full provisioning of events/region-pair.json and its
teardown, ~1.5 h of real MSK brokers.
"""

from __future__ import annotations

import pytest

from tests.integration import scenarios

pytestmark = pytest.mark.deployed_stack


def test_bad_input_fails_with_invalid_input_and_makes_nothing(stack, deployment):
    scenarios.bad_input_fails_and_makes_nothing(stack, deployment)


def test_teardown_of_a_deployment_that_does_not_exist_succeeds(stack, deployment):
    scenarios.teardown_of_a_missing_deployment_succeeds(stack, deployment)


@pytest.mark.full_provisioning
def test_provision_the_sample_then_teardown_leaves_nothing(stack, deployment):
    scenarios.provision_then_teardown(stack, deployment)
