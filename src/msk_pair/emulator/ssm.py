"""Make moto's SSM Run Command behave like AWS where the client-machine workflow depends on it.

AWS service: AWS Systems Manager Run Command and instance registration (and RunInstances'
  ClientToken).
Sources: Systems Manager User Guide, "Understanding command statuses" and "Configure instance
  permissions for Systems Manager" (AmazonSSMManagedInstanceCore); Systems Manager API Reference,
  SendCommand (InvalidInstanceId: "SSM Agent isn't running", "isn't registered with the SSM
  endpoint"), GetCommandInvocation, DescribeInstanceInformation (PingStatus); EC2 API Reference,
  "Ensuring idempotency" (ClientToken).

moto 5.2.5 lacks ``DescribeInstanceInformation`` and ``ListCommandInvocations``, never validates the
instances of ``SendCommand`` (and, given only ``InstanceIds``, targets every instance of the region),
and reports every command ``Success`` at once. :func:`install` patches moto's classes (no fork, no
edit of site-packages); :func:`uninstall` restores every original. Time is emulated: durations come
from :func:`msk_pair.emulator.profile.active` and "now" from :func:`msk_pair.emulator.clock.now`;
nothing sleeps.

Rules:

1. Registration: an EC2 instance registers with SSM ``ssm_registration`` emulated seconds after it is
   ``running`` (with strict_ec2 installed, an instance is running ``instance_start`` seconds after
   launch), and only if its instance profile's role has ``AmazonSSMManagedInstanceCore`` attached
   (as on AWS: without it the agent cannot talk to SSM; :func:`set_require_ssm_role` turns this off).
   ``DescribeInstanceInformation`` (added) lists it ``Online`` from then on, ``ConnectionLost`` while
   it is stopping, stopped or shutting down, and no more once it is terminated.
2. ``SendCommand`` to an instance that is not registered and online fails with ``InvalidInstanceId``.
   With ``InstanceIds`` it targets exactly those instances; ``Targets`` (tags) select only online ones.
3. Each invocation is ``Pending`` for the first tenth of ``ssm_command`` emulated seconds, then
   ``InProgress``, then ``Success`` (or ``Failed``, see :func:`fail_next_command`), also in
   ``ListCommands`` and ``ListCommandInvocations`` (added). The standard output of a successful
   invocation is what the script's literal ``echo`` lines print (lines like ``echo "TEXT"`` or
   ``echo 'TEXT'`` without ``$`` and not redirected to stderr): a ``set -e`` script that succeeds
   reaches all of them, so success markers appear as they would on the machine
   (:func:`set_command_output` overrides this).
4. Every command's text is kept: :func:`sent_commands` lists what would have run on the machine.
5. ``AttachRolePolicy`` of an AWS managed policy (``arn:aws:iam::aws:policy/...``) works without
   loading moto's whole managed-policy set (``MOTO_IAM_LOAD_MANAGED_POLICIES``): the one policy is
   added to the account when first attached.
6. ``RunInstances`` honours ``ClientToken`` as AWS does: a repeated request with a token already used
   returns the original reservation instead of launching again. moto: launches again.
7. Network: a script that connects to Kafka brokers (the client machine's smoke test and cross-region
   check) succeeds only if the instance can reach every one of them over the emulated network when the
   invocation finishes (security groups, peering, routes both ways: see
   :mod:`msk_pair.emulator.network_path`). Otherwise the invocation ends ``Failed`` (exit code 1) with
   the stderr the script would print (``cannot reach <broker>``) plus an ``msk-pair emulator:`` line
   saying why, and the stdout of the ``echo`` lines before the failing line (no success marker after it).
   The verdict is taken at the first read after the finish and kept. This applies while the MSK emulator
   is installed (without it there are no emulated brokers to resolve); :func:`set_check_network` forces it.
8. Kafka: a script that runs Kafka's clients beyond ``kafka-topics.sh`` (producer, consumer, consumer
   groups) or the MirrorMaker 2 service is run by :mod:`msk_pair.emulator.kafka` on its model of the clusters
   and machines (network path and SCRAM credentials included), from the moment the invocation leaves
   ``Pending``; its status, exit code, stdout and stderr are that run's, judged at the first read after the
   finish. Any other script that ends ``Success`` is shown to it too, so that it learns the files the
   client's bootstrap wrote (``client.properties`` and whose secret it holds).
9. Real runs (:func:`set_run_scripts`, off by default: it costs a few tenths of a second of real time per
   command): a command that the rules above end ``Success`` and that the Kafka model does not run (rule 8:
   the client's bootstrap and verification) is run for real on a throwaway root of its instance
   (:mod:`msk_pair.emulator.script_runner`: ``bash -euo pipefail``, stand-ins for dnf, curl, aws, systemd,
   Kafka's tools), and its standard output is that run's instead of the ``echo`` lines. The instance's root
   persists from one command to the next (the verification finds the bootstrap's ``client.properties``).
   ``aws secretsmanager get-secret-value`` there answers what Secrets Manager would answer the instance: the
   secret's value from moto, or the refusal its role's policies and boundary earn (decided as
   :mod:`msk_pair.emulator.kafka` decides it for the Kafka tools). The model still decides failure or
   success; if the real run fails where the model said ``Success``, the invocation ends ``Failed`` with the
   run's exit status and stderr and an ``msk-pair emulator:`` line saying so, never a made-up success.
   ``set_command_output`` still wins.
10. Output size: ``StandardOutputContent`` is the first 24,000 characters the command wrote to stdout and
   ``StandardErrorContent`` the first 8,000 of its stderr (botocore's SSM service model, GetCommandInvocation:
   "The first 24,000 characters written by the plugin to stdout", "The first 8,000 characters written by the
   plugin to stderr"; the shapes' ``max`` is 24000 and 8000).

The AL2023 public parameter ``/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64``
needs nothing here: moto serves it in every region and its AMI is one that RunInstances accepts.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.models import ec2_backends
from moto.ec2.models.instances import Instance
from moto.ec2.responses.instances import InstanceResponse
from moto.iam.aws_managed_policies import aws_managed_policies_data
from moto.iam.models import AWSManagedPolicy, IAMBackend
from moto.ssm.exceptions import SSMException
from moto.ssm.models import Command, SimpleSystemManagerBackend
from moto.ssm.responses import SimpleSystemManagerResponse

from msk_pair.emulator import clock, kafka, msk, network_path, profile, script_runner, strict_ec2
from msk_pair.emulator.patching import PatchSet

SSM_CORE_POLICY = "AmazonSSMManagedInstanceCore"
PENDING_FRACTION = 0.1
"""The share of ``ssm_command`` an invocation stays ``Pending`` before it is ``InProgress``."""
DONE = frozenset({"Success", "Failed", "Cancelled", "TimedOut"})
STDOUT_CHARS = 24_000  # GetCommandInvocation StandardOutputContent: "The first 24,000 characters ... to stdout"
STDERR_CHARS = 8_000  # GetCommandInvocation StandardErrorContent: "The first 8,000 characters ... to stderr"
_SECRET_ARN = re.compile(r"arn:aws[\w-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+")

_CREATED = "_ssm_created_at"  # Instance.__dict__: emulated time of launch
_SEEN_ONLINE = "_ssm_seen_online"  # Instance.__dict__: it has been Online at least once
_EMU = "_ssm_emu"  # Command.__dict__: our bookkeeping of the command

_lock = threading.Lock()


@dataclass
class _FailRule:
    match: str
    stderr: str
    exit_code: int


@dataclass
class _State:
    sent: list[dict[str, Any]]
    fail_rules: list[_FailRule]
    output_rules: list[tuple[str, str]]
    blocked_all: bool
    blocked: set[str]
    require_ssm_role: bool
    check_network: bool | None = None  # None: while the MSK emulator is installed
    run_scripts: bool = False  # rule 9
    world: script_runner.World | None = None  # rule 9: the instances' throwaway roots


def _fresh_state() -> _State:
    return _State(sent=[], fail_rules=[], output_rules=[], blocked_all=False, blocked=set(), require_ssm_role=True)


_state = _fresh_state()


def _close_world(state: _State) -> None:
    if state.world is not None:
        state.world.close()
        state.world = None


# -- test hooks --------------------------------------------------------------------------------


def reset() -> None:
    """Forget every sent command and test hook (install() does this too), and the Kafka model."""
    global _state
    with _lock:
        _close_world(_state)
        _state = _fresh_state()
    network_path.reset()
    kafka.reset()


def fail_next_command(match: str = "", stderr: str = "emulated failure", exit_code: int = 1) -> None:
    """Make the next SendCommand whose script contains ``match`` end ``Failed`` with this stderr.

    Rules are used once each, in the order they were added.
    """
    with _lock:
        _state.fail_rules.append(_FailRule(match, stderr, exit_code))


def set_command_output(match: str, stdout: str) -> None:
    """Successful commands whose script contains ``match`` print ``stdout`` (instead of their echo lines)."""
    with _lock:
        _state.output_rules.append((match, stdout))


def block_registration(instance_id: str | None = None) -> None:
    """Keep one instance (or, with no id, every instance) from ever registering with SSM."""
    with _lock:
        if instance_id is None:
            _state.blocked_all = True
        else:
            _state.blocked.add(instance_id)


def unblock_registration() -> None:
    with _lock:
        _state.blocked_all = False
        _state.blocked.clear()


def set_require_ssm_role(required: bool) -> None:
    """Whether an instance needs a role with AmazonSSMManagedInstanceCore to register (default: yes)."""
    with _lock:
        _state.require_ssm_role = required


def set_check_network(enabled: bool | None) -> None:
    """Whether commands that connect to brokers need a network path to them (rule 7).

    None (the default): while the MSK emulator is installed. Decided when a command is sent.
    """
    with _lock:
        _state.check_network = enabled


def set_run_scripts(enabled: bool) -> None:
    """Rule 9: run the scripts that end ``Success`` for real and show their output (default: off)."""
    with _lock:
        _state.run_scripts = enabled


def script_machine(instance_id: str) -> script_runner.Machine | None:
    """The throwaway root where rule 9 ran an instance's scripts (None if none ran there)."""
    with _lock:
        world = _state.world
    return world.machines.get(instance_id) if world is not None else None


