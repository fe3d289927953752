"""msk-pair's command line: one tool for a real AWS account and for the local emulator.

    msk-pair start events/region-pair.json           # validate locally, start a provisioning, follow it live
    msk-pair follow EXECUTION_ARN                      # live progress of an execution (started anywhere)
    msk-pair status EXECUTION_ARN                      # where it is now, or how it ended
    msk-pair outputs EXECUTION_ARN [--mm2 FILE]        # bootstrap strings, SSM shell, mm2.properties
    msk-pair outputs --deployment orders-dr            # ... of the latest successful provisioning of a deployment
    msk-pair teardown --deployment orders-dr           # delete a deployment (regions from its last execution)

Real AWS: the usual boto3 settings (AWS_PROFILE or --aws-profile, AWS_REGION or --region);
the state machine comes from the CloudFormation stack output ProvisionStateMachineArn
(--stack-name, default msk-pair) or --state-machine-arn.

Local: add --local to any command to use the emulator server that
`msk-pair emulator serve` runs (default http://127.0.0.1:5055).

    msk-pair emulator serve [--port 5055] [--pace X]   # the emulator as a local server, for --local
    msk-pair run --local events/region-pair.json       # one-shot: the whole workflow in this process
    msk-pair validate events/region-pair.json          # check an input file against the contract, offline

Exit status: 0 success, 1 the execution failed, 2 a usage error (bad input file, no
credentials, no stack, unknown execution), 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import os
import re
import shutil
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_STACK = "msk-pair"
STACK_OUTPUT = "ProvisionStateMachineArn"
DEFAULT_ENDPOINT = "http://127.0.0.1:5055"
LOCAL_REGION = "us-east-1"
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}
ROLLBACK_WAIT = "Let in-flight tasks end"
RETAIN_CHOICE = "Roll back?"
CREDENTIAL_ERRORS = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "AuthFailure",
        "RequestExpired",
        "IncompleteSignature",
        "MissingAuthenticationToken",
    }
)


class CliError(Exception):
    """A problem the user can fix: printed as one line, exit status 2."""

    def __init__(self, message: str, status: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.status = status


# -- formatting ------------------------------------------------------------------------------------
def _fmt_elapsed(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h:d}:{m:02d}:{s:02d}"


def _fmt_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    m, s = divmod(seconds, 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def state_name(details: dict[str, Any]) -> str:
    """A state's name for display (moto's engine keeps the ASL's ``\\uXXXX`` escapes: undo them)."""
    return _UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), details.get("name", "?"))


def describe_cause(cause: str | None) -> str:
    """A Lambda error's cause is a JSON document; show its message, not its stack trace."""
    if not cause:
        return ""
    try:
        doc = json.loads(cause)
    except ValueError:
        return cause
    if isinstance(doc, dict) and "errorMessage" in doc:
        return f"{doc.get('errorType', 'Error')}: {doc['errorMessage']}"
    return cause


def _details(event: dict[str, Any]) -> dict[str, Any]:
    return next((v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, dict)), {})


# -- live progress ---------------------------------------------------------------------------------
FAILURE_EVENTS = frozenset(
    {
        "LambdaFunctionFailed",
        "LambdaFunctionTimedOut",
        "LambdaFunctionStartFailed",
        "LambdaFunctionScheduleFailed",
        "TaskFailed",
        "TaskTimedOut",
        "TaskStartFailed",
        "TaskSubmitFailed",
    }
)
SCHEDULED_EVENTS = frozenset({"LambdaFunctionScheduled", "TaskScheduled"})


