"""The commands: one ``cmd_<name>(args) -> exit status`` per ``msk-pair <name>``.

They read what the user handed over (inputs.py), talk to AWS or the emulator server (backends.py),
find deployments by tag (deployments.py) and show progress (progress.py).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from msk_pair.cli import deployments as deployments_mod
from msk_pair.cli.backends import (
    Backend,
    Clients,
    aws_errors,
    describe,
    elapsed_from,
    execution_name,
    executions,
    input_of,
    mode_of,
    new_events,
    regions_of,
)
from msk_pair.cli.errors import EXIT_FAILED, EXIT_OK, CliError
from msk_pair.cli.inputs import load_latency_profile, parse_fail, read_input, validate_locally
from msk_pair.cli.progress import ProgressPrinter, Tracker, describe_cause, fmt_duration, safe_text

ENDED_BADLY = ("FAILED", "TIMED_OUT", "ABORTED")


def _out(text: str = "", file: TextIO | None = None) -> None:
    """print(), with ASCII marks where the output's encoding has no glyphs."""
    stream = file or sys.stdout
    print(safe_text(text, getattr(stream, "encoding", None)), file=stream, flush=True)


def _json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")


# -- following an execution ------------------------------------------------------------------------
def follow(backend: Backend, execution_arn: str, out: TextIO, verbose: bool = False) -> tuple[dict[str, Any], Tracker]:
    """Print live progress until the execution ends; returns its final description and what was seen."""
    sfn = backend.sfn_for(execution_arn)
    desc = describe(backend, execution_arn)
    printer = ProgressPrinter(out, elapsed=elapsed_from(desc["startDate"]), verbose=verbose)
    seen = 0
    try:
        while True:
            with aws_errors(execution_arn):
                desc = sfn.describe_execution(executionArn=execution_arn)
                events = new_events(sfn, execution_arn, seen)
            for event in events:
                printer(event)
                seen = event["id"]
            if desc["status"] != "RUNNING" and (printer.result or not events):
                break  # ended, and the history has nothing more to say
            time.sleep(backend.poll_seconds)
    except KeyboardInterrupt:
        printer.finish()
        _out(
            f"\nstopped following; the execution goes on: msk-pair follow {execution_arn}{backend.flags()}",
            file=out,
        )
        raise
    printer.finish()
    return desc, printer.tracker


def _failure_lines(desc: dict[str, Any], tracker: Tracker) -> list[str]:
    lines = [f"execution {desc['status']}: {desc.get('error') or ''}".rstrip()]
    if tracker.failed_step:
        name, why = tracker.failed_step
        lines.append(f"failed step: {name}: {why}")
    if desc.get("cause"):
        lines.append(f"cause: {describe_cause(desc.get('cause'))}")
    if tracker.rollback:
        lines.append(f"rollback: {tracker.rollback}")
    return lines


def report(backend: Backend, desc: dict[str, Any], tracker: Tracker, out: TextIO) -> int:
    """After following: what a Kafka user needs on success, the failed step and the rollback on failure."""
    arn = desc["executionArn"]
    _out(file=out)
    if desc["status"] == "SUCCEEDED":
        request = input_of(desc)
        output = json.loads(desc.get("output") or "null")
        if mode_of(desc) != "teardown" and isinstance(output, dict) and output.get("primary"):
            from msk_pair import outputs as outputs_mod

            with contextlib.suppress(outputs_mod.OutputError):
                _out(outputs_mod.render_text(output, username=request.get("scramUsername")), file=out)
            _out(f"mm2.properties: msk-pair outputs {arn}{backend.flags()} --mm2 mm2.properties", file=out)
        return EXIT_OK
    for line in _failure_lines(desc, tracker):
        _out(line, file=out)
    _out(f"details:     msk-pair status {arn}{backend.flags()}", file=out)
    return EXIT_FAILED


