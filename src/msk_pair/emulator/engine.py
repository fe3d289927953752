"""The embedded emulator: the project's real ASL and handlers, on moto, in one process.

AWS service: AWS Step Functions (moto's execution engine runs the real ASL) and AWS Lambda (each
  Invoke runs the template's handler in-process, the layer on the path as Lambda puts it).
Sources: Lambda Developer Guide, "Working with layers for Python Lambda functions" (/opt/python on
  the path) and "AWS Lambda function errors in Python" (errorMessage, errorType, stackTrace); Step
  Functions Developer Guide, "Handling errors in Step Functions workflows" (a function error's
  errorType is the state's error).

- ``template.yaml`` is read; the state machine's ``DefinitionUri`` ASL gets its
  ``DefinitionSubstitutions`` filled in (every ``!GetAtt Fn.Arn`` becomes an
  emulated Lambda ARN) and is created in moto's Step Functions, whose execution
  engine (ported from LocalStack) runs it.
- moto's Lambda ``Invoke`` is replaced: a function of the template is run
  in-process by importing its ``CodeUri``/``Handler``, with the layer on
  ``sys.path`` as Lambda puts it on ``/opt/python``. An exception becomes a
  Lambda function error (``errorType``/``errorMessage``), as on AWS.
- Every AWS call of a handler is served by moto, made stricter by our
  extension modules (strict_ec2, ...), with durations from a latency profile.
- Time is emulated (clock.py): Wait states, Retry backoffs and boto3's retry
  sleeps advance emulated time instead of sleeping.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

from msk_pair.emulator import clock as clock_mod
from msk_pair.emulator import faults as faults_mod
from msk_pair.emulator import profile as profile_mod
from msk_pair.emulator.cfn import load_template, managed_policies, resolve, resource_refs
from msk_pair.emulator.faults import FaultPlan
from msk_pair.layer import project_root

ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
STATE_MACHINE_NAME = "msk-pair"


@dataclass
class FunctionSpec:
    logical_id: str
    code_uri: Path
    handler: str
    environment: dict[str, str]
    timeout: float = 3.0


def template_functions(template: dict[str, Any], root: Path) -> dict[str, FunctionSpec]:
    """The template's functions. Environment values that reference a parameter (``!Ref LogLevel``) are left
    to the emulator's own settings; those that reference a resource it makes (a managed policy) are resolved."""
    globals_ = template.get("Globals", {}).get("Function", {})
    env = globals_.get("Environment", {}).get("Variables", {})
    refs = resource_refs(template)
    specs = {}
    for logical_id, res in template["Resources"].items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        props = res["Properties"]
        variables = {**env, **props.get("Environment", {}).get("Variables", {})}
        resolved = {
            k: resolve(v, refs=refs) if isinstance(v, dict) and v.get("Ref") in refs else v
            for k, v in variables.items()
        }
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            code_uri=root / props["CodeUri"],
            handler=props["Handler"],
            environment={k: v for k, v in resolved.items() if isinstance(v, str)},
            timeout=float(props.get("Timeout", globals_.get("Timeout", 3))),
        )
    return specs


def function_arn(logical_id: str, region: str = DEFAULT_REGION) -> str:
    return f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{logical_id}"


def render_definition(template: dict[str, Any], root: Path, region: str = DEFAULT_REGION) -> str:
    """The state machine's ASL with ``DefinitionSubstitutions`` filled in, as CloudFormation would."""
    sm = template["Resources"]["ProvisionStateMachine"]["Properties"]
    text = (root / sm["DefinitionUri"]).read_text()
    for key, value in sm.get("DefinitionSubstitutions", {}).items():
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            target, attr = value["Fn::GetAtt"]
            if attr != "Arn":
                raise ValueError(f"unsupported substitution {key}: {value}")
            value = function_arn(target, region)
        text = text.replace("${" + key + "}", str(value))
    return text


# -- Lambda in-process ----------------------------------------------------------------
class BranchStopped(RuntimeError):
    """A Task of a Parallel branch that Step Functions has stopped tried to invoke its Lambda."""


@dataclass
class InFlight:
    """A Lambda invocation that has not ended yet."""

    ends: float  # the emulated time by which Lambda ends it at the latest (start + the function's Timeout)
    branch: Any = None  # the ASL environment of the Task that invoked it (None: invoked from outside the ASL)

    def orphaned(self) -> bool:
        """Invoked by a branch that has since been stopped (its Parallel failed, or the execution was stopped)."""
        return self.branch is not None and not self.branch.is_running()