class ProgressPrinter:
    """Turns Step Functions history events into one line per step: running, done, retried, failed, rolling back.

    Wait-until-ready loops (``X: start`` → ``X`` → ``X: ready?`` → ``X: wait`` → ``X: count`` → ``X`` ...)
    re-enter ``X`` once per poll; they show as one ``▶ X`` line, then one status line that
    updates in place on a terminal (``⋯ X (poll 12)``; when the output is not a terminal, a line
    every ``poll_every`` polls at most), then one ``✓ X (4m00s, 5 polls)`` line.

    A task failure is held back until it is known whether the state machine retries it
    (``↻ X: retry 1 after <cause>``) or not (``✗ X: <cause>``).
    """

    def __init__(
        self,
        out: TextIO,
        elapsed: Callable[[dict[str, Any]], float] | None = None,
        tty: bool | None = None,
        poll_every: int = 10,
    ) -> None:
        self.out = out
        self.elapsed = elapsed or (lambda event: 0.0)
        if tty is None:
            isatty = getattr(out, "isatty", None)
            tty = bool(isatty and isatty())
        self.tty = tty
        self.poll_every = max(1, poll_every)
        self.by_id: dict[int, dict[str, Any]] = {}
        self.attempts: dict[int, int] = {}
        self.open: dict[int, tuple[str, str]] = {}  # entered event id -> (kind, name)
        self.started: dict[int, float] = {}
        self.loops: dict[str, dict[str, Any]] = {}
        self.pending: dict[int, str] = {}  # failure not known yet to be retried or final
        self.aborted: set[int] = set()
        self.failed_parallels: set[int] = set()
        self.failed_seen = False
        self.rolling_back = False
        self.teardown_announced = False
        self.status_shown = False
        self.transitions = 0
        self.now = 0.0
        self.result: str | None = None

    # output
    def _status_text(self) -> str:
        active = [
            f"{name} (poll {info['polls']})" for name, info in self.loops.items() if info["active"] and info["polls"]
        ]
        if not active:
            return ""
        text = f"[{_fmt_elapsed(self.now)}] ⋯ " + " │ ".join(active)
        width = shutil.get_terminal_size((120, 24)).columns - 1
        return text if len(text) <= width else text[: max(0, width - 1)] + "…"

    def _redraw(self) -> None:
        if not self.tty:
            return
        text = self._status_text()
        if text or self.status_shown:
            self.out.write("\r\033[K" + text)
            self.out.flush()
        self.status_shown = bool(text)

    def line(self, mark: str, text: str) -> None:
        if self.tty and self.status_shown:
            self.out.write("\r\033[K")
            self.status_shown = False
        print(f"[{_fmt_elapsed(self.now)}] {mark} {text}", file=self.out, flush=True)
        self._redraw()

    def finish(self) -> None:
        """Clear the status line (call once the execution has ended or following stops)."""
        if self.tty and self.status_shown:
            self.out.write("\r\033[K")
            self.out.flush()
            self.status_shown = False

    # bookkeeping
    def _state_of(self, event: dict[str, Any]) -> dict[str, Any] | None:
        current: dict[str, Any] | None = event
        for _ in range(10_000):
            if current is None:
                return None
            if current["type"].endswith("StateEntered"):
                return current
            current = self.by_id.get(current.get("previousEventId", 0))
        return None

    def _open_named(self, name: str) -> int | None:
        return next((i for i in sorted(self.open, reverse=True) if self.open[i][1] == name), None)

    def _dur(self, entered_id: int | None, polls: int = 0) -> str:
        parts = []
        if entered_id is not None and entered_id in self.started:
            took = self.now - self.started[entered_id]
            if took >= 1:
                parts.append(_fmt_duration(took))
        if polls:
            parts.append(f"{polls} poll{'s' if polls != 1 else ''}")
        return f" ({', '.join(parts)})" if parts else ""

    def _flush_pending(self) -> None:
        for entered_id in sorted(self.pending):
            text = self.pending.pop(entered_id)
            if entered_id in self.aborted:
                continue
            name = self.open.get(entered_id, ("", self._name_of(entered_id)))[1]
            self.line("✗", f"{name}: {text}")
            loop = self.loops.get(name)
            if loop:
                loop["active"] = False
            self.failed_seen = True

    def _name_of(self, entered_id: int) -> str:
        event = self.by_id.get(entered_id)
        return state_name(_details(event)) if event else "?"

    def _announce_teardown(self) -> None:
        if self.teardown_announced:
            return
        self.teardown_announced = True
        if self.failed_seen or self.rolling_back:
            self.rolling_back = True
            self.line("⟲", "rolling back: tearing down everything tagged with the deployment, both regions")
        else:
            self.line("▶", "teardown: deleting everything tagged with the deployment, both regions")

    # events
    def __call__(self, event: dict[str, Any]) -> None:
        self.by_id[event["id"]] = event
        self.now = max(self.now, self.elapsed(event))
        kind = event["type"]
        if kind.endswith("StateEntered"):
            self._entered(event, kind)
        elif kind.endswith("StateExited"):
            self._exited(event, kind)
        elif kind in SCHEDULED_EVENTS:
            self._scheduled(event)
        elif kind in FAILURE_EVENTS:
            state = self._state_of(event)
            if state and state["id"] not in self.aborted:
                details = _details(event)
                text = describe_cause(details.get("cause"))[:300] or details.get("error") or kind
                self.pending[state["id"]] = text
        elif kind == "ParallelStateFailed":
            self._parallel_failed()
        elif kind.startswith("Execution") and kind != "ExecutionStarted":
            self._execution_ended(event, kind)

    def _entered(self, event: dict[str, Any], kind: str) -> None:
        self.transitions += 1
        name = state_name(event.get("stateEnteredEventDetails", {}))
        prev = self.by_id.get(event.get("previousEventId", 0))
        if prev and prev["type"] == "ChoiceStateExited":
            choice = state_name(_details(prev))
            if choice.endswith(": ready?") and choice[: -len(": ready?")] in self.loops:
                self._loop_next(choice[: -len(": ready?")], name)
            elif choice == RETAIN_CHOICE and kind.startswith("Fail"):
                self.line("■", "onFailure is RETAIN: what was made is kept for debugging (no rollback)")
        if name.startswith("Teardown"):
            self._announce_teardown()
        if kind.startswith("Pass") and name.endswith(": start"):
            self.loops[name[: -len(": start")]] = {"polls": 0, "active": True, "entered": None}
            return
        if kind.startswith("Task"):
            self.open[event["id"]] = ("Task", name)
            loop = self.loops.get(name)
            if loop and loop["active"] and loop["polls"]:
                return  # a re-check of a wait-until-ready loop: no line of its own
            self.started[event["id"]] = self.now
            if loop:
                loop["entered"] = event["id"]
            self.line("▶", name)
        elif kind.startswith("Parallel"):
            self.open[event["id"]] = ("Parallel", name)
            self.started[event["id"]] = self.now
            self.line("▶", name)
        elif kind.startswith("Wait"):
            if name.endswith(": wait") and name[: -len(": wait")] in self.loops:
                return
            self.open[event["id"]] = ("Wait", name)
            self.started[event["id"]] = self.now
            if name == ROLLBACK_WAIT:
                self.rolling_back = True
                self.line("⟲", f"rolling back: {ROLLBACK_WAIT.lower()} first")
            else:
                self.line("▶", name)

    def _loop_next(self, loop: str, next_name: str) -> None:
        info = self.loops[loop]
        if next_name == f"{loop}: wait":
            info["polls"] += 1
            if self.tty:
                self._redraw()
            elif info["polls"] % self.poll_every == 0:
                self.line("⋯", f"{loop} (poll {info['polls']})")
            return
        info["active"] = False
        if next_name == f"{loop}: timed out":
            self.line("✗", f"{loop}: timed out{self._dur(info['entered'], info['polls'])}")
            self.failed_seen = True
        else:
            self.line("✓", f"{loop}{self._dur(info['entered'], info['polls'])}")

    def _exited(self, event: dict[str, Any], kind: str) -> None:
        name = state_name(event.get("stateExitedEventDetails", {}))
        entered_id = self._open_named(name)
        if entered_id is None:
            return
        self.open.pop(entered_id, None)
        if entered_id in self.pending:
            self._flush_pending()  # caught by the state's own Catch
        if kind.startswith("Parallel"):
            if entered_id not in self.failed_parallels:
                self.line("✓", f"{name}{self._dur(entered_id)}")
        elif kind.startswith("Task"):
            loop = self.loops.get(name)
            if loop and loop["active"]:
                return
            self.line("✓", f"{name}{self._dur(entered_id)}")

    def _scheduled(self, event: dict[str, Any]) -> None:
        state = self._state_of(event)
        if not state:
            return
        n = self.attempts.get(state["id"], 0) + 1
        self.attempts[state["id"]] = n
        if n > 1:
            reason = self.pending.pop(state["id"], None)
            name = state_name(state.get("stateEnteredEventDetails", {}))
            self.line("↻", f"{name}: retry {n - 1}" + (f" after {reason}" if reason else ""))

    def _parallel_failed(self) -> None:
        self._flush_pending()
        parallels = [i for i, (k, _) in self.open.items() if k == "Parallel"]
        if not parallels:
            return
        pid = max(parallels)
        self.failed_parallels.add(pid)
        self.failed_seen = True
        for entered_id in [i for i in self.open if i > pid]:
            self.aborted.add(entered_id)
            loop = self.loops.get(self.open[entered_id][1])
            if loop:
                loop["active"] = False
            self.open.pop(entered_id)
        self.open.pop(pid, None)
        self.line("✗", f"{self._name_of(pid)}: stopped, a step failed")

    def _execution_ended(self, event: dict[str, Any], kind: str) -> None:
        self._flush_pending()
        for info in self.loops.values():
            info["active"] = False
        self.result = kind
        details = _details(event)
        if kind == "ExecutionSucceeded":
            self.line("■", f"execution succeeded in {_fmt_duration(self.now)}")
        elif kind == "ExecutionFailed":
            cause = describe_cause(details.get("cause"))[:300]
            rolled = " (rolled back)" if self.rolling_back else ""
            error = details.get("error") or "?"
            why = cause if cause.startswith(f"{error}:") else f"{error}: {cause}" if cause else error
            self.line("■", f"execution failed{rolled}: {why}")
        elif kind == "ExecutionAborted":
            self.line("■", "execution stopped (aborted)")
        elif kind == "ExecutionTimedOut":
            self.line("■", "execution timed out")
        self.finish()

    def running(self) -> list[str]:
        """What is running now: open tasks and waits, polls included (for ``status``)."""
        found = []
        for _, (kind, name) in sorted(self.open.items()):
            if kind == "Parallel":
                continue
            loop = self.loops.get(name)
            found.append(f"{name} (poll {loop['polls']})" if loop and loop["polls"] else name)
        return found