def sent_commands(region: str | None = None) -> list[dict[str, Any]]:
    """Every command sent since install()/reset(): commandId, region, instanceIds, documentName,
    comment, parameters, script (the ``commands`` parameter joined by newlines) and sentAt."""
    with _lock:
        return [dict(c) for c in _state.sent if region is None or c["region"] == region]


# -- registration (rule 1) ----------------------------------------------------------------------


def _has_ssm_role(instance: Instance) -> bool:
    association = instance.ec2_backend.iam_instance_profile_associations.get(instance.id)
    if association is None:
        return False
    for role in association.iam_instance_profile.roles:
        if any(arn.rsplit("/", 1)[-1] == SSM_CORE_POLICY for arn in role.managed_policies):
            return True
    return False


def _registers_at(instance: Instance) -> float | None:
    """Emulated time at which the instance registers with SSM, or None if it never will."""
    with _lock:
        if _state.blocked_all or instance.id in _state.blocked:
            return None
        require_role = _state.require_ssm_role
    if require_role and not _has_ssm_role(instance):
        return None
    active = profile.active()
    due = instance.__dict__.get("_strict_due")  # strict_ec2: (time, "running") while pending
    if due is not None and due[1] == "running":
        running_at = due[0]
    else:
        created = instance.__dict__.get(_CREATED)
        if created is None:
            running_at = float("-inf")  # launched before install(): take it as long running
        else:
            running_at = created + (active.instance_start if strict_ec2.installed() else 0.0)
    return running_at + active.ssm_registration


