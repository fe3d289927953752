"""Step Functions Local mock configuration files, read by moto's engine.

AWS service: AWS Step Functions Local: its mocked service integrations (MockConfigFile).
Sources: Step Functions Developer Guide, "Using mocked service integrations for testing in Step
  Functions Local".

moto's engine (ported from LocalStack) can replay mocked task responses but
ships without a loader (``load_mock_test_case_for`` returns None). This fills it
in: the file named by ``SFN_MOCK_CONFIG`` (the variable Step Functions Local
reads) in Step Functions Local's ``MockConfigFile`` format is loaded, and an
execution started on ``<stateMachineArn>#<TestCase>`` runs with that test case's
mocked responses. States a test case does not list run for real, as on
Step Functions Local. The same file therefore runs on the real Step Functions
Local (Docker) and here.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from moto.stepfunctions.parser.backend.execution import Execution
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from moto.stepfunctions.parser.mocking import mock_config as moto_mock_config
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

from msk_pair.emulator.patching import PatchSet

ENV_VAR = "SFN_MOCK_CONFIG"

_pending = threading.local()


class _Response:
    def __init__(self, raw: dict[str, Any]) -> None:
        unknown = set(raw) - {"Return", "Throw"}
        if unknown or len(raw) != 1:
            raise RuntimeError(f"a mocked response has exactly one of Return or Throw, got {sorted(raw)}")
        ret = raw.get("Return")
        self.Return = _Payload(ret) if "Return" in raw else None
        throw = raw.get("Throw")
        self.Throw = _Throw(throw) if throw is not None else None


class _Payload:
    def __init__(self, value: Any) -> None:
        self._value = value

    def __bool__(self) -> bool:
        return True

    def model_dump(self) -> Any:
        return self._value


class _Throw:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.Error = raw["Error"]
        self.Cause = raw.get("Cause", "")


class _TestCase:
    def __init__(self, raw: dict[str, str]) -> None:
        self.root = raw


class _StateMachine:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.TestCases = {name: _TestCase(case) for name, case in raw.get("TestCases", {}).items()}


class MockConfig:
    """A parsed MockConfigFile, in the shape moto's mock_config module reads."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.StateMachines = {name: _StateMachine(sm) for name, sm in raw.get("StateMachines", {}).items()}
        self.MockedResponses = {
            name: {rng: _Response(resp) for rng, resp in responses.items()}
            for name, responses in raw.get("MockedResponses", {}).items()
        }

    @classmethod
    def from_file(cls, path: str | Path) -> MockConfig:
        return cls(json.loads(Path(path).read_text()))


def load_mock_test_case_for(state_machine_name: str, test_case_name: str) -> Any:
    path = os.environ.get(ENV_VAR)
    if not path:
        raise RuntimeError(f"execution asks for mock test case {test_case_name!r} but {ENV_VAR} is not set")
    raw = MockConfig.from_file(path)
    return moto_mock_config._mock_test_case_from_raw(
        state_machine_name=state_machine_name, test_case_name=test_case_name, raw_mock_config=raw
    )


def _start_with_test_case(self: Any, state_machine_arn: str, *args: Any, **kwargs: Any) -> Any:
    arn, _, case = state_machine_arn.partition("#")
    _pending.case = None
    if case:
        machine = self.describe_state_machine(arn)
        _pending.case = load_mock_test_case_for(machine.name, case)
    try:
        return _patches.original(StepFunctionsParserBackend, "start_execution")(self, arn, *args, **kwargs)
    finally:
        _pending.case = None


def _worker_with_test_case(self: Any) -> Any:
    worker: ExecutionWorker = _patches.original(Execution, "_get_start_execution_worker")(self)
    case = getattr(_pending, "case", None)
    if case is not None:
        worker._mock_test_case = case
    return worker


_patches = PatchSet(
    [
        (StepFunctionsParserBackend, "start_execution", _start_with_test_case),
        (Execution, "_get_start_execution_worker", _worker_with_test_case),
    ]
)


def install() -> None:
    """Teach moto's backend the ``<arn>#<TestCase>`` form of StartExecution, as Step Functions Local has it."""
    _patches.install()


def uninstall() -> None:
    _patches.uninstall()