def _start(backend: Backend, request: dict[str, Any], name: str, args: argparse.Namespace) -> int:
    sfn = backend.client("stepfunctions")
    sm_arn = backend.state_machine_arn()
    with aws_errors():
        started = sfn.start_execution(stateMachineArn=sm_arn, name=name, input=json.dumps(request))
    arn = started["executionArn"]
    as_json = getattr(args, "json", False)
    progress = sys.stderr if as_json else sys.stdout
    if getattr(args, "no_follow", False):
        if as_json:
            _json(
                {
                    "executionArn": arn,
                    "startDate": started["startDate"],
                    "deploymentName": request.get("deploymentName"),
                    "mode": request.get("mode") or "provision",
                    "stateMachineArn": sm_arn,
                }
            )
            return EXIT_OK
        flags = backend.flags()
        _out(f"started on {backend.where}: {arn}")
        _out(f"follow it: msk-pair follow {arn}{flags}\nstatus:    msk-pair status {arn}{flags}")
        return EXIT_OK
    _out(f"started on {backend.where}: {arn}", file=progress)
    desc, tracker = follow(backend, arn, progress, verbose=getattr(args, "verbose", False))
    if as_json:
        _json(_execution_doc(desc, tracker))
        return EXIT_OK if desc["status"] == "SUCCEEDED" else EXIT_FAILED
    return report(backend, desc, tracker, sys.stdout)


def _execution_doc(desc: dict[str, Any], tracker: Tracker | None = None) -> dict[str, Any]:
    output = desc.get("output")
    doc: dict[str, Any] = {
        "executionArn": desc["executionArn"],
        "deploymentName": input_of(desc).get("deploymentName"),
        "mode": mode_of(desc),
        "status": desc["status"],
        "startDate": desc["startDate"],
        "stopDate": desc.get("stopDate"),
        "output": json.loads(output) if output else None,
        "error": desc.get("error"),
        "cause": describe_cause(desc.get("cause")) or None,
    }
    if tracker is not None:
        doc["failedStep"] = (
            dict(zip(("name", "why"), tracker.failed_step, strict=True)) if tracker.failed_step else None
        )
        doc["rollback"] = tracker.rollback
    return doc


# -- start, follow ---------------------------------------------------------------------------------
def _plan(config: dict[str, Any]) -> Any:
    """The state machine's Plan changes step, run here against the same account (or the emulator server)."""
    from mskpair_core.plan import make_plan

    with aws_errors():
        return make_plan(config)


CHANGE_MARKS = {"unchanged": " ", "in-place": "~", "create": "+", "replace": "-/+"}


def render_plan(plan: Any) -> list[str]:
    """The plan as `terraform plan` shows one: a mark per field, deployed -> requested."""
    if not plan.exists:
        return [f"{plan.deployment} does not exist yet: everything will be created (a first provisioning)."]
    lines = [f"{plan.deployment} exists. Compared with what is deployed (found by its tags):"]
    for f in plan.fields:
        where = f" ({f.region})" if f.region else ""
        if f.change == "unchanged":
            lines.append(f"    {f.field}{where}: {f.deployed}")
            continue
        arrow = f"{f.deployed} -> {f.requested}" if f.deployed is not None else f"{f.requested}"
        lines.append(f"{CHANGE_MARKS[f.change]:>3} {f.field}{where}: {arrow}  [{f.change}: {f.why}]")
    lines += [f"  * {note}" for note in plan.notes]
    counts = {kind: sum(1 for f in plan.fields if f.change == kind) for kind in ("in-place", "create", "replace")}
    lines.append(
        f"Plan: {counts['in-place']} to change in place, {counts['create']} to create, "
        f"{counts['replace']} needing a replacement."
    )
    return lines


def cmd_plan(args: argparse.Namespace) -> int:
    request = read_input(args.input)
    Backend(args)  # the account (or the emulator server) to read from
    with aws_errors():
        config = validate_locally(request, args.input)
    plan = _plan(config)
    if args.json:
        _json(plan.to_dict())
    else:
        for line in render_plan(plan):
            _out(line)
        if plan.replacements:
            _out(f"\nstart would refuse this: {plan.refusal()}")
    return EXIT_FAILED if plan.replacements else EXIT_OK