def _ping_status(instance: Instance) -> str | None:
    """``Online``, ``ConnectionLost``, or None when the instance is not (or no longer) registered."""
    state = instance._state.name  # strict_ec2 settles the state to the emulated now
    if state == "terminated":
        return None
    at = _registers_at(instance)
    registered = at is not None and clock.now() >= at
    if state == "running" and registered:
        instance.__dict__[_SEEN_ONLINE] = True
        return "Online"
    if state in ("stopping", "stopped", "shutting-down") and (registered or instance.__dict__.get(_SEEN_ONLINE)):
        return "ConnectionLost"
    return None


def _instances(backend: SimpleSystemManagerBackend) -> dict[str, Instance]:
    ec2 = ec2_backends[backend.account_id][backend.region_name]
    return {i.id: i for i in ec2.all_instances()}


def _instance_information(instance: Instance, ping: str) -> dict[str, Any]:
    private_ip = instance.private_ip or ""
    return {
        "InstanceId": instance.id,
        "PingStatus": ping,
        "LastPingDateTime": datetime.fromtimestamp(clock.now(), tz=UTC),
        "AgentVersion": "3.3.1142.0",
        "IsLatestVersion": True,
        "PlatformType": "Linux",
        "PlatformName": "Amazon Linux",
        "PlatformVersion": "2023",
        "ResourceType": "EC2Instance",
        "IPAddress": private_ip,
        "ComputerName": f"ip-{private_ip.replace('.', '-')}.ec2.internal",
        "SourceId": instance.id,
        "SourceType": "AWS::EC2::Instance",
    }


