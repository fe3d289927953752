"""How pytest reports the deployed-stack tier, seen as a user sees it: pytest in a subprocess.

- unconfigured: the tier is skipped (exit 0, never 5), the ``-ra`` summary says what to set, and collecting
  it makes no AWS call (every endpoint points at a closed port, yet nothing fails);
- configured: the same tests are armed (they try to reach AWS in their fixture, not at collection);
- a default run that would only skip this tier fails (tests/conftest.py ``MIN_TESTS_RUN_BY_DEFAULT``).
"""

from __future__ import annotations

import subprocess
import sys

from tests.cli.conftest import clean_env
from tests.integration.support import NO_STACK, ROOT

TIER = "tests/integration/test_deployed_stack.py"
NOWHERE = {  # any AWS call fails at once: a closed port, one attempt, no instance metadata
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    "AWS_MAX_ATTEMPTS": "1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}


def pytest_run(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        env=clean_env(**NOWHERE, **env),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_unconfigured_the_tier_is_skipped_says_what_to_set_and_calls_nothing():
    run = pytest_run(TIER)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 skipped" in run.stdout
    assert f"SKIPPED [2] {TIER}: {NO_STACK}" in run.stdout
    assert "AWS_SAM_STACK_NAME is not set: set AWS_SAM_STACK_NAME=<name of a deployed msk-pair stack>" in NO_STACK
    assert "test_deployed_stack.py:25: " in run.stdout and "MSK_PAIR_INTEGRATION_FULL=1" in run.stdout


def test_configured_the_tier_is_armed_and_reaches_for_aws_only_in_its_fixture():
    run = pytest_run(TIER, AWS_SAM_STACK_NAME="msk-pair", AWS_REGION="eu-west-1")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 skipped, 2 errors" in run.stdout  # the full run still needs MSK_PAIR_INTEGRATION_FULL=1
    assert "Could not connect to the endpoint URL" in run.stdout


def test_a_default_run_that_would_only_skip_the_tier_fails():
    run = pytest_run("-o", f"testpaths={TIER}")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "ERROR: only 0 tests ran in the default run" in run.stdout