def _confirm_plan(plan: Any, args: argparse.Namespace) -> None:
    """Show the plan; refuse replacements; ask before changing a deployment that exists (``--yes`` skips)."""
    out = sys.stderr if getattr(args, "json", False) else sys.stdout
    for line in render_plan(plan):
        _out(line, file=out)
    if plan.replacements:
        raise CliError(plan.refusal(), EXIT_FAILED)
    changing = plan.exists and any(f.change != "unchanged" for f in plan.fields)
    if not changing or args.yes:
        return
    if not sys.stdin.isatty():
        raise CliError(
            f"refusing to change {plan.deployment} without confirmation: stdin is not a terminal; "
            "pass --yes to apply the plan without asking"
        )
    try:
        answer = input("Apply these changes? Only 'yes' is accepted: ")
    except EOFError:
        answer = ""
    if answer.strip() != "yes":
        raise CliError("cancelled: nothing was started", EXIT_FAILED)


def cmd_start(args: argparse.Namespace) -> int:
    request = read_input(args.input)
    backend = Backend(args)
    with aws_errors():
        config = validate_locally(request, args.input)
    if (config.get("mode") or "provision") == "provision":
        _confirm_plan(_plan(config), args)
    return _start(backend, request, execution_name(str(request.get("deploymentName"))), args)


def cmd_follow(args: argparse.Namespace) -> int:
    backend = Backend(args)
    desc, tracker = follow(backend, args.execution_arn, sys.stdout, verbose=args.verbose)
    return report(backend, desc, tracker, sys.stdout)


# -- what exists now -------------------------------------------------------------------------------
def _latest(backend: Backend, deployment: str) -> dict[str, Any] | None:
    return next(executions(backend, deployment), None)


def _now(backend: Backend, deployment: str, desc: dict[str, Any] | None) -> deployments_mod.Deployment:
    """The deployment as its tags say now, in the regions its execution names (else every enabled region)."""
    regions = list(regions_of(desc).values()) if desc else []
    if len(regions) < 2:
        regions += deployments_mod.scan_regions(backend)
    return deployments_mod.one(backend, deployment, regions)


def _resource_lines(d: deployments_mod.Deployment, running: bool = False) -> list[str]:
    if not d.exists and running:
        return ["  nothing yet: the running execution has not made anything so far"]
    if not d.exists:
        return [f"  nothing: {d.name} is gone (torn down or rolled back); nothing is tagged with it"]
    roles = {region: role for role, region in d.roles().items()}
    lines = [
        f"  {roles.get(region, '?'):9} {region}: {d.summary(region)}"
        for region in sorted(d.regions)
        if d.regions[region]
    ]
    if d.iam:
        lines.append(f"  {'IAM':9} {', '.join(d.iam)}")
    return lines