# -- input files and validation --------------------------------------------------------------------
def _layer_on_path() -> None:
    from msk_pair.emulator.engine import project_root

    layer = str(project_root() / "layers" / "common" / "python")
    if layer not in sys.path:
        sys.path.insert(0, layer)


def _read_input(path: str) -> dict[str, Any]:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise CliError(f"cannot read input file {path}: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CliError(f"{path} is not valid JSON: {exc}") from None


def validate_locally(request: Any, source: str) -> dict[str, Any]:
    """The state machine's own first state, run here: same rules, same availability-zone lookup."""
    _layer_on_path()
    from mskpair_core import aws
    from mskpair_core.config import validate_request
    from mskpair_core.errors import InvalidInput
    from mskpair_core.network import availability_zones

    aws.reset_clients()
    try:
        return validate_request(request, az_lookup=availability_zones)
    except InvalidInput as exc:
        raise CliError(f"{source}: InvalidInput: {exc}") from None


# -- AWS or the emulator server --------------------------------------------------------------------
@contextlib.contextmanager
def aws_errors(what: str = "") -> Iterator[None]:
    """Turn credential, connection and 'not found' errors into one clear line."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
        ProfileNotFound,
    )

    try:
        yield
    except NoCredentialsError:
        raise CliError(
            "no AWS credentials: set AWS_PROFILE (or --aws-profile), run `aws sso login`, or use --local"
        ) from None
    except PartialCredentialsError as exc:
        raise CliError(f"incomplete AWS credentials: {exc}") from None
    except ProfileNotFound as exc:
        raise CliError(f"{exc}") from None
    except NoRegionError:
        raise CliError("no AWS region: set AWS_REGION (or --region)") from None
    except EndpointConnectionError as exc:
        raise CliError(f"cannot reach {exc.kwargs.get('endpoint_url', 'the endpoint')}") from None
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        message = exc.response.get("Error", {}).get("Message", "")
        if code in CREDENTIAL_ERRORS:
            raise CliError(
                f"AWS rejected the credentials ({code}): {message}; refresh them or pick another profile"
            ) from None
        if code in ("ExecutionDoesNotExist", "InvalidArn"):
            raise CliError(f"no such execution{(' ' + what) if what else ''}: {message or code}") from None
        if code in ("AccessDenied", "AccessDeniedException"):
            raise CliError(f"access denied: {message}") from None
        raise CliError(f"{code}: {message}") from None
    except BotoCoreError as exc:
        raise CliError(f"AWS: {exc}") from None


class Backend:
    """Where the state machine runs: a real AWS account, or the emulator server (``--local``)."""

    def __init__(self, args: argparse.Namespace) -> None:
        import boto3

        self.local = bool(getattr(args, "local", False))
        self.args = args
        self.poll_seconds = getattr(args, "poll_seconds", None) or (0.3 if self.local else 3.0)
        if self.local:
            self.endpoint = (getattr(args, "endpoint_url", None) or DEFAULT_ENDPOINT).rstrip("/")
            # Every boto3 client of this process (ours, mskpair_core's, inventory's) goes to the emulator.
            os.environ.update(
                {**LOCAL_CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint, "AWS_DEFAULT_REGION": LOCAL_REGION}
            )
            for var in ("AWS_PROFILE", "AWS_REGION"):
                os.environ.pop(var, None)
            self.status = self._server_status()
            self.region = self.status.get("region", LOCAL_REGION)
            self.session = boto3.session.Session(region_name=self.region)
        else:
            if getattr(args, "aws_profile", None):
                os.environ["AWS_PROFILE"] = args.aws_profile
            if getattr(args, "region", None):
                os.environ["AWS_DEFAULT_REGION"] = args.region
                os.environ["AWS_REGION"] = args.region
            with aws_errors():
                self.session = boto3.session.Session()
            self.region = self.session.region_name

    def _server_status(self) -> dict[str, Any]:
        from msk_pair.emulator.server import STATUS_PATH

        try:
            with urllib.request.urlopen(self.endpoint + STATUS_PATH, timeout=5) as response:  # noqa: S310 - local URL
                return json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError):
            raise CliError(
                f"no msk-pair emulator at {self.endpoint}: start one with `msk-pair emulator serve` "
                "(or run the whole workflow in one process with `msk-pair run --local FILE`)"
            ) from None

    def client(self, service: str, region: str | None = None) -> Any:
        with aws_errors():
            return self.session.client(service, region_name=region or self.region)

    def sfn_for(self, execution_arn: str) -> Any:
        parts = execution_arn.split(":")
        if len(parts) < 8 or parts[2] != "states" or parts[5] != "execution":
            raise CliError(f"not a Step Functions execution ARN: {execution_arn}")
        return self.client("stepfunctions", parts[3])

    def state_machine_arn(self) -> str:
        if self.local:
            return self.status["stateMachineArn"]
        if getattr(self.args, "state_machine_arn", None):
            return self.args.state_machine_arn
        stack = getattr(self.args, "stack_name", None) or DEFAULT_STACK
        if not self.region:
            raise CliError("no AWS region: set AWS_REGION (or --region)")
        cfn = self.client("cloudformation")
        try:
            with aws_errors():
                stacks = cfn.describe_stacks(StackName=stack)["Stacks"]
        except CliError as exc:
            if "does not exist" in str(exc):
                raise CliError(
                    f"no CloudFormation stack {stack!r} in {self.region}: deploy it with `sam deploy --guided`, "
                    "or pass --stack-name / --state-machine-arn / --region"
                ) from None
            raise
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
        if STACK_OUTPUT not in outputs:
            raise CliError(f"stack {stack!r} in {self.region} has no output {STACK_OUTPUT} (is it the msk-pair stack?)")
        return outputs[STACK_OUTPUT]


# -- executions ------------------------------------------------------------------------------------
def _new_events(sfn: Any, arn: str, seen: int) -> list[dict[str, Any]]:
    """History events with id > seen, oldest first (newest-first pages where the service supports it)."""
    found: dict[int, dict[str, Any]] = {}
    token = None
    while True:
        kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 500, "reverseOrder": True}
        if token:
            kwargs["nextToken"] = token
        page = sfn.get_execution_history(**kwargs)
        events = page["events"]
        found.update({e["id"]: e for e in events if e["id"] > seen})
        token = page.get("nextToken")
        if not token or any(e["id"] <= seen for e in events):
            break
    return [found[i] for i in sorted(found)]


def _elapsed_from(start: dt.datetime) -> Callable[[dict[str, Any]], float]:
    def elapsed(event: dict[str, Any]) -> float:
        stamp = event.get("timestamp")
        return (stamp - start).total_seconds() if isinstance(stamp, dt.datetime) else 0.0

    return elapsed


def follow(backend: Backend, execution_arn: str, out: TextIO) -> dict[str, Any]:
    """Print live progress until the execution ends; returns its final description."""
    sfn = backend.sfn_for(execution_arn)
    with aws_errors(execution_arn):
        desc = sfn.describe_execution(executionArn=execution_arn)
    printer = ProgressPrinter(out, elapsed=_elapsed_from(desc["startDate"]))
    seen = 0
    try:
        while True:
            with aws_errors(execution_arn):
                desc = sfn.describe_execution(executionArn=execution_arn)
                events = _new_events(sfn, execution_arn, seen)
            for event in events:
                printer(event)
                seen = event["id"]
            if desc["status"] != "RUNNING" and printer.result:
                break
            if desc["status"] != "RUNNING" and not events:
                break  # ended, and the history has nothing more to say
            time.sleep(backend.poll_seconds)
    except KeyboardInterrupt:
        printer.finish()
        print(f"\nstopped following; the execution goes on: msk-pair follow {execution_arn}", file=out)
        raise
    printer.finish()
    return desc


def _input_of(desc: dict[str, Any]) -> dict[str, Any]:
    try:
        doc = json.loads(desc.get("input") or "{}")
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _local_flag(backend: Backend) -> str:
    if not backend.local:
        return ""
    return " --local" + (f" --endpoint-url {backend.endpoint}" if backend.endpoint != DEFAULT_ENDPOINT else "")


def _report(backend: Backend, desc: dict[str, Any], out: TextIO) -> int:
    """After following: outputs on success, the error and cause on failure."""
    arn = desc["executionArn"]
    print(file=out)
    if desc["status"] == "SUCCEEDED":
        request = _input_of(desc)
        output = json.loads(desc.get("output") or "null")
        if request.get("mode") != "teardown" and isinstance(output, dict) and output.get("primary"):
            from msk_pair import outputs as outputs_mod

            with contextlib.suppress(outputs_mod.OutputError):
                print(outputs_mod.render_text(output, username=request.get("scramUsername")), file=out)
            print(f"mm2.properties: msk-pair outputs {arn}{_local_flag(backend)} --mm2 mm2.properties", file=out)
        return EXIT_OK
    print(f"execution {desc['status']}: {desc.get('error') or ''}", file=out)
    if desc.get("cause"):
        print(f"cause: {describe_cause(desc.get('cause'))}", file=out)
    return EXIT_FAILED


def _execution_name(deployment: str, suffix: str = "") -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{deployment}{suffix}-{stamp}-{os.urandom(2).hex()}"[:80]


def _start(backend: Backend, request: dict[str, Any], name: str, out: TextIO, no_follow: bool) -> int:
    sfn = backend.client("stepfunctions")
    sm_arn = backend.state_machine_arn()
    with aws_errors():
        arn = sfn.start_execution(stateMachineArn=sm_arn, name=name, input=json.dumps(request))["executionArn"]
    where = f"the emulator at {backend.endpoint}" if backend.local else f"AWS ({backend.region})"
    print(f"started on {where}: {arn}", file=out, flush=True)
    if no_follow:
        flag = _local_flag(backend)
        print(f"follow it: msk-pair follow {arn}{flag}\nstatus:    msk-pair status {arn}{flag}", file=out)
        return EXIT_OK
    desc = follow(backend, arn, out)
    return _report(backend, desc, out)


def _executions(backend: Backend, deployment: str, limit: int = 200) -> Iterator[dict[str, Any]]:
    """Executions of the state machine whose input names ``deployment``, newest first (described)."""
    sfn = backend.client("stepfunctions")
    sm_arn = backend.state_machine_arn()
    token = None
    scanned = 0
    listed: list[dict[str, Any]] = []
    with aws_errors():
        while scanned < limit:
            kwargs: dict[str, Any] = {"stateMachineArn": sm_arn, "maxResults": 100}
            if token:
                kwargs["nextToken"] = token
            page = sfn.list_executions(**kwargs)
            listed += page["executions"]
            scanned += len(page["executions"])
            token = page.get("nextToken")
            if not token:
                break
    listed.sort(key=lambda e: e["startDate"], reverse=True)
    for item in listed:
        with aws_errors(item["executionArn"]):
            desc = sfn.describe_execution(executionArn=item["executionArn"])
        if _input_of(desc).get("deploymentName") == deployment:
            yield desc


# -- commands --------------------------------------------------------------------------------------
def cmd_start(args: argparse.Namespace) -> int:
    request = _read_input(args.input)
    backend = Backend(args)
    with aws_errors():
        validate_locally(request, args.input)
    name = _execution_name(str(request.get("deploymentName")))
    return _start(backend, request, name, sys.stdout, args.no_follow)


def cmd_follow(args: argparse.Namespace) -> int:
    backend = Backend(args)
    desc = follow(backend, args.execution_arn, sys.stdout)
    return _report(backend, desc, sys.stdout)


def cmd_status(args: argparse.Namespace) -> int:
    backend = Backend(args)
    sfn = backend.sfn_for(args.execution_arn)
    with aws_errors(args.execution_arn):
        desc = sfn.describe_execution(executionArn=args.execution_arn)
        events = _new_events(sfn, args.execution_arn, 0)
    printer = ProgressPrinter(io.StringIO(), elapsed=_elapsed_from(desc["startDate"]), tty=False)
    for event in events:
        printer(event)
    request = _input_of(desc)
    out = sys.stdout
    print(f"execution:  {desc['executionArn']}", file=out)
    print(f"deployment: {request.get('deploymentName', '?')} ({request.get('mode', 'provision')})", file=out)
    print(f"status:     {desc['status']}", file=out)
    print(f"started:    {desc['startDate'].isoformat(timespec='seconds')}", file=out)
    end = desc.get("stopDate")
    if end:
        print(f"took:       {_fmt_duration((end - desc['startDate']).total_seconds())}", file=out)
    else:
        print(f"elapsed:    {_fmt_duration(printer.now)}", file=out)
    if desc["status"] == "RUNNING":
        phase = "rolling back" if printer.rolling_back else ("teardown" if printer.teardown_announced else "running")
        print(f"phase:      {phase}", file=out)
        for step in printer.running():
            print(f"  now:      {step}", file=out)
    if desc.get("error"):
        print(f"error:      {desc['error']}", file=out)
        print(f"cause:      {describe_cause(desc.get('cause'))}", file=out)
    return EXIT_FAILED if desc["status"] in ("FAILED", "TIMED_OUT", "ABORTED") else EXIT_OK


def cmd_teardown(args: argparse.Namespace) -> int:
    backend = Backend(args)
    primary, secondary = args.primary_region, args.secondary_region
    if not (primary and secondary):
        last = next(_executions(backend, args.deployment), None)
        if last is None:
            raise CliError(
                f"no execution of deployment {args.deployment!r} found: pass --primary-region and --secondary-region"
            )
        request = _input_of(last)
        primary = primary or (request.get("primary") or {}).get("region")
        secondary = secondary or (request.get("secondary") or {}).get("region")
        print(f"regions of {args.deployment} (from {last['executionArn']}): {primary}, {secondary}")
    request = {
        "mode": "teardown",
        "deploymentName": args.deployment,
        "primary": {"region": primary},
        "secondary": {"region": secondary},
    }
    with aws_errors():
        validate_locally(request, "teardown")
    status = _start(backend, request, _execution_name(args.deployment, "-teardown"), sys.stdout, args.no_follow)
    if status == EXIT_OK and not args.no_follow and (backend.local or args.verify):
        from msk_pair.emulator.inventory import inventory

        with aws_errors():
            left = inventory(args.deployment, [primary, secondary])
        if left:
            print(f"still tagged with {args.deployment}: {json.dumps(left)}")
            return EXIT_FAILED
        print(f"nothing left tagged msk-pair:deployment={args.deployment} in {primary}, {secondary} or IAM")
    return status


def cmd_outputs(args: argparse.Namespace) -> int:
    from msk_pair import outputs as outputs_mod

    if bool(args.execution_arn) == bool(args.deployment):
        raise CliError("give either an EXECUTION_ARN or --deployment NAME")
    backend = Backend(args)
    stale = None
    if args.execution_arn:
        sfn = backend.sfn_for(args.execution_arn)
        with aws_errors(args.execution_arn):
            desc = sfn.describe_execution(executionArn=args.execution_arn)
    else:
        desc = None
        for found in _executions(backend, args.deployment):
            mode = _input_of(found).get("mode", "provision")
            if found["status"] == "SUCCEEDED" and mode == "teardown" and stale is None:
                stale = found
            if found["status"] == "SUCCEEDED" and mode != "teardown":
                desc = found
                break
        if desc is None:
            raise CliError(f"no successful provisioning of deployment {args.deployment!r} found")
    if desc["status"] != "SUCCEEDED":
        raise CliError(f"execution {desc['executionArn']} is {desc['status']}: it has no outputs", EXIT_FAILED)
    request = _input_of(desc)
    output = json.loads(desc.get("output") or "null")
    if request.get("mode") == "teardown":
        raise CliError(f"execution {desc['executionArn']} is a teardown: it has no outputs", EXIT_FAILED)
    if stale is not None:
        print(
            f"warning: {args.deployment} was torn down after this provisioning ({stale['executionArn']})",
            file=sys.stderr,
        )
    try:
        if args.json:
            text = json.dumps(output, indent=2) + "\n"
        else:
            text = outputs_mod.render_text(output, username=request.get("scramUsername"), mm2_file=args.mm2)
        mm2 = outputs_mod.mm2_properties(output, username=request.get("scramUsername"))
    except outputs_mod.OutputError as exc:
        raise CliError(str(exc), EXIT_FAILED) from None
    if args.mm2:
        Path(args.mm2).write_text(mm2)
    print(f"execution {desc['executionArn']}\n", file=sys.stderr)
    sys.stdout.write(text)
    if args.mm2:
        print(f"\nwrote {args.mm2}")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from msk_pair.emulator.profile import FAST, LatencyProfile
    from msk_pair.emulator.server import serve

    profile = LatencyProfile.load(args.profile) if args.profile else FAST
    return serve(
        host=args.host,
        port=args.port,
        profile=profile,
        pace=args.pace,
        log_level=args.log_level,
        faults=args.fail or [],
    )


def cmd_run(args: argparse.Namespace) -> int:
    if not args.local:
        raise CliError("`run` is the one-shot emulator run and needs --local; on AWS use `msk-pair start FILE`")
    from msk_pair.emulator.engine import Emulator
    from msk_pair.emulator.profile import FAST, LatencyProfile

    request = _read_input(args.input)
    profile = LatencyProfile.load(args.profile) if args.profile else FAST
    out = sys.stdout
    with Emulator(profile=profile, pace=args.pace, log_level=args.log_level) as emu:
        for spec in args.fail or []:
            function, _, role = spec.partition(":")
            emu.faults.add(function, role=role or None, times=None)
        from msk_pair.emulator.server import emulated_timestamps

        restore = emulated_timestamps()  # history timestamps in emulated time: elapsed times are the workflow's
        emu.clock.catch_up()
        started = dt.datetime.fromtimestamp(emu.clock.latest(), dt.UTC)
        printer = ProgressPrinter(out, elapsed=_elapsed_from(started))
        print(f"msk-pair: starting on the emulator: {emu.state_machine_arn}", file=out)
        try:
            result = emu.run(request, on_event=printer)
        finally:
            restore()
        printer.finish()
        print(file=out)
        if result.status == "SUCCEEDED":
            print(json.dumps(result.output, indent=2), file=out)
            return EXIT_OK
        print(f"execution {result.status}: {result.error}", file=out)
        print(f"cause: {describe_cause(result.cause)}", file=out)
        return EXIT_FAILED


def cmd_validate(args: argparse.Namespace) -> int:
    from msk_pair.emulator.engine import Emulator

    request = _read_input(args.input)
    # Availability zones are looked up on the emulator's regions (offline).
    with Emulator():
        config = validate_locally(request, args.input)
    print(json.dumps(config, indent=2))
    return EXIT_OK


# -- argument parsing ------------------------------------------------------------------------------
def _target_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("where")
    g.add_argument("--local", action="store_true", help="use the emulator server (`msk-pair emulator serve`)")
    g.add_argument(
        "--endpoint-url",
        default=os.environ.get("MSK_PAIR_EMULATOR_URL", DEFAULT_ENDPOINT),
        help=f"the emulator server with --local (default {DEFAULT_ENDPOINT}, or $MSK_PAIR_EMULATOR_URL)",
    )
    g.add_argument("--aws-profile", help="AWS profile (default: AWS_PROFILE / the default profile)")
    g.add_argument("--region", help="AWS region of the stack (default: AWS_REGION / the profile's region)")
    g.add_argument("--stack-name", default=DEFAULT_STACK, help=f"CloudFormation stack (default {DEFAULT_STACK})")
    g.add_argument("--state-machine-arn", help=f"use this state machine instead of the stack's {STACK_OUTPUT}")
    g.add_argument("--poll-seconds", type=float, help="how often to read the history (default 3, 0.3 with --local)")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="msk-pair", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    start = sub.add_parser("start", help="validate an input file, start a provisioning and follow it")
    start.add_argument("input", help="region-pair JSON file (events/region-pair.json is the sample)")
    start.add_argument("--no-follow", action="store_true", help="print the execution ARN and return")
    _target_options(start)
    start.set_defaults(func=cmd_start)

    fol = sub.add_parser("follow", help="live progress of an execution until it ends")
    fol.add_argument("execution_arn")
    _target_options(fol)
    fol.set_defaults(func=cmd_follow)

    st = sub.add_parser("status", help="where an execution is, or how it ended")
    st.add_argument("execution_arn")
    _target_options(st)
    st.set_defaults(func=cmd_status)

    td = sub.add_parser("teardown", help="delete a deployment (everything tagged with it, both regions)")
    td.add_argument("--deployment", required=True)
    td.add_argument("--primary-region", help="default: from the deployment's latest execution")
    td.add_argument("--secondary-region", help="default: from the deployment's latest execution")
    td.add_argument("--no-follow", action="store_true")
    td.add_argument("--verify", action="store_true", help="then list what is still tagged (always with --local)")
    _target_options(td)
    td.set_defaults(func=cmd_teardown)

    outp = sub.add_parser("outputs", help="bootstrap strings, SSM shell commands, mm2.properties of a deployment")
    outp.add_argument("execution_arn", nargs="?")
    outp.add_argument("--deployment", help="the latest successful provisioning of this deployment")
    outp.add_argument("--mm2", metavar="FILE", help="write MirrorMaker 2 mm2.properties (primary -> secondary) here")
    outp.add_argument("--json", action="store_true", help="print the execution output as JSON")
    _target_options(outp)
    outp.set_defaults(func=cmd_outputs)

    emu = sub.add_parser("emulator", help="the local emulator server")
    emu_sub = emu.add_subparsers(dest="emulator_command", required=True)
    serve = emu_sub.add_parser("serve", help="serve emulated AWS with the state machine, for --local")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5055, help="0 picks a free port (printed)")
    serve.add_argument("--pace", type=float, default=0.0, help="real seconds per emulated second (default 0)")
    serve.add_argument("--profile", help="latency profile JSON (default: the FAST profile)")
    serve.add_argument("--log-level", default="CRITICAL", help="handlers' Powertools log level")
    serve.add_argument("--fail", action="append", metavar="FUNCTION[:ROLE]", help="make this function always fail")
    serve.set_defaults(func=cmd_serve)

    run = sub.add_parser("run", help="one-shot: the whole workflow on an in-process emulator, with live progress")
    run.add_argument("input", help="region-pair JSON file (events/region-pair.json is the sample)")
    run.add_argument("--local", action="store_true", help="run on the embedded emulator (no AWS account needed)")
    run.add_argument("--profile", help="latency profile JSON for the emulator (emulated durations)")
    run.add_argument(
        "--pace", type=float, default=0.0, help="real seconds per emulated second, to watch progress (default 0)"
    )
    run.add_argument("--log-level", default="CRITICAL", help="handlers' Powertools log level on the emulator")
    run.add_argument(
        "--fail",
        action="append",
        metavar="FUNCTION[:ROLE]",
        help="emulator: make this function fail (e.g. CreateNetworkFunction:secondary), to watch the rollback",
    )
    run.set_defaults(func=cmd_run)

    val = sub.add_parser("validate", help="check an input file against the contract (offline)")
    val.add_argument("input")
    val.set_defaults(func=cmd_validate)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except CliError as exc:
        print(f"msk-pair: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
