"""Where the state machine runs: a real AWS account, or the local emulator server (``--local``).

Both are reached with boto3; the emulator server speaks the AWS APIs (moto behind it), so every
command takes the same code path on both. The region is found as the AWS CLI v2 finds it
(``--region``, ``AWS_REGION``, ``AWS_DEFAULT_REGION``, the profile's ``region``), then the region
``samconfig.toml`` deploys to; the stack name comes from ``--stack-name`` or ``samconfig.toml``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import threading
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from msk_pair.cli.errors import CliError
from msk_pair.layer import project_root

DEFAULT_STACK = "msk-pair"
STACK_OUTPUT = "ProvisionStateMachineArn"
DEFAULT_ENDPOINT = "http://127.0.0.1:5055"
LOCAL_REGION = "us-east-1"
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}
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
NO_REGION = (
    "no AWS region: pass --region, set AWS_REGION (or AWS_DEFAULT_REGION, or region in your AWS profile), "
    "or run from the directory whose samconfig.toml names the region the stack is deployed to"
)


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
        raise CliError(NO_REGION) from None
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
            raise CliError(f"access denied: {message} (what the CLI needs is in iam/deployer-policy.json)") from None
        raise CliError(f"{code}: {message}") from None
    except BotoCoreError as exc:
        raise CliError(f"AWS: {exc}") from None


def samconfig(start: Path | None = None) -> dict[str, Any]:
    """``samconfig.toml``'s ``default`` environment: the one in the current directory, else the project's."""
    for directory in (start or Path.cwd(), project_root()):
        path = directory / "samconfig.toml"
        if path.is_file():
            try:
                return tomllib.loads(path.read_text()).get("default", {})
            except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise CliError(f"cannot read {path}: {exc}") from None
    return {}


def samconfig_value(key: str, commands: tuple[str, ...] = ("deploy", "global")) -> str | None:
    config = samconfig()
    for command in commands:
        value = config.get(command, {}).get("parameters", {}).get(key)
        if isinstance(value, str) and value:
            return value
    return None


class Clients:
    """boto3 clients of one session, one per service and region (using a client from several threads is
    safe, making clients from one session is not)."""

    def __init__(self, session: Any = None, region: str | None = None) -> None:
        self.session = session
        self.region = region
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, region: str | None = None) -> Any:
        region = region or self.region
        if not region:
            raise CliError(NO_REGION)
        with self._lock:
            key = (service, region)
            if key not in self._clients:
                with aws_errors():
                    self._clients[key] = self.session.client(service, region_name=region)
            return self._clients[key]


class Backend(Clients):
    """Where the state machine runs: a real AWS account, or the emulator server (``--local``)."""

    def __init__(self, args: argparse.Namespace) -> None:
        import boto3

        super().__init__()
        self.local = bool(getattr(args, "local", False))
        self.args = args
        self.poll_seconds = getattr(args, "poll_seconds", None) or (0.3 if self.local else 3.0)
        self.region_source = ""
        if self.local:
            self.endpoint = (getattr(args, "endpoint_url", None) or DEFAULT_ENDPOINT).rstrip("/")
            # Every boto3 client of this process (ours, mskpair_core's) goes to the emulator.
            os.environ.update(
                {**LOCAL_CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint, "AWS_DEFAULT_REGION": LOCAL_REGION}
            )
            for var in ("AWS_PROFILE", "AWS_REGION"):
                os.environ.pop(var, None)
            self.status = self._server_status()
            self.region = self.status.get("region", LOCAL_REGION)
            self.region_source = "the emulator"
            self.session = boto3.session.Session(region_name=self.region)
            return
        if getattr(args, "aws_profile", None):
            os.environ["AWS_PROFILE"] = args.aws_profile
        with aws_errors():
            self.region, self.region_source = self._region(args, boto3.session.Session())
        with aws_errors():
            self.session = boto3.session.Session(region_name=self.region)

    @staticmethod
    def _region(args: argparse.Namespace, session: Any) -> tuple[str | None, str]:
        """The AWS CLI v2's order (--region, AWS_REGION, AWS_DEFAULT_REGION, the profile), then samconfig.toml."""
        candidates = (
            (getattr(args, "region", None), "--region"),
            (os.environ.get("AWS_REGION"), "AWS_REGION"),
            (os.environ.get("AWS_DEFAULT_REGION"), "AWS_DEFAULT_REGION"),
            (session.region_name, "the AWS profile"),
            (samconfig_value("region"), "samconfig.toml"),
        )
        return next(((value, source) for value, source in candidates if value), (None, ""))

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

    @property
    def where(self) -> str:
        return f"the emulator at {self.endpoint}" if self.local else f"AWS ({self.region})"

    def flags(self) -> str:
        """The options that point another msk-pair command at the same place (for printed hints)."""
        if self.local:
            return " --local" + (f" --endpoint-url {self.endpoint}" if self.endpoint != DEFAULT_ENDPOINT else "")
        flags = ""
        if getattr(self.args, "region", None):
            flags += f" --region {self.args.region}"
        if getattr(self.args, "stack_name", None):
            flags += f" --stack-name {self.args.stack_name}"
        return flags

    def sfn_for(self, execution_arn: str) -> Any:
        parts = execution_arn.split(":")
        if len(parts) < 8 or parts[2] != "states" or parts[5] != "execution":
            raise CliError(f"not a Step Functions execution ARN: {execution_arn}")
        return self.client("stepfunctions", parts[3])

    def stack_name(self) -> str:
        return getattr(self.args, "stack_name", None) or samconfig_value("stack_name") or DEFAULT_STACK

    def state_machine_arn(self) -> str:
        if self.local:
            return self.status["stateMachineArn"]
        if getattr(self.args, "state_machine_arn", None):
            return self.args.state_machine_arn
        stack = self.stack_name()
        cfn = self.client("cloudformation")
        try:
            with aws_errors():
                stacks = cfn.describe_stacks(StackName=stack)["Stacks"]
        except CliError as exc:
            if "does not exist" in str(exc):
                raise CliError(
                    f"no CloudFormation stack {stack!r} in {self.region} (region from {self.region_source}): "
                    "deploy it with `sam deploy --guided`, or pass --stack-name / --state-machine-arn / --region"
                ) from None
            raise
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
        if STACK_OUTPUT not in outputs:
            raise CliError(f"stack {stack!r} in {self.region} has no output {STACK_OUTPUT} (is it the msk-pair stack?)")
        return outputs[STACK_OUTPUT]