def cmd_status(args: argparse.Namespace) -> int:
    target = args.target or args.deployment
    if not target or (args.target and args.deployment):
        raise CliError("give an EXECUTION_ARN, a deployment NAME, or --deployment NAME")
    backend = Backend(args)
    by_name = not target.startswith("arn:")
    desc = _latest(backend, target) if by_name else describe(backend, target)
    deployment = target if by_name else input_of(desc).get("deploymentName")
    tracker = None
    if desc is not None:
        sfn = backend.sfn_for(desc["executionArn"])
        with aws_errors(desc["executionArn"]):
            events = new_events(sfn, desc["executionArn"], 0)
        tracker = Tracker(elapsed=elapsed_from(desc["startDate"]), live=True)
        for event in events:
            tracker(event)
    now = _now(backend, deployment, desc) if isinstance(deployment, str) and deployment else None
    provisioned = desc is not None and mode_of(desc) != "teardown" and desc["status"] == "SUCCEEDED"
    running = desc is not None and desc["status"] == "RUNNING"
    gone = now is not None and not now.exists and not running and (by_name or provisioned)
    failed = desc is not None and desc["status"] in ENDED_BADLY
    status = EXIT_FAILED if failed or gone else EXIT_OK

    if args.json:
        doc: dict[str, Any] = {"deploymentName": deployment, "execution": None}
        if desc is not None and tracker is not None:
            doc["execution"] = {
                **_execution_doc(desc, tracker),
                "phase": tracker.phase,
                "elapsedSeconds": round(tracker.now),
                "running": [step.to_dict(tracker.now) for step in tracker.running()],
            }
        doc["now"] = now.to_dict() if now else None
        _json(doc)
        return status

    _out(f"deployment: {deployment or '?'}")
    if desc is None or tracker is None:
        _out("execution:  none found (Step Functions keeps executions 90 days after they end)")
    else:
        _out(f"execution:  {desc['executionArn']} ({mode_of(desc)})")
        _out(f"status:     {desc['status']}")
        _out(f"started:    {desc['startDate'].isoformat(timespec='seconds')}")
        end = desc.get("stopDate")
        if end:
            _out(f"took:       {fmt_duration((end - desc['startDate']).total_seconds())}")
        else:
            _out(f"elapsed:    {fmt_duration(tracker.now)}")
        if desc["status"] == "RUNNING":
            _out(f"phase:      {tracker.phase}")
            running = tracker.running()
            for i, step in enumerate(running):
                mark = "⋯" if step.kind == "loop" else "▶"
                _out(f"{'now:' if i == 0 else '':12}{mark} {step.describe(tracker.now)}")
        if tracker.failed_step:
            name, why = tracker.failed_step
            _out(f"failed:     {name}: {why}")
        if tracker.rollback:
            _out(f"rollback:   {tracker.rollback}")
        if desc.get("error"):
            _out(f"error:      {desc['error']}")
            _out(f"cause:      {describe_cause(desc.get('cause'))}")
    if now is not None:
        _out(f"now in the account (tag msk-pair:deployment={deployment}):")
        for line in _resource_lines(now, running):
            _out(line)
    return status


def _check_current(backend: Backend, output: dict[str, Any], deployment: str, desc: dict[str, Any]) -> None:
    """Refuse (exit 1) when the clusters this output names no longer exist: never print stale strings."""
    regions = [side["region"] for role in ("primary", "secondary") if isinstance(side := output.get(role), dict)]
    now = deployments_mod.one(backend, deployment, regions)
    live = {r.arn for r in now.clusters().values()}
    missing = [
        f"{role} cluster in {output[role].get('region')}"
        for role in ("primary", "secondary")
        if isinstance(output.get(role), dict) and output[role].get("clusterArn") not in live
    ]
    if not missing:
        return
    if not now.exists:
        raise CliError(
            f"deployment {deployment} is gone: nothing is tagged with it any more (torn down or rolled back "
            f"after {desc['executionArn']}); nothing to connect to",
            EXIT_FAILED,
        )
    raise CliError(
        f"deployment {deployment} is not what {desc['executionArn']} made any more: its "
        f"{' and '.join(missing)} no longer exist (see `msk-pair status {deployment}`)",
        EXIT_FAILED,
    )


def cmd_outputs(args: argparse.Namespace) -> int:
    from msk_pair import outputs as outputs_mod

    if bool(args.execution_arn) == bool(args.deployment):
        raise CliError("give either an EXECUTION_ARN or --deployment NAME")
    backend = Backend(args)
    if args.execution_arn:
        desc = describe(backend, args.execution_arn)
    else:
        desc = next(
            (
                found
                for found in executions(backend, args.deployment)
                if found["status"] == "SUCCEEDED" and mode_of(found) != "teardown"
            ),
            None,
        )
        if desc is None:
            raise CliError(f"no successful provisioning of deployment {args.deployment!r} found", status=EXIT_FAILED)
    if desc["status"] != "SUCCEEDED":
        raise CliError(f"execution {desc['executionArn']} is {desc['status']}: it has no outputs", EXIT_FAILED)
    if mode_of(desc) == "teardown":
        raise CliError(f"execution {desc['executionArn']} is a teardown: it has no outputs", EXIT_FAILED)
    request = input_of(desc)
    output = json.loads(desc.get("output") or "null")
    if not isinstance(output, dict):
        raise CliError(f"execution {desc['executionArn']} has no output", EXIT_FAILED)
    _check_current(backend, output, str(request.get("deploymentName")), desc)
    try:
        if args.json:
            text = json.dumps(output, indent=2) + "\n"
        else:
            text = outputs_mod.render_text(output, username=request.get("scramUsername"), mm2_file=args.mm2)
        files = {
            "--mm2": (args.mm2, outputs_mod.mm2_properties(output, request.get("replication"))),
            "--prometheus": (getattr(args, "prometheus", None), outputs_mod.prometheus_config(output)),
        }
    except outputs_mod.OutputError as exc:
        raise CliError(str(exc), EXIT_FAILED) from None
    for option, (path, content) in files.items():
        if path:
            try:
                Path(path).write_text(content)
            except OSError as exc:
                raise CliError(f"cannot write {option} {path}: {exc.strerror or exc}") from None
    print(f"execution {desc['executionArn']}\n", file=sys.stderr)
    sys.stdout.write(safe_text(text, getattr(sys.stdout, "encoding", None)))
    for path, _content in files.values():
        if path:
            _out(f"\nwrote {path}")
    return EXIT_OK