def _filter_values(params: dict[str, Any]) -> dict[str, list[str]]:
    wanted: dict[str, list[str]] = {}
    for f in params.get("InstanceInformationFilterList") or []:
        wanted.setdefault(f["key"], []).extend(f.get("valueSet") or [])
    for f in params.get("Filters") or []:
        wanted.setdefault(f["Key"], []).extend(f.get("Values") or [])
    return wanted


def _matches(instance: Instance, info: dict[str, Any], wanted: dict[str, list[str]]) -> bool:
    tags = {t["key"]: t["value"] for t in instance.get_tags()} if hasattr(instance, "get_tags") else {}
    for key, values in wanted.items():
        if key == "InstanceIds":
            ok = instance.id in values
        elif key == "PingStatus":
            ok = info["PingStatus"] in values
        elif key in ("PlatformTypes", "PlatformType"):
            ok = info["PlatformType"] in values
        elif key in ("ResourceType",):
            ok = info["ResourceType"] in values
        elif key.startswith("tag:"):
            ok = tags.get(key[4:]) in values
        elif key == "tag-key":
            ok = any(v in tags for v in values)
        else:
            raise SSMException("InvalidInstanceInformationFilterValue", f"Unsupported filter key: {key}")
        if not ok:
            return False
    return True


def _describe_instance_information(self: SimpleSystemManagerResponse) -> ActionResult:
    wanted = _filter_values(
        {
            "InstanceInformationFilterList": self._get_param("InstanceInformationFilterList"),
            "Filters": self._get_param("Filters"),
        }
    )
    found = []
    for instance in _instances(self.ssm_backend).values():
        ping = _ping_status(instance)
        if ping is None:
            continue
        info = _instance_information(instance, ping)
        if _matches(instance, info, wanted):
            found.append(info)
    return ActionResult({"InstanceInformationList": found})


# -- commands (rules 2-4) -----------------------------------------------------------------------


def _targets_instance_ids(self: Command) -> list[str]:
    """moto selects every instance of the region when there are no Targets; AWS selects none."""
    if not self.targets:
        return []
    ids = [v for t in self.targets if t.get("Key") == "InstanceIds" for v in t.get("Values", [])]
    others = [t for t in self.targets if t.get("Key") != "InstanceIds"]
    if others:
        saved, self.targets = self.targets, others
        try:
            ids += _orig(Command, "_get_instance_ids_from_targets")(self)
        finally:
            self.targets = saved
    return ids


_ECHO = re.compile(r"""^\s*echo\s+(?:-[neE]+\s+)?(?:"([^"$`\\]*)"|'([^']*)')\s*$""")


def _echo_output(script: str) -> str:
    lines = []
    for line in script.splitlines():
        m = _ECHO.match(line)
        if m:
            lines.append(m.group(1) if m.group(1) is not None else m.group(2))
    return "\n".join(lines) + ("\n" if lines else "")