class LambdaRuntime:
    """Runs the template's functions in-process when moto's Lambda is invoked."""

    def __init__(self, specs: dict[str, FunctionSpec], layer_path: Path, faults: FaultPlan) -> None:
        self.specs = specs
        self.faults = faults
        self.layer_path = layer_path
        self._modules: dict[Path, ModuleType] = {}
        self._lock = threading.Lock()
        self.invocations: list[dict[str, Any]] = []
        self._in_flight: dict[str, InFlight] = {}
        self._settled = threading.Condition()

    def _module(self, code_uri: Path) -> ModuleType:
        with self._lock:
            mod = self._modules.get(code_uri)
            if mod is None:
                if str(self.layer_path) not in sys.path:
                    sys.path.insert(0, str(self.layer_path))
                name = f"msk_pair_fn_{code_uri.name}"
                spec = importlib.util.spec_from_file_location(name, code_uri / "app.py")
                assert spec and spec.loader
                mod = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(mod)
                self._modules[code_uri] = mod
            return mod

    def handles(self, function_name: str) -> str | None:
        logical_id = function_name.rsplit(":", 1)[-1] if function_name.startswith("arn:") else function_name
        return logical_id if logical_id in self.specs else None

    def invoke(self, logical_id: str, payload: Any) -> tuple[Any, bool]:
        """Run the handler; returns (response payload, errored)."""
        spec = self.specs[logical_id]
        _module_name, fn_name = spec.handler.rsplit(".", 1)
        fn: Callable[[Any, Any], Any] = getattr(self._module(spec.code_uri), fn_name)
        request_id = str(uuid.uuid4())
        context = SimpleNamespace(
            function_name=logical_id,
            function_version="$LATEST",
            invoked_function_arn=function_arn(logical_id),
            memory_limit_in_mb=256,
            aws_request_id=request_id,
            log_group_name=f"/aws/lambda/{logical_id}",
            log_stream_name=request_id,
            get_remaining_time_in_millis=lambda: 120_000,
        )
        record = {"function": logical_id, "event": payload, "started": clock_mod.now(), "errored": False}
        self.invocations.append(record)
        started = time.perf_counter()
        with self._settled:
            self._in_flight[request_id] = InFlight(ends=clock_mod.now() + spec.timeout)
        try:
            with faults_mod.running(logical_id, payload):
                self.faults.before(logical_id, payload)
                result = fn(payload, context)
                self.faults.after(logical_id, payload)
            record["real_seconds"] = time.perf_counter() - started
            return json.loads(json.dumps(result, default=str)), False
        except Exception as exc:
            record["real_seconds"] = time.perf_counter() - started
            record["errored"] = True
            record["error"] = type(exc).__name__
            return {
                "errorMessage": str(exc),
                "errorType": type(exc).__name__,
                "requestId": request_id,
                "stackTrace": traceback.format_tb(exc.__traceback__),
            }, True
        finally:
            with self._settled:
                self._in_flight.pop(request_id, None)
                self._settled.notify_all()

    def settle(self, until: float, real_timeout: float = 30.0) -> None:
        """Block until every invocation that Lambda would have ended by emulated time ``until`` has ended.

        On AWS a Lambda keeps running when its state machine moves on (a Parallel
        branch failed, the execution was stopped); it ends at the latest at its
        timeout. A Wait of N seconds therefore outlasts every invocation that started
        more than its timeout before the Wait ends: the emulator must not let the
        state after the Wait overtake them in real time.

        An invocation of a stopped branch (:meth:`InFlight.orphaned`) began, on AWS, before
        the branch was stopped, so before any Wait that follows the failure: it is waited for
        whatever its own thread's emulated time says (each branch keeps its own clock, and a
        sibling can be ahead of the state that failed). The rollback's Wait being at least every
        function's Timeout is what makes this true on AWS (tests/unit/test_in_flight_wait.py).
        """
        deadline = time.monotonic() + real_timeout
        with self._settled:
            while any(f.ends <= until or f.orphaned() for f in self._in_flight.values()):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("in-flight Lambda invocations did not finish")
                self._settled.wait(left)

    @contextmanager
    def task_invocation(self, branch: Any, function_name: str) -> Iterator[None]:
        """A Task state's Lambda invocation, from the moment the Task decides to invoke until it has the answer.

        Step Functions schedules no Task in a branch it has stopped ("When a branch fails, the Parallel
        state fails and all other branches are stopped", Step Functions developer guide, Parallel
        workflow state; "the Parallel state ... stops all branches"). moto's engine checks that a
        branch runs only between states, so a sibling that passed that check while another branch
        failed could still invoke its Lambda after the rollback had looked for what it makes (the
        peering left behind in issue 16.3). The check and the registration here, and the stop
        (:meth:`stop_branch`), hold the same lock: a Task either registered before its branch was
        stopped (then the rollback's Wait waits for it) or it does not invoke at all.
        """
        logical_id = self.handles(function_name)
        timeout = self.specs[logical_id].timeout if logical_id else 3.0
        key = str(uuid.uuid4())
        with self._settled:
            if not branch.is_running():
                raise BranchStopped(f"{logical_id or function_name}: its branch was stopped before the Task invoked it")
            self._in_flight[key] = InFlight(ends=clock_mod.now() + timeout, branch=branch)
        try:
            yield
        finally:
            with self._settled:
                self._in_flight.pop(key, None)
                self._settled.notify_all()

    def stop_branch(self, stop: Callable[[], None]) -> None:
        """Stop a Parallel branch (moto's ``BranchWorker.stop``) atomically with respect to :meth:`task_invocation`."""
        with self._settled:
            stop()
            self._settled.notify_all()