# -- teardown --------------------------------------------------------------------------------------
def _teardown_regions(backend: Backend, args: argparse.Namespace, last: dict[str, Any] | None) -> dict[str, str] | None:
    """The deployment's two regions: the flags, else its latest execution, else its tags; None if nothing exists."""
    given = {"primary": args.primary_region, "secondary": args.secondary_region}
    if all(given.values()):
        return given
    known = regions_of(last) if last else {}
    if len(known) < 2:
        scanned = deployments_mod.one(backend, args.deployment, deployments_mod.scan_regions(backend))
        if not scanned.exists:
            return None
        known = {**scanned.roles(), **known}
    regions = {role: given[role] or known.get(role) for role in ("primary", "secondary")}
    missing = [role for role, region in regions.items() if not region]
    if missing:
        raise CliError(
            f"cannot tell the {' and '.join(missing)} region of {args.deployment}: pass "
            + " and ".join(f"--{role}-region" for role in missing)
        )
    return {role: str(region) for role, region in regions.items()}


def _confirm(args: argparse.Namespace) -> None:
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise CliError(
            f"refusing to delete {args.deployment} without confirmation: stdin is not a terminal; "
            "pass --yes to delete without asking"
        )
    try:
        answer = input(f"Delete all of this? Type the deployment name ({args.deployment}) to confirm: ")
    except EOFError:
        answer = ""
    if answer.strip() != args.deployment:
        raise CliError("cancelled: nothing was deleted", EXIT_FAILED)


def cmd_teardown(args: argparse.Namespace) -> int:
    backend = Backend(args)
    last = _latest(backend, args.deployment)
    if last is not None and last["status"] == "RUNNING":
        raise CliError(
            f"{last['executionArn']} is still running on {args.deployment}: let it end first "
            f"(msk-pair follow {last['executionArn']}{backend.flags()}), or stop it with "
            "`aws stepfunctions stop-execution`, then tear down"
        )
    regions = _teardown_regions(backend, args, last)
    now = deployments_mod.one(backend, args.deployment, list(regions.values())) if regions else None
    if regions is None or now is None or not now.exists:
        where = ", ".join(regions.values()) if regions else "any enabled region"
        _out(f"nothing to delete: nothing is tagged msk-pair:deployment={args.deployment} in {where} or IAM")
        return EXIT_OK
    _out(f"teardown of {args.deployment} deletes everything tagged msk-pair:deployment={args.deployment}:")
    for line in _resource_lines(now):
        _out(line)
    _confirm(args)
    request = {
        "mode": "teardown",
        "deploymentName": args.deployment,
        "primary": {"region": regions["primary"]},
        "secondary": {"region": regions["secondary"]},
    }
    with aws_errors():
        validate_locally(request, "teardown")
    status = _start(backend, request, execution_name(args.deployment, "-teardown"), args)
    if status == EXIT_OK and not args.no_follow:
        left = deployments_mod.one(backend, args.deployment, list(regions.values()))
        if left.exists:
            _out(f"still tagged with {args.deployment}:")
            for line in _resource_lines(left):
                _out(line)
            return EXIT_FAILED
        _out(
            f"nothing left tagged msk-pair:deployment={args.deployment} in "
            f"{regions['primary']}, {regions['secondary']} or IAM"
        )
    return status