def _send_command(self: SimpleSystemManagerBackend, *args: Any, **kwargs: Any) -> Command:
    instance_ids = list(kwargs.get("instance_ids") or [])
    instances = _instances(self)
    online = {i for i, inst in instances.items() if _ping_status(inst) == "Online"}
    bad = [i for i in instance_ids if i not in online]
    if bad:
        listed = ", ".join(bad)
        raise SSMException(
            "InvalidInstanceId", f"Instances [[{listed}]] not in a valid state for account {self.account_id}"
        )
    command: Command = _orig(SimpleSystemManagerBackend, "send_command")(self, *args, **kwargs)
    now = clock.now()
    command.instance_ids = [i for i in command.instance_ids if i in online]
    command.requested_date_time = datetime.fromtimestamp(now, tz=UTC)
    command.expires_after = command.requested_date_time + timedelta(seconds=command.timeout_seconds)
    command.target_count = len(command.instance_ids)
    command.invocations = [command.invocation_response(i, "aws:runShellScript") for i in command.instance_ids]
    script = "\n".join((command.parameters or {}).get("commands", []))
    with _lock:
        rule = next((r for r in _state.fail_rules if r.match in script), None)
        if rule is not None:
            _state.fail_rules.remove(rule)
        stdout = next((out for match, out in _state.output_rules if match in script), None)
        check_network = _state.check_network if _state.check_network is not None else msk.installed()
        run_for_real = _state.run_scripts and stdout is None
        _state.sent.append(
            {
                "commandId": command.command_id,
                "region": self.region_name,
                "instanceIds": list(command.instance_ids),
                "documentName": command.document_name,
                "comment": command.comment,
                "parameters": json.loads(json.dumps(command.parameters)),
                "script": script,
                "sentAt": now,
            }
        )
    command.__dict__[_EMU] = {
        "sent_at": now,
        "duration": profile.active().ssm_command,
        "fail": rule,
        "stdout": stdout if stdout is not None else _echo_output(script),
        "script": script,
        "account": self.account_id,
        "region": self.region_name,
        "check_network": check_network,
        "network": {},  # instance id -> network_path.ScriptOutcome | None, taken when first read done
        "kafka": kafka.handles(script),  # rule 8
        "kafka_outcome": {},  # instance id -> kafka.Outcome, taken when first read done
        "kafka_lock": threading.Lock(),  # one run per invocation, however many threads read it at once
        "observed": set(),  # instances whose Success was shown to the Kafka model
        "run_for_real": run_for_real,  # rule 9
        "real_runs": {},  # instance id -> (status, exit code, stdout, stderr) of the real run
    }
    return command


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).isoformat()


def _network_outcome(command: Command, instance_id: str) -> network_path.ScriptOutcome | None:
    """Rule 7: the script's broker connections from this instance, judged once, when first read done."""
    emu = command.__dict__[_EMU]
    if not emu["check_network"]:
        return None
    with _lock:
        if instance_id in emu["network"]:
            return emu["network"][instance_id]
    outcome = network_path.run_script(emu["account"], emu["region"], instance_id, emu["script"])
    with _lock:
        return emu["network"].setdefault(instance_id, outcome)


def _kafka_outcome(command: Command, instance_id: str) -> kafka.Outcome:
    """Rule 8: the script run on the Kafka model, once, when first read done."""
    emu = command.__dict__[_EMU]
    with emu["kafka_lock"]:
        if instance_id not in emu["kafka_outcome"]:
            started = emu["sent_at"] + emu["duration"] * PENDING_FRACTION
            emu["kafka_outcome"][instance_id] = kafka.run_script(
                emu["account"], emu["region"], instance_id, emu["script"], started
            )
        return emu["kafka_outcome"][instance_id]


def _observe(command: Command, instance_id: str) -> None:
    emu = command.__dict__[_EMU]
    with _lock:
        if instance_id in emu["observed"]:
            return
        emu["observed"].add(instance_id)
    kafka.observe_success(emu["account"], emu["region"], instance_id, emu["script"])


def _ending(command: Command, instance_id: str | None) -> tuple[str, int, str, str]:
    """(status, exit code, stdout, stderr) of a finished invocation."""
    emu = command.__dict__[_EMU]
    rule: _FailRule | None = emu["fail"]
    if rule is not None:
        return "Failed", rule.exit_code, "", rule.stderr
    if emu["kafka"] and instance_id:
        ran = _kafka_outcome(command, instance_id)
        return ran.status, ran.exit_code, ran.stdout, ran.stderr
    outcome = _network_outcome(command, instance_id) if instance_id else None
    if outcome is not None and not outcome.ok:
        before = "\n".join(emu["script"].splitlines()[: outcome.failed_line])
        return "Failed", outcome.exit_code, _echo_output(before), outcome.stderr
    if instance_id and emu["run_for_real"]:
        status, code, stdout, stderr = _real_run(command, instance_id)
        if status != "Success":
            return status, code, stdout, stderr
        _observe(command, instance_id)
        return status, code, stdout, stderr
    if instance_id:
        _observe(command, instance_id)
    return "Success", 0, emu["stdout"], ""


# -- real runs (rule 9) --------------------------------------------------------------------------


def _world() -> script_runner.World:
    with _lock:
        if _state.world is None:
            _state.world = script_runner.World(any_cluster=True)
        return _state.world