# -- executions ------------------------------------------------------------------------------------
def new_events(sfn: Any, arn: str, seen: int) -> list[dict[str, Any]]:
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


def elapsed_from(start: dt.datetime) -> Callable[[dict[str, Any]], float]:
    def elapsed(event: dict[str, Any]) -> float:
        stamp = event.get("timestamp")
        return (stamp - start).total_seconds() if isinstance(stamp, dt.datetime) else 0.0

    return elapsed


def input_of(desc: dict[str, Any]) -> dict[str, Any]:
    try:
        doc = json.loads(desc.get("input") or "{}")
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def mode_of(desc: dict[str, Any]) -> str:
    return input_of(desc).get("mode") or "provision"


def regions_of(desc: dict[str, Any]) -> dict[str, str]:
    """``{"primary": region, "secondary": region}`` from an execution's input (what it names)."""
    request = input_of(desc)
    found = {}
    for role in ("primary", "secondary"):
        side = request.get(role)
        if isinstance(side, dict) and isinstance(side.get("region"), str):
            found[role] = side["region"]
    return found


def describe(backend: Backend, execution_arn: str) -> dict[str, Any]:
    sfn = backend.sfn_for(execution_arn)
    with aws_errors(execution_arn):
        return sfn.describe_execution(executionArn=execution_arn)


def executions(backend: Backend, deployment: str | None = None, limit: int = 200) -> Iterator[dict[str, Any]]:
    """Executions of the state machine (whose input names ``deployment``, if given), newest first, described.

    Step Functions keeps a closed execution for 90 days; older deployments are found by their tags.
    """
    sfn = backend.client("stepfunctions")
    sm_arn = backend.state_machine_arn()
    token = None
    listed: list[dict[str, Any]] = []
    with aws_errors():
        while len(listed) < limit:
            kwargs: dict[str, Any] = {"stateMachineArn": sm_arn, "maxResults": 100}
            if token:
                kwargs["nextToken"] = token
            page = sfn.list_executions(**kwargs)
            listed += page["executions"]
            token = page.get("nextToken")
            if not token:
                break
    listed.sort(key=lambda e: e["startDate"], reverse=True)
    for item in listed:
        with aws_errors(item["executionArn"]):
            desc = sfn.describe_execution(executionArn=item["executionArn"])
        if deployment is None or input_of(desc).get("deploymentName") == deployment:
            yield desc


def execution_name(deployment: str, suffix: str = "") -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{deployment}{suffix}-{stamp}-{os.urandom(2).hex()}"[:80]
