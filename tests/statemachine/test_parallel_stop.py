"""Issue 16.3: a branch that a failed Parallel stopped starts no Lambda after the rollback has begun.

The flaky rollback (a peering left in us-east-1 after ``Primary: create cluster`` failed) had one
cause: moto's engine checks that a branch is running only *between* states, so the Peering branch
could pass that check, the primary branch fail, the rollback's Wait and teardown run, and only then
the Peering branch's ``Peering: request`` Lambda create a peering nobody would delete. Step Functions
stops the other branches when one fails (developer guide, "Parallel workflow state": "If any branch
fails, ... the entire Parallel state fails" and its branches are stopped) and schedules no new Task in
a stopped branch; a Task scheduled before the stop ends within its Timeout, which the rollback's
"Let in-flight tasks end" Wait outlasts (tests/unit/test_in_flight_wait.py).

This test makes the interleaving that was rare certain: the Peering branch is held just after it
decided to run its Task, until the execution (rollback included) has ended.
"""

from __future__ import annotations

import json
import threading

from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

from msk_pair.emulator.aws_errors import DENIED
from tests.conftest import leftovers


def test_a_task_of_a_stopped_branch_never_runs_after_the_rollback(emu, sample, monkeypatch):
    through = lambda_eval_utils.execute_lambda_function_integration
    held, release, finished = threading.Event(), threading.Event(), threading.Event()
    outcome: dict[str, str] = {}

    def integration(env, parameters, region, state_credentials):
        name = str(parameters.get("FunctionName", ""))
        if name.endswith(":PeeringRequestFunction"):
            held.set()
            assert release.wait(60)
            try:
                return through(env=env, parameters=parameters, region=region, state_credentials=state_credentials)
            except Exception as exc:
                outcome["error"] = type(exc).__name__
                raise
            finally:
                finished.set()
        if name.endswith(":ClusterCreateFunction") and json.loads(parameters["Payload"])["role"] == "primary":
            assert held.wait(60)  # the primary fails only once the Peering branch is past its running check
        return through(env=env, parameters=parameters, region=region, state_credentials=state_credentials)

    monkeypatch.setattr(lambda_eval_utils, "execute_lambda_function_integration", integration)
    emu.faults.add_aws("ClusterCreateFunction", DENIED, state="Primary: create cluster", times=None)

    result = emu.run(sample)
    assert result.status == "FAILED" and result.error == "AccessDenied", result.cause
    release.set()
    assert finished.wait(60)
    assert outcome == {"error": "BranchStopped"}
    assert "PeeringRequestFunction" not in {r["function"] for r in emu.runtime.invocations}
    assert leftovers() == {}