def _secret_answer(account: str, region: str, instance_id: str, arn: str) -> dict[str, Any]:
    """What GetSecretValue answers the instance for ``arn``: the secret's string, or the refusal."""
    from moto.secretsmanager.models import secretsmanager_backends

    secret_region = arn.split(":")[3]
    # The same decision as for the Kafka tools: the secret exists and is not deleted, and the instance's
    # role may GetSecretValue it and Decrypt its key through Secrets Manager (policies and boundary).
    problem = kafka._read_secret_problem(kafka._machine(account, region, instance_id), arn, secret_region)
    if problem is not None:
        code, _, message = problem.partition(": ")
        if not re.fullmatch(r"[A-Za-z]+Exception", code):
            return {"cli_error": (253, "Unable to locate credentials. You can configure credentials by running "
                                       '"aws configure".')}  # fmt: skip
        return {"error": (code, message)}
    try:
        value = secretsmanager_backends[account][secret_region].get_secret_value(arn, None, None)
    except Exception as exc:  # moto's own refusal, in its words
        return {"error": (type(exc).__name__, str(exc))}
    return {"secret_string": value.get("SecretString", "")}


def _real_run(command: Command, instance_id: str) -> tuple[str, int, str, str]:
    """Rule 9: the script run on the instance's throwaway root, once per invocation."""
    emu = command.__dict__[_EMU]
    with emu["kafka_lock"]:
        if instance_id not in emu["real_runs"]:
            world = _world()
            for arn in sorted(set(_SECRET_ARN.findall(emu["script"]))):
                world.add_secret(arn, **_secret_answer(emu["account"], emu["region"], instance_id, arn))
            run = world.machine(instance_id).run(emu["script"])
            if run.exit_code == 0:
                emu["real_runs"][instance_id] = ("Success", 0, run.stdout, run.stderr)
            else:
                note = (
                    f"{network_path.EMULATOR}: the script exited {run.exit_code} when run for real "
                    "(script_runner), where the model expected success\n"
                )
                emu["real_runs"][instance_id] = ("Failed", run.exit_code, run.stdout, run.stderr + note)
        return emu["real_runs"][instance_id]


def _progress(command: Command, instance_id: str | None) -> dict[str, Any]:
    """The invocation fields of one instance at the emulated now."""
    emu = command.__dict__[_EMU]
    sent, duration = emu["sent_at"], emu["duration"]
    now = clock.now()
    started = sent + duration * PENDING_FRACTION
    fields: dict[str, Any] = {"ExecutionStartDateTime": "", "ExecutionEndDateTime": "", "ExecutionElapsedTime": ""}
    if now >= sent + duration:
        status, code, stdout, stderr = _ending(command, instance_id)
        fields.update(
            Status=status,
            StatusDetails=status,
            ResponseCode=code,
            StandardOutputContent=stdout[:STDOUT_CHARS],  # rule 10
            StandardErrorContent=stderr[:STDERR_CHARS],
            ExecutionStartDateTime=_iso(started),
            ExecutionEndDateTime=_iso(sent + duration),
            ExecutionElapsedTime=f"PT{duration - (started - sent):.3f}S",
        )
    elif now >= started:
        fields.update(
            Status="InProgress",
            StatusDetails="InProgress",
            ResponseCode=-1,
            StandardOutputContent="",
            StandardErrorContent="",
            ExecutionStartDateTime=_iso(started),
            ExecutionElapsedTime=f"PT{now - started:.3f}S",
        )
    else:
        fields.update(
            Status="Pending",
            StatusDetails="Pending",
            ResponseCode=-1,
            StandardOutputContent="",
            StandardErrorContent="",
        )
    return fields


def _get_invocation(self: Command, instance_id: str, plugin_name: str | None) -> dict[str, Any]:
    invocation = _orig(Command, "get_invocation")(self, instance_id, plugin_name)
    if _EMU not in self.__dict__:
        return invocation
    return {**invocation, **_progress(self, instance_id)}


def _response_object(self: Command) -> dict[str, Any]:
    response = _orig(Command, "response_object")(self)
    if _EMU not in self.__dict__:
        return response
    statuses = [_progress(self, i)["Status"] for i in self.instance_ids]
    done = all(s in DONE for s in statuses)  # every invocation of a command has the same timeline
    failed = statuses.count("Failed")
    if not statuses:
        status = "Success"
    elif not done:
        status = statuses[0]
    else:
        status = "Failed" if failed else "Success"
    response.update(
        Status=status,
        StatusDetails=status,
        CompletedCount=len(statuses) if done else 0,
        ErrorCount=failed,
        TargetCount=len(self.instance_ids),
    )
    return response