# -- list ------------------------------------------------------------------------------------------
def cmd_list(args: argparse.Namespace) -> int:
    backend = Backend(args)
    backend.state_machine_arn()  # no stack, no point looking further
    regions = args.regions.split(",") if args.regions else deployments_mod.scan_regions(backend)
    found = deployments_mod.find(backend, None, regions)
    latest: dict[str, dict[str, Any]] = {}
    for desc in executions(backend):
        name = input_of(desc).get("deploymentName")
        if isinstance(name, str) and name in found and name not in latest:
            latest[name] = desc
    rows = []
    for name, d in found.items():
        roles = d.roles()
        clusters = d.clusters()
        last = latest.get(name)
        sides = {
            role: {"region": roles.get(role), "cluster": clusters[role].state if role in clusters else None}
            for role in ("primary", "secondary")
        }
        rows.append({**d.to_dict(), **sides, "latestExecution": _execution_doc(last) if last else None})
    if args.json:
        _json(rows)
        return EXIT_OK
    if not rows:
        where = ", ".join(regions) if len(regions) <= 3 else f"the {len(regions)} enabled regions with MSK"
        _out(f"no deployments: nothing is tagged msk-pair:deployment in {where} or IAM")
        return EXIT_OK
    header = ("DEPLOYMENT", "STATE", "PRIMARY", "SECONDARY", "LATEST EXECUTION")
    table = [header]
    for row in rows:
        last = row["latestExecution"]
        table.append(
            (
                row["deploymentName"],
                row["state"],
                _side(row["primary"]),
                _side(row["secondary"]),
                f"{last['status']} {last['mode']} {last['startDate']:%Y-%m-%d %H:%M} {last['executionArn']}"
                if last
                else "-",
            )
        )
    widths = [max(len(str(r[i])) for r in table) for i in range(len(header) - 1)]
    for r in table:
        _out("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + str(r[-1]))
    return EXIT_OK


def _side(side: dict[str, Any]) -> str:
    if not side["region"]:
        return "-"
    return f"{side['region']} ({side['cluster'] or 'no cluster'})"


# -- the emulator ----------------------------------------------------------------------------------
def _embedded() -> None:
    """The in-process emulator serves every AWS call of this process: no endpoint or profile may send one elsewhere.

    (moto intercepts requests to AWS's own endpoints; AWS_ENDPOINT_URL, set for LocalStack or an emulator
    server, would route the handlers' calls past it.)
    """
    for key in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL") or k == "AWS_PROFILE"]:
        del os.environ[key]


def cmd_serve(args: argparse.Namespace) -> int:
    from msk_pair.emulator.server import serve

    profile = load_latency_profile(args.latency_profile)
    faults = parse_fail(args.fail)
    return serve(
        host=args.host,
        port=args.port,
        profile=profile,
        pace=args.pace,
        log_level=args.log_level,
        faults=[f"{function}:{role}" if role else function for function, role in faults],
    )


def cmd_run(args: argparse.Namespace) -> int:
    if not args.local:
        raise CliError("`run` is the one-shot emulator run and needs --local; on AWS use `msk-pair start FILE`")
    request = read_input(args.input)
    profile = load_latency_profile(args.latency_profile)
    faults = parse_fail(args.fail)
    from msk_pair.emulator.engine import Emulator
    from msk_pair.emulator.server import emulated_timestamps

    progress = sys.stderr if args.json else sys.stdout
    _embedded()
    with Emulator(profile=profile, pace=args.pace, log_level=args.log_level) as emu:
        validate_locally(request, args.input)  # the same one-line error as `start` for a bad file
        for function, role in faults:
            emu.faults.add(function, role=role, times=None)
        restore = emulated_timestamps()  # history timestamps in emulated time: elapsed times are the workflow's
        emu.clock.catch_up()
        started = dt.datetime.fromtimestamp(emu.clock.latest(), dt.UTC)
        printer = ProgressPrinter(progress, elapsed=elapsed_from(started), verbose=args.verbose)
        _out(f"msk-pair: starting on the embedded emulator: {emu.state_machine_arn}", file=progress)
        try:
            result = emu.run(request, on_event=printer)
        finally:
            restore()
            printer.finish()
        deployment = str(request.get("deploymentName"))
        regions = [request[role]["region"] for role in ("primary", "secondary")]
        left = _left_behind(deployment, regions)
        if args.json:
            _json(
                {
                    "status": result.status,
                    "output": result.output,
                    "error": result.error,
                    "cause": describe_cause(result.cause) or None,
                    "leftBehind": left.to_dict() if left.exists else None,
                }
            )
        else:
            _run_summary(result, printer.tracker, deployment, regions, left)
    if args.expect_rollback:
        return _rollback_verdict(result, printer.tracker, deployment, regions, left)
    return EXIT_OK if result.status == "SUCCEEDED" else EXIT_FAILED


def _left_behind(deployment: str, regions: list[str]) -> deployments_mod.Deployment:
    """What is still tagged with the deployment on the embedded emulator (boto3's default session, moto's)."""
    import boto3

    session = boto3.session.Session()
    return deployments_mod.one(Clients(session, session.region_name), deployment, regions)


def _run_summary(
    result: Any, tracker: Tracker, deployment: str, regions: list[str], left: deployments_mod.Deployment
) -> None:
    _out()
    if result.status == "SUCCEEDED":
        from msk_pair import outputs as outputs_mod

        try:
            _out(outputs_mod.render_text(result.output, username=None))
        except outputs_mod.OutputError:
            _out(json.dumps(result.output, indent=2))
        _out(
            "This emulator ends with the run. To keep a deployment to query (outputs, status, teardown), run "
            "`msk-pair emulator serve` and `msk-pair start FILE --local`; --json prints the raw output."
        )
        return
    _out(f"execution {result.status}: {result.error or ''}".rstrip())
    if tracker.failed_step:
        _out(f"failed step: {': '.join(tracker.failed_step)}")
    if result.cause:
        _out(f"cause: {describe_cause(result.cause)}")
    if tracker.rollback:
        _out(f"rollback: {tracker.rollback}")
    if left.exists:
        _out(f"still tagged msk-pair:deployment={deployment}:")
        for line in _resource_lines(left):
            _out(line)
    elif tracker.rolling_back:
        _out(f"nothing left tagged msk-pair:deployment={deployment} in {', '.join(regions)} or IAM")


def _rollback_verdict(
    result: Any, tracker: Tracker, deployment: str, regions: list[str], left: deployments_mod.Deployment
) -> int:
    """``--expect-rollback``: success means the execution failed, rolled back, and left nothing."""
    if result.status == "FAILED" and tracker.rolling_back and tracker.teardown_completed and not left.exists:
        step = f" at {tracker.failed_step[0]}" if tracker.failed_step else ""
        _out(
            f"rollback verified: the execution failed{step} as injected, rolled back both regions, and nothing "
            f"tagged msk-pair:deployment={deployment} is left in {', '.join(regions)} or IAM"
        )
        return EXIT_OK
    why = (
        "the execution succeeded"
        if result.status == "SUCCEEDED"
        else "it did not roll back"
        if not tracker.rolling_back
        else "resources are left behind"
        if left.exists
        else "the rollback did not complete"
    )
    _out(f"rollback NOT verified: {why}", file=sys.stderr)
    return EXIT_FAILED


def cmd_validate(args: argparse.Namespace) -> int:
    from moto import mock_aws

    request = read_input(args.input)
    # Offline: the availability zones of each region are moto's copy of EC2's (no AWS account needed).
    _embedded()
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    with mock_aws():
        config = validate_locally(request, args.input)
    print(json.dumps(config, indent=2))
    return EXIT_OK
