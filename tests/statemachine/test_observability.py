"""Issue 7, item 4: every handler logs through Powertools with the correlation id and never the password.

End to end on the emulator (the real ASL and handlers, sample input), once to success and once
failing (a cluster ends FAILED, so the cluster-status handler raises) and rolling back. What the
handlers print is captured where Powertools writes it: the Logger's own stream handler (its stream
swapped for a buffer), stdout/stderr (Powertools Metrics prints EMF JSON there), and every stdlib
log record at DEBUG (botocore logs whole request and response bodies at that level).
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from msk_pair.emulator import msk as msk_emulator
from msk_pair.emulator import ssm as ssm_emulator
from msk_pair.emulator.engine import Emulator, ExecutionResult
from msk_pair.emulator.profile import FAST
from tests.conftest import ROOT, leftovers


@pytest.fixture
def emu():
    with Emulator(root=ROOT, profile=FAST, log_level="INFO", metrics=True) as emulator:
        yield emulator


class _Subsegment:
    def __init__(self, name: str) -> None:
        self.name = name
        self.annotations: dict[str, Any] = {}
        self.metadata: dict[str, Any] = {}

    def put_annotation(self, key: str, value: Any) -> None:
        self.annotations[key] = value

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self.metadata[key] = value


class _XRay:
    """Stands in for the Tracer's X-Ray provider: records the subsegments the handlers open."""

    def __init__(self) -> None:
        self.subsegments: list[_Subsegment] = []

    @contextmanager
    def in_subsegment(self, name: str, **_kwargs: Any):
        sub = _Subsegment(name)
        self.subsegments.append(sub)
        yield sub


@dataclass
class Observed:
    name: str
    result: ExecutionResult
    logs: list[dict[str, Any]]  # the Powertools Logger's JSON lines
    emf: list[dict[str, Any]]  # the EMF objects printed on stdout
    everything: str  # all text captured: Logger stream, stdout, stderr, stdlib records at DEBUG
    passwords: list[str]
    xray: _XRay
    invocations: list[dict[str, Any]] = field(default_factory=list)

    def by_function(self) -> dict[str, list[dict[str, Any]]]:
        grouped = defaultdict(list)
        for line in self.logs:
            grouped[line["function_name"]].append(line)
        return grouped

    def step_of(self) -> dict[str, str]:
        steps = {fn: {line["step"] for line in lines} for fn, lines in self.by_function().items()}
        assert all(len(s) == 1 for s in steps.values()), steps  # one step name per function
        return {fn: s.pop() for fn, s in steps.items()}


def _observe(emu: Emulator, request: dict[str, Any], capsys, monkeypatch) -> Observed:
    from moto.secretsmanager.models import SecretsManagerBackend

    from mskpair_core import observability

    # every password Secrets Manager generates (a rolled-back run deletes its secrets)
    passwords: list[str] = []
    generate = SecretsManagerBackend.get_random_password

    def recording(backend: Any, *args: Any, **kwargs: Any) -> str:
        answer = generate(backend, *args, **kwargs)
        passwords.append(json.loads(answer)["RandomPassword"])
        return answer

    monkeypatch.setattr(SecretsManagerBackend, "get_random_password", recording)
    xray = _XRay()
    monkeypatch.setattr(observability.tracer, "provider", xray)

    powertools_stream, debug_stream = io.StringIO(), io.StringIO()
    handler = observability.logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    debug = logging.StreamHandler(debug_stream)
    debug.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root_level = root.level
    previous_stream = handler.setStream(powertools_stream)
    root.addHandler(debug)
    root.setLevel(logging.DEBUG)
    capsys.readouterr()
    name = f"obs-{uuid.uuid4().hex[:12]}"
    try:
        result = emu.run(request, name=name)
    finally:
        root.setLevel(root_level)
        root.removeHandler(debug)
        handler.setStream(previous_stream)
    captured = capsys.readouterr()

    logs = [json.loads(line) for line in powertools_stream.getvalue().splitlines() if line.strip()]
    emf = []
    for line in captured.out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            emf.append(json.loads(line))
    everything = "\n".join([powertools_stream.getvalue(), captured.out, captured.err, debug_stream.getvalue()])
    assert "botocore" in debug_stream.getvalue(), "the AWS SDK's DEBUG records were not captured"
    return Observed(name, result, logs, emf, everything, passwords, xray, list(emu.runtime.invocations))


def _assert_logged_through_powertools(obs: Observed) -> None:
    assert obs.invocations and obs.logs
    invoked = Counter(inv["function"] for inv in obs.invocations)
    for line in obs.logs:
        assert line["service"] == "msk-pair", line
        assert line["correlation_id"] == obs.name, line
        assert line["level"] in ("INFO", "WARNING", "ERROR"), line
        assert isinstance(line["step"], str) and line["step"], line
    grouped = obs.by_function()
    # every function that ran logged, under its own logical id, once per invocation at least
    assert set(grouped) == set(invoked), set(invoked) ^ set(grouped)
    for function, lines in grouped.items():
        assert len({line["function_request_id"] for line in lines}) == invoked[function], function
        roles = {inv["event"].get("role") for inv in obs.invocations if inv["function"] == function}
        assert {line.get("role") for line in lines} == roles, function
    # the keys of one invocation are its own, though invocations ran at once in threads
    per_request = defaultdict(set)
    for line in obs.logs:
        per_request[line["function_request_id"]].add((line["function_name"], line["step"], line.get("role")))
    assert all(len(keys) == 1 for keys in per_request.values()), per_request