def _list_command_invocations(self: SimpleSystemManagerResponse) -> ActionResult:
    command_id = self._get_param("CommandId")
    instance_id = self._get_param("InstanceId")
    details = bool(self._get_param("Details"))
    commands = self.ssm_backend.list_commands(command_id, None)
    result = []
    for command in commands:
        for iid in command.instance_ids:
            if instance_id and iid != instance_id:
                continue
            inv = command.get_invocation(iid, None)
            entry: dict[str, Any] = {
                "CommandId": command.command_id,
                "InstanceId": iid,
                "Comment": command.comment,
                "DocumentName": command.document_name,
                "DocumentVersion": "$DEFAULT",
                "RequestedDateTime": command.requested_date_time,
                "Status": inv["Status"],
                "StatusDetails": inv["StatusDetails"],
                "StandardOutputUrl": "",
                "StandardErrorUrl": "",
                "CommandPlugins": [],
            }
            if details:
                output = inv.get("StandardOutputContent", "") + inv.get("StandardErrorContent", "")
                entry["CommandPlugins"] = [
                    {
                        "Name": "aws:runShellScript",
                        "Status": inv["Status"],
                        "StatusDetails": inv["StatusDetails"],
                        "ResponseCode": inv.get("ResponseCode", -1),
                        "Output": output[-2500:],
                    }
                ]
            result.append(entry)
    return ActionResult({"CommandInvocations": result})


# -- EC2 instances: launch time (rule 1) and ClientToken (rule 6) --------------------------------


def _instance_init(self: Instance, *args: Any, **kwargs: Any) -> None:
    _orig(Instance, "__init__")(self, *args, **kwargs)
    self.__dict__[_CREATED] = clock.now()


def _run_instances_response(self: InstanceResponse) -> ActionResult:
    token = self._get_param("ClientToken")
    if token:
        for reservation in self.ec2_backend.reservations.values():
            if any(getattr(i, "client_token", None) == token for i in reservation.instances):
                return ActionResult(reservation)
    return _orig(InstanceResponse, "run_instances")(self)


# -- IAM: AWS managed policies on demand (rule 5) ------------------------------------------------


@lru_cache(maxsize=1)
def _aws_managed_data() -> dict[str, Any]:
    return json.loads(aws_managed_policies_data)


def _attach_role_policy(self: IAMBackend, policy_arn: str, role_name: str) -> None:
    prefix = f"arn:{self.partition}:iam::aws:policy/"
    if policy_arn not in self.managed_policies and policy_arn.startswith(prefix):
        name = policy_arn.rsplit("/", 1)[-1]
        data = _aws_managed_data().get(name)
        if data is not None:
            policy = AWSManagedPolicy.from_data(name, self.account_id, self.region_name, data)
            if policy.arn == policy_arn:
                self.managed_policies[policy.arn] = policy
    return _orig(IAMBackend, "attach_role_policy")(self, policy_arn, role_name)


# -- install / uninstall ------------------------------------------------------------------------

_patches = PatchSet(
    [
        (Instance, "__init__", _instance_init),
        (InstanceResponse, "run_instances", _run_instances_response),
        (Command, "_get_instance_ids_from_targets", _targets_instance_ids),
        (Command, "get_invocation", _get_invocation),
        (Command, "response_object", _response_object),
        (SimpleSystemManagerBackend, "send_command", _send_command),
        (SimpleSystemManagerResponse, "describe_instance_information", _describe_instance_information),
        (SimpleSystemManagerResponse, "list_command_invocations", _list_command_invocations),
        (IAMBackend, "attach_role_policy", _attach_role_policy),
    ],
)
_orig = _patches.original


def installed() -> bool:
    return _patches.installed


def install() -> None:
    """Patch moto to follow the rules above and forget earlier hooks. Idempotent."""
    reset()
    _patches.install()


def uninstall() -> None:
    """Restore every patched moto attribute (and delete rule 9's throwaway roots). Idempotent."""
    _patches.uninstall()
    with _lock:
        _close_world(_state)