# -- the emulator ---------------------------------------------------------------------
@dataclass
class ExecutionResult:
    arn: str
    status: str
    output: Any = None
    error: str | None = None
    cause: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    emulated_seconds: float = 0.0

    def history_text(self) -> str:
        return json.dumps(self.events, default=str)


class Emulator:
    """moto + the project's state machine + its handlers, in this process.

    Use as a context manager; inside it, boto3 talks to moto.
    """

    def __init__(
        self,
        root: Path | None = None,
        profile: profile_mod.LatencyProfile | None = None,
        pace: float = 0.0,
        region: str = DEFAULT_REGION,
        log_level: str = "WARNING",
        metrics: bool = False,
    ) -> None:
        self.root = root or project_root()
        self.profile = profile or profile_mod.FAST
        self.region = region
        self.clock = clock_mod.VirtualClock(pace=pace)
        self.faults = FaultPlan()
        self.template = load_template(self.root)
        self.functions = template_functions(self.template, self.root)
        self.runtime = LambdaRuntime(self.functions, self.root / "layers/common/python", self.faults)
        self.log_level = log_level
        # metrics=True lets the handlers' Powertools Metrics print their EMF JSON on stdout, as on
        # Lambda (tests capture it); by default they stay quiet so the CLI's output is not mixed with it.
        self.metrics = metrics
        self._mock: Any = None
        self._undo: list[Callable[[], None]] = []
        self.state_machine_arn: str | None = None

    # lifecycle
    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _setenv(self, values: dict[str, str]) -> None:
        old = {k: os.environ.get(k) for k in values}
        os.environ.update(values)

        def restore() -> None:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

        self._undo.append(restore)

    def _patch(self, owner: Any, name: str, value: Any) -> None:
        old = getattr(owner, name)
        setattr(owner, name, value)
        self._undo.append(lambda: setattr(owner, name, old))

    def start(self) -> None:
        from moto import mock_aws

        self._setenv(
            {
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "AWS_DEFAULT_REGION": self.region,
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_DISABLED": "false" if self.metrics else "true",
                "POWERTOOLS_LOG_LEVEL": self.log_level,
                "POWERTOOLS_SERVICE_NAME": "msk-pair",
                "POWERTOOLS_METRICS_NAMESPACE": "MskPair",
                "MOTO_ALLOW_NONEXISTENT_REGION": "false",
            }
        )
        for layer in (self.root / "layers/common/python",):
            if str(layer) not in sys.path:
                sys.path.insert(0, str(layer))
        logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
        # Powertools reads POWERTOOLS_LOG_LEVEL only when the handlers' Logger is made (the layer's
        # module is imported once per process): an emulator started later in the same process must
        # set the level of the already-made logger itself, or its log_level would be ignored.
        service_logger = logging.getLogger("msk-pair")
        previous_level = service_logger.level
        service_logger.setLevel(self.log_level.upper())
        self._undo.append(lambda: service_logger.setLevel(previous_level))
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self._mock.start()
        self._undo.append(self._mock.stop)

        clock_mod.set_current(self.clock)
        self._undo.append(lambda: clock_mod.set_current(None))
        profile_mod.set_active(self.profile)
        self._undo.append(lambda: profile_mod.set_active(profile_mod.LatencyProfile()))
        self.clock.install()
        self._undo.append(self.clock.uninstall)
        self._patch_time()
        self._patch_lambda()
        self._patch_aws_faults()
        self._install_extensions()

        from mskpair_core import aws

        aws.reset_clients()
        self._undo.append(aws.reset_clients)
        self._create_managed_policies()
        self._set_function_environment()
        self._create_state_machine()

    def stop(self) -> None:
        while self._undo:
            undo = self._undo.pop()
            with contextlib.suppress(Exception):  # best effort: restore everything we can
                undo()

    # patches
    def _patch_time(self) -> None:
        """Waits, retry backoffs and boto3's retry sleeps advance emulated time, never real time."""
        import botocore.endpoint
        from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
        from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function

        clock = self.clock

        class _Time:
            """Stands in for the ``time`` module where the engine and botocore sleep."""

            def __getattr__(self, name: str) -> Any:
                return getattr(time, name)

            @staticmethod
            def sleep(seconds: float) -> None:
                clock.advance(seconds)

        runtime = self.runtime

        def wait_interval(_self: Any, env: Any, wait_seconds: int) -> None:
            clock.advance(wait_seconds)
            runtime.settle(until=clock.now())

        self._patch(wait_function.WaitFunction, "_wait_interval", wait_interval)

        # A Parallel state ends when its last branch ends *in real time*; only that branch
        # sets the pool's Event. Its emulated end is the latest of all branches' ends.
        from moto.stepfunctions.parser.asl.component.state.exec.state_parallel.branches_decl import (
            BranchWorkerPool,
        )

        pool_terminated, pool_wait = BranchWorkerPool.on_terminated, BranchWorkerPool.wait

        def on_terminated(pool: Any, env: Any) -> None:
            pool._vclock_end = max(getattr(pool, "_vclock_end", 0.0), clock.now())
            pool_terminated(pool, env)

        def wait(pool: Any) -> None:
            pool_wait(pool)
            clock.merge(getattr(pool, "_vclock_end", None))

        self._patch(BranchWorkerPool, "on_terminated", on_terminated)
        self._patch(BranchWorkerPool, "wait", wait)
        self._patch(retrier_decl, "time", _Time())
        self._patch(botocore.endpoint, "time", _Time())

    def _patch_lambda(self) -> None:
        from moto.awslambda.models import LambdaBackend

        runtime = self.runtime
        original = LambdaBackend.invoke

        def invoke(backend: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any):
            logical_id = runtime.handles(function_name)
            if logical_id is None:
                return original(backend, function_name, qualifier, body, headers, response_headers)
            payload = json.loads(body) if body else {}
            result, errored = runtime.invoke(logical_id, payload)
            if errored:
                response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(result).encode()

        self._patch(LambdaBackend, "invoke", invoke)

        # A Task's Lambda invocation and a Parallel's stop of its branches exclude each other
        # (LambdaRuntime.task_invocation): both of moto's Lambda task kinds call this function.
        from moto.stepfunctions.parser.asl.component.state.exec.state_parallel.branch_worker import BranchWorker
        from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

        integration = lambda_eval_utils.execute_lambda_function_integration
        branch_stop = BranchWorker.stop

        def execute_lambda_function_integration(env: Any, parameters: dict, region: str, state_credentials: Any):
            with runtime.task_invocation(env, str(parameters.get("FunctionName", ""))):
                return integration(env=env, parameters=parameters, region=region, state_credentials=state_credentials)

        def stop(worker: Any, stop_date: Any, cause: Any, error: Any) -> None:
            runtime.stop_branch(lambda: branch_stop(worker, stop_date=stop_date, cause=cause, error=error))

        self._patch(lambda_eval_utils, "execute_lambda_function_integration", execute_lambda_function_integration)
        self._patch(BranchWorker, "stop", stop)

    def _patch_aws_faults(self) -> None:
        """Faults injected at the AWS call (``FaultPlan.add_aws``) answer before moto sees the request."""
        from moto.core.botocore_stubber import BotocoreStubber

        faults, original = self.faults, BotocoreStubber.__call__

        def call(stubber: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
            if stubber.enabled:
                injected = faults.aws_response(event_name, request.url)
                if injected is not None:
                    return injected
            return original(stubber, event_name, request, **kwargs)

        self._patch(BotocoreStubber, "__call__", call)

    def _install_extensions(self) -> None:
        from msk_pair.emulator import extensions, history_limit

        for ext in [*extensions.ALL, history_limit]:
            ext.install()
            self._undo.append(ext.uninstall)

    def _create_managed_policies(self) -> None:
        """The template's AWS::IAM::ManagedPolicy resources, made in moto (a permissions boundary, say)."""
        import boto3

        iam = boto3.client("iam", region_name=self.region)
        for arn, document in managed_policies(self.template, self.region).values():
            iam.create_policy(PolicyName=arn.rsplit("/", 1)[1], PolicyDocument=json.dumps(document))

    def _set_function_environment(self) -> None:
        """The functions' own environment variables (beyond Powertools'), in this process.

        On Lambda each function has its own environment; here every handler runs in this process, so
        the variables are the union of the functions' (a name with two different values is refused).
        """
        shared = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"}
        values: dict[str, str] = {}
        for spec in self.functions.values():
            for name, value in spec.environment.items():
                if name in shared:
                    continue
                if values.setdefault(name, value) != value:
                    raise ValueError(f"environment variable {name} has two values across functions")
        self._setenv(values)

    def _create_state_machine(self) -> None:
        import boto3

        iam = boto3.client("iam", region_name=self.region)
        role = iam.create_role(
            RoleName="msk-pair-states",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "states.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]
        sfn = boto3.client("stepfunctions", region_name=self.region)
        self.state_machine_arn = sfn.create_state_machine(
            name=STATE_MACHINE_NAME,
            definition=render_definition(self.template, self.root, self.region),
            roleArn=role["Arn"],
            type="STANDARD",
        )["stateMachineArn"]

    # executions
    def start_execution(
        self, request: dict[str, Any] | str, name: str | None = None, test_case: str | None = None
    ) -> str:
        import boto3

        sfn = boto3.client("stepfunctions", region_name=self.region)
        arn = self.state_machine_arn
        if test_case:
            arn = f"{arn}#{test_case}"
        body = request if isinstance(request, str) else json.dumps(request)
        return sfn.start_execution(stateMachineArn=arn, name=name or f"run-{uuid.uuid4().hex[:12]}", input=body)[
            "executionArn"
        ]

    def events(self, execution_arn: str) -> Iterator[dict[str, Any]]:
        """The execution's history, as GetExecutionHistory returns it.

        Read from moto's Step Functions backend directly: the events are the same list the API serializes,
        without moto's response serializer, which took a quarter of a run's real time for ~400 events.
        """
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        region = execution_arn.split(":")[3]
        backend = stepfunctions_parser_backends[ACCOUNT_ID][region]
        for event in copy.deepcopy(backend.get_execution_history(execution_arn)["events"]):
            stamp = event.get("timestamp")
            if isinstance(stamp, str):  # the backend keeps ISO text; boto3 gives a datetime (botocore's parser)
                event["timestamp"] = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            yield event

    def wait(
        self,
        execution_arn: str,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        timeout: float = 300.0,
    ) -> ExecutionResult:
        """Follow an execution to its end (real-time ``timeout``), calling ``on_event`` for each new history event."""
        import boto3

        sfn = boto3.client("stepfunctions", region_name=self.region)
        seen = 0
        deadline = time.monotonic() + timeout
        pause = 0.002
        while True:
            desc = sfn.describe_execution(executionArn=execution_arn)
            done = desc["status"] != "RUNNING"
            if on_event or done:
                events = list(self.events(execution_arn))
                for event in events[seen:] if on_event else ():
                    on_event(event)
                seen = len(events)
            if done:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution {execution_arn} still running after {timeout}s of real time")
            # The observer polls in real time while the execution runs as fast as it can;
            # back off so the poll does not take the interpreter away from the workflow.
            _real_sleep(pause)
            pause = min(pause * 2, 0.05)
        self.clock.catch_up()
        output = desc.get("output")
        return ExecutionResult(
            arn=execution_arn,
            status=desc["status"],
            output=json.loads(output) if output else None,
            error=desc.get("error"),
            cause=desc.get("cause"),
            events=events,
            emulated_seconds=self.clock.now() - self.clock.start,
        )

    def run(
        self,
        request: dict[str, Any] | str,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        name: str | None = None,
        test_case: str | None = None,
    ) -> ExecutionResult:
        start = self.clock.now()
        result = self.wait(self.start_execution(request, name=name, test_case=test_case), on_event=on_event)
        result.emulated_seconds = self.clock.now() - start
        return result


_real_sleep = time.sleep


@contextmanager
def emulator(**kwargs: Any) -> Iterator[Emulator]:
    with Emulator(**kwargs) as emu:
        yield emu