def _values(value: Any) -> list[float]:
    return value if isinstance(value, list) else [value]


def _assert_metrics(obs: Observed) -> None:
    step_of = obs.step_of()
    durations: Counter[str] = Counter()
    failures: Counter[tuple[str, str]] = Counter()
    for blob in obs.emf:
        directive = blob["_aws"]["CloudWatchMetrics"]
        assert len(directive) == 1 and directive[0]["Namespace"] == "MskPair", blob
        names = [m["Name"] for m in directive[0]["Metrics"]]
        assert names in (["StepDuration"], ["StepFailed"]), names  # no cold-start or other noise
        assert blob["service"] == "msk-pair"
        if names == ["StepDuration"]:
            assert [sorted(d) for d in directive[0]["Dimensions"]] == [["service", "step"]], blob
            assert directive[0]["Metrics"][0]["Unit"] == "Milliseconds"
            assert _values(blob["StepDuration"]) and min(_values(blob["StepDuration"])) >= 0
            durations[blob["step"]] += 1
        else:
            # the error name is a dimension (metrics can be filtered by it), not metadata
            assert [sorted(d) for d in directive[0]["Dimensions"]] == [["error", "service", "step"]], blob
            assert directive[0]["Metrics"][0]["Unit"] == "Count" and _values(blob["StepFailed"]) == [1]
            failures[(blob["step"], blob["error"])] += 1
    # one StepDuration per handler invocation; one StepFailed per failed one, with its error
    assert durations == Counter(step_of[inv["function"]] for inv in obs.invocations)
    assert failures == Counter((step_of[inv["function"]], inv["error"]) for inv in obs.invocations if inv["errored"])


def _assert_traced(obs: Observed, emu: Emulator) -> None:
    expected = Counter(f"## {emu.functions[inv['function']].handler.rsplit('.', 1)[1]}" for inv in obs.invocations)
    assert Counter(sub.name for sub in obs.xray.subsegments) == expected
    assert all(sub.annotations.get("Service") == "msk-pair" for sub in obs.xray.subsegments)
    failed = sum(inv["errored"] for inv in obs.invocations)
    assert sum(1 for sub in obs.xray.subsegments if sub.metadata) == failed  # the exception, as metadata


def _assert_no_password(obs: Observed) -> None:
    assert len(obs.passwords) == 2 and all(len(p) >= 16 for p in obs.passwords), obs.passwords
    places = {
        "captured logs and output": obs.everything,
        "execution history": obs.result.history_text(),
        "execution output": json.dumps(obs.result.output),
        "execution error": f"{obs.result.error} {obs.result.cause}",
        "Lambda invocation payloads": json.dumps(obs.invocations, default=str),
        "SSM commands": json.dumps(ssm_emulator.sent_commands(), default=str),
    }
    for password in obs.passwords:
        for place, text in places.items():
            assert password not in text, f"a SCRAM password appears in the {place}"


def test_every_handler_is_traced_and_logged_by_the_task_decorator(emu):
    """Statically: every function of template.yaml is Tracer's handler wrapper around ``task``'s."""
    from mskpair_core import observability

    traced = observability.tracer.capture_lambda_handler(capture_response=False)(lambda event, context: None)
    tasked = observability.task("probe")(lambda event, context: None).__wrapped__
    for logical_id, spec in emu.functions.items():
        fn = getattr(emu.runtime._module(spec.code_uri), spec.handler.rsplit(".", 1)[1])
        assert fn.__code__ is traced.__code__, logical_id
        assert fn.__wrapped__.__code__ is tasked.__code__, logical_id


def test_a_successful_run_logs_meters_and_traces_every_step_without_the_password(emu, sample, capsys, monkeypatch):
    obs = _observe(emu, sample, capsys, monkeypatch)
    assert obs.result.status == "SUCCEEDED", obs.result.cause
    _assert_logged_through_powertools(obs)
    _assert_metrics(obs)
    _assert_traced(obs, emu)
    _assert_no_password(obs)
    # the passwords recorded are the ones MSK reads
    stored = [
        json.loads(
            boto3.client("secretsmanager", region_name=sample[role]["region"]).get_secret_value(
                SecretId=obs.result.output[role]["scramSecretArn"]
            )["SecretString"]
        )["password"]
        for role in ("primary", "secondary")
    ]
    assert sorted(stored) == sorted(obs.passwords)
    assert all(line["level"] == "INFO" for line in obs.logs if line["message"] == "step done")


def test_a_failing_run_logs_and_meters_the_failure_and_rolls_back_without_the_password(
    emu, sample, capsys, monkeypatch
):
    msk_emulator.fail_next_cluster(region="us-west-2", message="insufficient capacity")
    obs = _observe(emu, sample, capsys, monkeypatch)
    assert obs.result.status == "FAILED" and obs.result.error == "ResourceFailed", obs.result.cause
    assert leftovers() == {}
    _assert_logged_through_powertools(obs)
    _assert_metrics(obs)
    _assert_traced(obs, emu)
    _assert_no_password(obs)
    failed = [line for line in obs.logs if line["message"] == "step failed"]
    assert {(line["function_name"], line["error"], line["level"]) for line in failed} >= {
        ("ClusterStatusFunction", "ResourceFailed", "WARNING")
    }
    assert any(blob.get("error") == "ResourceFailed" for blob in obs.emf)
    # the rollback's handlers ran and logged under the same correlation id
    assert {"NetworkDeleteFunction", "ScramDeleteFunction", "ClusterDeleteFunction"} <= set(obs.by_function())
