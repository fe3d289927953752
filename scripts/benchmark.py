#!/usr/bin/env python
"""Benchmark: how close the workflow comes to its critical path, and what a run costs.

Runs the real state machine (statemachine/msk_pair.asl.json, with the real handlers) on the
embedded emulator with a latency profile of emulated AWS durations, first a provisioning of
events/region-pair.json, then a teardown of the same deployment, and prints for each:

- the makespan in emulated minutes, the critical-path floor computed from the same profile
  (:func:`provisioning_floor`, :func:`teardown_floor`) and their ratio, against the targets;
- the sequential plan of the manual guide (one region after the other, everything in sequence),
  computed from the profile (:func:`provisioning_baseline`, :func:`teardown_baseline`), and our
  makespan as a fraction of it;
- state transitions (Standard workflows bill per transition), Lambda invocations, and the Lambda
  seconds spent waiting (emulated time that passed inside invocations: 0 when no Lambda sleeps);
- the workflow's cost per run, and the hourly cost of what it builds (src/msk_pair/pricing.py).

    .venv/bin/python scripts/benchmark.py                      # the table
    .venv/bin/python scripts/benchmark.py --json               # the same figures as JSON
    .venv/bin/python scripts/benchmark.py --profile my.json --poll 30 --no-fast

Emulated time costs no real time: the whole benchmark takes seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import logging
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from msk_pair import pricing  # noqa: E402
from msk_pair.emulator.profile import FAST, LatencyProfile  # noqa: E402

DEFAULT_PROFILE = ROOT / "benchmarks" / "latency-profile.json"
SAMPLE_INPUT = ROOT / "events" / "region-pair.json"

TARGET_PROVISION_RATIO = 1.10
TARGET_TEARDOWN_RATIO = 1.15
TARGET_PROVISION_TRANSITIONS = 300  # strictly fewer, with a 40-minute cluster and 60-second polls
TARGET_WAITING_LAMBDA_SECONDS = 0.0
TARGET_ROLLBACK_RATIO = 1.10  # a failure while the clusters are CREATING: rollback makespan over its floor
ROLLBACK_FAILURE_MINUTES = (1, 10, 30)  # minutes into the clusters' creation

# The verification after ACTIVE runs the smoke test and the cross-region check as one command;
# the guide's sequential plan does both as separate steps (see guide_plan).
VERIFY_FUNCTION = "ClientVerifyFunction"


# -- the floor and the baseline: small explicit formulas over the profile ------------------------
# Every step that is only API calls (create a VPC, a key, a secret, a security group, associate a
# secret, read the bootstrap brokers, routes...) takes no modeled time: the emulator gives AWS API
# calls zero latency, and on AWS they take seconds against tens of minutes. Only the durations of
# the latency profile count, all in seconds.


def provisioning_floor(p: LatencyProfile, replication: bool = True) -> dict[str, float]:
    """The critical path of a provisioning, per the state machine's dependencies (both regions alike).

    Create networks (Parallel: both VPCs + the shared client role), then Build (Parallel: per region
    cluster → key/secret → client group → client launch → SSM online → bootstrap → wait ACTIVE →
    associate → bootstrap brokers → smoke test; and the peering chain):
    """
    network = 0.0  # VPC, subnets, gateway, routes, client role: API calls only
    # The client's own chain runs while the cluster is CREATING; it only matters if it is longer:
    # the new instance profile must propagate before RunInstances accepts it, the instance starts,
    # its SSM agent registers, then the bootstrap command (Java, Kafka client, truststore) runs.
    client_chain = p.instance_profile_propagation + p.instance_start + p.ssm_registration + p.ssm_command
    # What must follow ACTIVE: associate the secret + read the bootstrap brokers (API calls, ~0),
    # then one SSM command on the bootstrapped client (the smoke test against its own cluster; the
    # state machine runs the cross-region check in the same command).
    verify = 0.0 + p.ssm_command
    # Replication (replication.engine mm2, the default) needs the verified pair: then MirrorMaker 2's start on
    # the secondary client and the canary on the primary client, side by side (one SSM command each), then the
    # check on the secondary (one command: the canary, then the offset sync). MM2's own start-up and the
    # replication happen inside those commands' durations (the emulator's SSM command is ssm_command long).
    replicate = 2 * p.ssm_command if replication else 0.0
    after_active = verify + replicate
    region = network + max(p.cluster_create, client_chain) + after_active
    # The peering needs only the two networks: request, visible in the accepter region, accept, active.
    peering = network + p.peering_visible + p.peering_activate
    return {
        "network": network,
        "cluster": p.cluster_create,
        "client_chain": client_chain,
        "after_active": after_active,
        "replication": replicate,
        "region": region,
        "peering": peering,
        "total": max(region, peering),
    }


def teardown_floor(p: LatencyProfile) -> dict[str, float]:
    """The critical path of a teardown (both regions alike, side by side).

    Peering deletion (~0), then per region: start the cluster deletion; terminate the client and
    delete its group meanwhile; once the cluster is gone, its broker network interfaces linger, and
    the subnets, groups and VPC can only go after them (and after the client's interface); IAM last (~0).
    """
    cluster_path = p.cluster_delete + p.cluster_eni_linger  # cluster gone, then its ENIs released
    client_path = p.instance_terminate  # client terminated (its ENI released), then its group (~0)
    network = max(cluster_path, client_path)  # the VPC goes when both are done (~0 itself)
    return {"cluster_path": cluster_path, "client_path": client_path, "total": network}


def provisioning_baseline(
    p: LatencyProfile, cross_region_checks: int = 0, replication_steps: int = 0
) -> dict[str, float]:
    """The manual guide's order: everything in sequence, one region after the other, then peering.

    Per region: network (~0), cluster create + wait until ACTIVE, client start + SSM registration,
    bootstrap command, secret + association (~0), smoke test. The IAM role is global: made (and
    propagated) once. ``cross_region_checks`` SSM commands are added at the end when the state machine
    does that work too (one per region), so both plans do the same work; ``replication_steps`` more for
    MirrorMaker 2 as the guide's next documents do it by hand (start it, produce the canary, read it back).
    """
    per_region = 0.0 + p.cluster_create + p.instance_start + p.ssm_registration + p.ssm_command + 0.0 + p.ssm_command
    peering = p.peering_visible + p.peering_activate
    replication = replication_steps * p.ssm_command
    total = (
        p.instance_profile_propagation + 2 * per_region + peering + cross_region_checks * p.ssm_command + replication
    )
    return {"per_region": per_region, "peering": peering, "replication": replication, "total": total}


def teardown_baseline(p: LatencyProfile) -> dict[str, float]:
    """Sequential teardown, one region after the other: terminate the client, delete the cluster and
    wait until it is gone, wait out its network interfaces, delete the network. Peering and IAM ~0."""
    per_region = p.instance_terminate + p.cluster_delete + p.cluster_eni_linger
    return {"per_region": per_region, "total": 2 * per_region}


def rollback_floor(p: LatencyProfile, failed_after: float) -> dict[str, float]:
    """The shortest a rollback can take when the execution fails ``failed_after`` seconds into the clusters'
    creation: MSK refuses to delete a CREATING cluster, so it must finish creating, then be deleted, then its
    broker network interfaces linger before the network can go. Everything else is shorter and runs meanwhile.
    """
    remaining = max(0.0, p.cluster_create - failed_after)
    cluster_path = remaining + p.cluster_delete + p.cluster_eni_linger
    client_path = p.instance_terminate
    return {
        "remaining_create": remaining,
        "cluster_delete": p.cluster_delete,
        "eni_linger": p.cluster_eni_linger,
        "total": max(cluster_path, client_path),
    }


# -- reading the state machine -------------------------------------------------------------------


def asl_functions(definition: dict[str, Any]) -> set[str]:
    """Logical ids of every Lambda function the ASL calls (``${<Id>Arn}`` or an ARN), nested branches too."""
    found: set[str] = set()

    def walk(states: dict[str, Any]) -> None:
        for state in states.values():
            resource = state.get("Resource", "")
            if resource.startswith("${") and resource.endswith("Arn}"):
                found.add(resource[2:-4])
            elif resource.startswith("arn:aws:lambda:"):
                found.add(resource.rsplit(":", 1)[-1])
            for branch in state.get("Branches", []):
                walk(branch.get("States", {}))

    walk(definition.get("States", {}))
    return found


def lambda_memory(template: dict[str, Any]) -> dict[str, int]:
    """MemorySize per function of the template (Globals, overridden per function)."""
    default = int(template.get("Globals", {}).get("Function", {}).get("MemorySize", 128))
    return {
        logical_id: int(res.get("Properties", {}).get("MemorySize", default))
        for logical_id, res in template["Resources"].items()
        if res["Type"] == "AWS::Serverless::Function"
    }


# -- measuring a run -----------------------------------------------------------------------------


@dataclass
class RunFigures:
    mode: str
    status: str
    makespan: float  # emulated seconds
    floor: dict[str, float]
    baseline: dict[str, float]
    transitions: int  # state entries
    retries: int  # task attempts beyond the first (billed as transitions too)
    invocations: int
    waiting_lambda_seconds: float  # emulated seconds that passed inside invocations
    sleepers: list[str]
    real_lambda_seconds: float  # in-process handler time on this machine (proxy for billed duration)
    longest_real: float  # the longest invocation in real time: a handler sleeping for real would show here
    gb_seconds: float
    cost: pricing.WorkflowCost
    real_seconds: float
    milestones: list[tuple[str, float]] = field(default_factory=list)  # (what, emulated seconds)
    by_step: list[tuple[str, int]] = field(default_factory=list)  # state entries per step (a poll loop is one)
    error: str | None = None

    @property
    def ratio(self) -> float:
        return self.makespan / self.floor["total"] if self.floor["total"] else float("nan")

    @property
    def vs_baseline(self) -> float:
        return self.makespan / self.baseline["total"] if self.baseline["total"] else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "status": self.status,
            "error": self.error,
            "makespanMinutes": round(self.makespan / 60, 3),
            "floorMinutes": round(self.floor["total"] / 60, 3),
            "floorTerms": {k: round(v / 60, 3) for k, v in self.floor.items()},
            "ratio": round(self.ratio, 4),
            "baselineMinutes": round(self.baseline["total"] / 60, 3),
            "baselineTerms": {k: round(v / 60, 3) for k, v in self.baseline.items()},
            "makespanOverBaseline": round(self.vs_baseline, 4),
            "stateTransitions": self.transitions,
            "taskRetries": self.retries,
            "billedTransitions": self.transitions + self.retries,
            "lambdaInvocations": self.invocations,
            "lambdaSecondsWhileWaiting": round(self.waiting_lambda_seconds, 3),
            "sleepingInvocations": self.sleepers,
            "lambdaRealSeconds": round(self.real_lambda_seconds, 3),
            "longestInvocationRealSeconds": round(self.longest_real, 3),
            "lambdaGbSeconds": round(self.gb_seconds, 4),
            "costUsd": {k: round(v, 6) if isinstance(v, float) else v for k, v in self.cost.to_dict().items()},
            "realSeconds": round(self.real_seconds, 2),
            "milestonesMinutes": [{"what": what, "at": round(t / 60, 3)} for what, t in self.milestones],
            "transitionsByStep": dict(self.by_step),
        }


def _record_invocation_ends(emu: Any) -> None:
    """Stamp each invocation record with the emulated time at which it returned (observation only)."""
    from msk_pair.emulator import clock as clock_mod

    runtime = emu.runtime
    original = runtime.invoke

    def invoke(logical_id: str, payload: Any) -> Any:
        try:
            return original(logical_id, payload)
        finally:
            ended = clock_mod.now()
            for record in reversed(list(runtime.invocations)):
                if record["event"] is payload:
                    record["emulated_end"] = ended
                    break

    runtime.invoke = invoke


def _milestones(mode: str, records: list[dict[str, Any]], t0: float, p: LatencyProfile) -> list[tuple[str, float]]:
    """When the steps that decide the makespan happened (emulated seconds since the start)."""

    def starts(function: str, role: str | None) -> list[float]:
        return sorted(
            r["started"] - t0
            for r in records
            if r["function"] == function and (role is None or r["event"].get("role") == role)
        )

    out: list[tuple[str, float]] = []

    def first(label: str, function: str, role: str | None = None) -> None:
        found = starts(function, role)
        if found:
            out.append((label, found[0]))

    def last(label: str, function: str, role: str | None = None) -> None:
        found = starts(function, role)
        if found:
            out.append((label, found[-1]))

    if mode == "provision":
        for role in ("primary", "secondary"):
            t = role.capitalize()
            created = starts("ClusterCreateFunction", role)
            if created:
                out.append((f"{t}: cluster create sent", created[0]))
                out.append((f"{t}: cluster ACTIVE (emulated AWS)", created[0] + p.cluster_create))
            last(f"{t}: client launched", "ClientLaunchFunction", role)
            first(f"{t}: bootstrap command sent (client online seen)", "ClientBootstrapFunction", role)
            first(f"{t}: secret associated (ACTIVE seen)", "ClusterAssociateFunction", role)
            first(f"{t}: verification sent (smoke test + cross-region check)", VERIFY_FUNCTION, role)
        first("Secondary: MirrorMaker 2 start sent", "ReplicationStartFunction", None)
        first("Primary: canary sent", "ReplicationCanaryFunction", None)
        first("Secondary: replication check sent", "ReplicationCheckFunction", None)
        first("Both: first cluster status poll (builds done)", "ClusterStatusFunction", None)
        last("Peering: routes added", "PeeringRouteFunction", None)
    else:
        first("Peering: deleted", "PeeringDeleteFunction", None)
        for role in ("primary", "secondary"):
            t = role.capitalize()
            first(f"{t}: cluster deletion started", "ClusterDeleteFunction", role)
            first(f"{t}: client group deleted (client gone seen)", "ClientSecurityGroupDeleteFunction", role)
            first(f"{t}: secret and key deleted (cluster gone seen)", "ScramDeleteFunction", role)
            first(f"{t}: network delete first try", "NetworkDeleteFunction", role)
            last(f"{t}: network delete last try", "NetworkDeleteFunction", role)
        first("Shared: client role deleted", "ClientIamDeleteFunction", None)
    return sorted(out, key=lambda item: item[1])


LOOP_SUFFIXES = (": start", ": ready?", ": wait", ": count", ": timed out")


def transitions_by_step(events: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """State entries per step, most first; a poll loop's states (check, ready?, wait, count) are one step."""
    counts: dict[str, int] = {}
    for event in events:
        if not event["type"].endswith("StateEntered"):
            continue
        name = event["stateEnteredEventDetails"]["name"]
        for suffix in LOOP_SUFFIXES:
            if name.endswith(suffix):
                name = name[: -len(suffix)]
                break
        counts[name] = counts.get(name, 0) + 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


REPLICATION_STEPS = 3  # by hand: start MirrorMaker 2, produce the canary, read it on the secondary


def replicates(request: dict[str, Any]) -> bool:
    return (request.get("replication") or {}).get("engine", "mm2") == "mm2"


def measure(emu: Any, request: dict[str, Any], mode: str, p: LatencyProfile, cross_region_checks: int) -> RunFigures:
    runtime = emu.runtime
    memory = lambda_memory(emu.template)
    before = len(runtime.invocations)
    t0 = emu.clock.now()
    real0 = time.perf_counter()
    result = emu.run(request)
    real = time.perf_counter() - real0
    records = runtime.invocations[before:]

    entered = [e for e in result.events if e["type"].endswith("StateEntered")]
    tasks_entered = sum(1 for e in result.events if e["type"] == "TaskStateEntered")
    scheduled = sum(1 for e in result.events if e["type"] == "LambdaFunctionScheduled")

    waiting = 0.0
    sleepers: list[str] = []
    for r in records:
        spent = r.get("emulated_end", r["started"]) - r["started"]
        if spent > 1e-6:
            waiting += spent
            sleepers.append(f"{r['function']}({r['event'].get('role', '-')}): {spent:.1f}s")
    real_lambda = [float(r.get("real_seconds", 0.0)) for r in records]
    gb_seconds = sum(
        pricing.lambda_gb_seconds([secs], memory.get(r["function"], 128))
        for r, secs in zip(records, real_lambda, strict=True)
    )
    transitions = len(entered)
    retries = max(0, scheduled - tasks_entered)
    if mode == "provision":
        mm2 = replicates(request)
        floor = provisioning_floor(p, replication=mm2)
        baseline = provisioning_baseline(p, cross_region_checks, REPLICATION_STEPS if mm2 else 0)
    else:
        floor, baseline = teardown_floor(p), teardown_baseline(p)
    return RunFigures(
        mode=mode,
        status=result.status,
        error=None if result.status == "SUCCEEDED" else f"{result.error}: {result.cause}",
        makespan=result.emulated_seconds,
        floor=floor,
        baseline=baseline,
        transitions=transitions,
        retries=retries,
        invocations=len(records),
        waiting_lambda_seconds=waiting,
        sleepers=sleepers,
        real_lambda_seconds=sum(real_lambda),
        longest_real=max(real_lambda, default=0.0),
        gb_seconds=gb_seconds,
        cost=pricing.workflow_cost(transitions + retries, len(records), gb_seconds),
        real_seconds=real,
        milestones=_milestones(mode, records, t0, p),
        by_step=transitions_by_step(result.events),
    )


def teardown_request(request: dict[str, Any]) -> dict[str, Any]:
    out = {
        "mode": "teardown",
        "deploymentName": request["deploymentName"],
        "primary": {"region": request["primary"]["region"]},
        "secondary": {"region": request["secondary"]["region"]},
    }
    if "timing" in request:
        out["timing"] = {"pollSeconds": request["timing"]["pollSeconds"]}
    return out


@dataclass
class Scenario:
    name: str
    profile: LatencyProfile
    poll: int
    provision: RunFigures
    teardown: RunFigures
    cross_region_checks: int
    hourly: pricing.HourlyCost

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "profileSeconds": self.profile.to_dict(),
            "pollSeconds": self.poll,
            "crossRegionCheckInStateMachine": bool(self.cross_region_checks),
            "provisioning": self.provision.to_dict(),
            "teardown": self.teardown.to_dict(),
            "targets": targets(self),
            "hourlyRunCostUsd": self.hourly.to_dict(),
        }


def run_scenario(name: str, profile: LatencyProfile, poll: int, request: dict[str, Any]) -> Scenario:
    from msk_pair.emulator.engine import Emulator

    request = copy.deepcopy(request)
    request.setdefault("timing", {})["pollSeconds"] = poll
    with Emulator(root=ROOT, profile=profile, pace=0.0, log_level="ERROR") as emu:
        definition = json.loads(
            (ROOT / emu.template["Resources"]["ProvisionStateMachine"]["Properties"]["DefinitionUri"]).read_text()
        )
        checks = 2 if VERIFY_FUNCTION in asl_functions(definition) else 0
        _record_invocation_ends(emu)
        provision = measure(emu, request, "provision", profile, checks)
        teardown = measure(emu, teardown_request(request), "teardown", profile, checks)
    per_region_brokers = int(request.get("brokersPerAz", 1)) * 3
    hourly = pricing.hourly_run_cost(
        brokers=2 * per_region_brokers,
        broker_type=request.get("brokerInstanceType", "kafka.m5.large"),
        storage_gib_per_broker=float(request.get("brokerStorageGiB", 100)),
        clients=2,
        client_type=request.get("clientInstanceType", "t3.small"),
    )
    return Scenario(name, profile, poll, provision, teardown, checks, hourly)


@dataclass
class Rollback:
    minute: float  # when the failure was injected, in minutes after the execution started
    failed_after: float  # emulated seconds from the clusters' CreateClusterV2 to the failing invocation
    makespan: float  # emulated seconds from the failure to the end of the execution (the rollback)
    floor: dict[str, float]
    status: str
    error: str | None
    leftovers: dict[str, Any]

    @property
    def ratio(self) -> float:
        return self.makespan / self.floor["total"] if self.floor["total"] else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "failureAtMinute": self.minute,
            "failedAfterClusterCreateMinutes": round(self.failed_after / 60, 3),
            "rollbackMinutes": round(self.makespan / 60, 3),
            "floorMinutes": round(self.floor["total"] / 60, 3),
            "floorTerms": {k: round(v / 60, 3) for k, v in self.floor.items()},
            "ratio": round(self.ratio, 4),
            "target": f"<= {TARGET_ROLLBACK_RATIO}",
            "met": self.ratio <= TARGET_ROLLBACK_RATIO and not self.leftovers,
            "status": self.status,
            "error": self.error,
            "leftovers": self.leftovers,
        }


def run_rollback(profile: LatencyProfile, poll: int, request: dict[str, Any], minute: float) -> Rollback:
    """Provision with a hard failure in whatever task runs ``minute`` emulated minutes in: the clusters are
    still CREATING; the rollback must wait for MSK to allow their deletion and leave nothing."""
    from msk_pair.emulator.engine import Emulator
    from msk_pair.emulator.inventory import inventory

    request = copy.deepcopy(request)
    request.setdefault("timing", {})["pollSeconds"] = poll
    with Emulator(root=ROOT, profile=profile, pace=0.0, log_level="ERROR") as emu:
        _record_invocation_ends(emu)
        t0 = emu.clock.latest()
        emu.faults.add("*", error="InjectedFailure", message=f"at minute {minute}", not_before=t0 + minute * 60)
        result = emu.run(request)
        records = emu.runtime.invocations
        failed = min(r["started"] for r in records if r.get("error") == "InjectedFailure")
        created = max(r["started"] for r in records if r["function"] == "ClusterCreateFunction")
        end = t0 + result.emulated_seconds
        left = inventory(request["deploymentName"], [request["primary"]["region"], request["secondary"]["region"]])
    return Rollback(
        minute=minute,
        failed_after=failed - created,
        makespan=end - failed,
        floor=rollback_floor(profile, failed - created),
        status=result.status,
        error=result.error,
        leftovers=left,
    )


def render_rollbacks(profile_name: str, rollbacks: list[Rollback]) -> str:
    lines = [
        f"== rollback while the clusters are CREATING ({profile_name}): a hard failure injected at minute m; "
        "MSK refuses DeleteCluster until creation ends"
    ]
    lines.append("  minute  rollback (min)  floor (min) = remaining create + delete + ENI linger  ratio   leftovers")
    for r in rollbacks:
        f = r.floor
        lines.append(
            f"  {r.minute:>6g}  {_m(r.makespan):>14}  {_m(f['total']):>11} = {_m(f['remaining_create'])} + "
            f"{_m(f['cluster_delete'])} + {_m(f['eni_linger'])}{'':>14}{r.ratio:.3f}   "
            f"{'none' if not r.leftovers else r.leftovers}  (target <= {TARGET_ROLLBACK_RATIO}; {r.status} {r.error})"
        )
    return "\n".join(lines)


def targets(s: Scenario) -> dict[str, dict[str, Any]]:
    return {
        "provisioningRatio": {
            "value": round(s.provision.ratio, 4),
            "target": f"<= {TARGET_PROVISION_RATIO}",
            "met": s.provision.ratio <= TARGET_PROVISION_RATIO,
        },
        "teardownRatio": {
            "value": round(s.teardown.ratio, 4),
            "target": f"<= {TARGET_TEARDOWN_RATIO}",
            "met": s.teardown.ratio <= TARGET_TEARDOWN_RATIO,
        },
        "provisioningTransitions": {
            "value": s.provision.transitions,
            "target": f"< {TARGET_PROVISION_TRANSITIONS}",
            "met": s.provision.transitions < TARGET_PROVISION_TRANSITIONS,
            "note": "the target is stated for a 40-minute cluster creation and 60-second polls",
        },
        "lambdaSecondsWhileWaiting": {
            "value": round(s.provision.waiting_lambda_seconds + s.teardown.waiting_lambda_seconds, 3),
            "target": "0",
            "met": s.provision.waiting_lambda_seconds + s.teardown.waiting_lambda_seconds
            <= TARGET_WAITING_LAMBDA_SECONDS,
        },
    }


# -- printing ------------------------------------------------------------------------------------


def _m(seconds: float) -> str:
    return f"{seconds / 60:.2f}"


def render(s: Scenario) -> str:
    p, t = s.provision, s.teardown
    lines: list[str] = []
    prof = s.profile
    lines.append(
        f"== {s.name}: profile (emulated) cluster create {_m(prof.cluster_create)} min, "
        f"delete {_m(prof.cluster_delete)}, ENI linger {_m(prof.cluster_eni_linger)}, "
        f"instance start {_m(prof.instance_start)}, SSM registration {_m(prof.ssm_registration)}, "
        f"SSM command {_m(prof.ssm_command)}, peering visible {_m(prof.peering_visible)}; "
        f"polls every {s.poll} s"
    )
    rows = [
        ("", "provisioning", "teardown"),
        ("status", p.status, t.status),
        ("makespan (emulated min)", _m(p.makespan), _m(t.makespan)),
        ("critical-path floor (min)", _m(p.floor["total"]), _m(t.floor["total"])),
        (
            "makespan / floor",
            f"{p.ratio:.3f} (target <= {TARGET_PROVISION_RATIO})",
            f"{t.ratio:.3f} (target <= {TARGET_TEARDOWN_RATIO})",
        ),
        ("sequential guide plan (min)", _m(p.baseline["total"]), _m(t.baseline["total"])),
        ("makespan / sequential plan", f"{p.vs_baseline:.3f}", f"{t.vs_baseline:.3f}"),
        (
            "state transitions (entries)",
            f"{p.transitions} (target < {TARGET_PROVISION_TRANSITIONS})",
            f"{t.transitions}",
        ),
        ("  + task retries (billed too)", f"{p.retries}", f"{t.retries}"),
        ("Lambda invocations", f"{p.invocations}", f"{t.invocations}"),
        (
            "Lambda seconds while waiting",
            f"{p.waiting_lambda_seconds:.1f} (target 0)",
            f"{t.waiting_lambda_seconds:.1f}",
        ),
        ("Lambda GB-s (in-process time)", f"{p.gb_seconds:.2f}", f"{t.gb_seconds:.2f}"),
        ("workflow cost per run (USD)", f"${p.cost.total:.4f}", f"${t.cost.total:.4f}"),
        ("  Step Functions", f"${p.cost.step_functions:.4f}", f"${t.cost.step_functions:.4f}"),
        (
            "  Lambda requests + duration",
            f"${p.cost.lambda_requests + p.cost.lambda_duration:.6f}",
            f"${t.cost.lambda_requests + t.cost.lambda_duration:.6f}",
        ),
        ("longest invocation (real s)", f"{p.longest_real:.2f}", f"{t.longest_real:.2f}"),
        ("real time of the run (s)", f"{p.real_seconds:.1f}", f"{t.real_seconds:.1f}"),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for i, r in enumerate(rows):
        lines.append(f"  {r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}")
        if i == 0:
            lines.append("  " + "-" * (sum(widths) + 4))
    f = p.floor
    lines.append(
        f"  floor, provisioning = max(cluster {_m(f['cluster'])}, client chain {_m(f['client_chain'])}) "
        f"+ after ACTIVE {_m(f['after_active'])} (the verification, then MirrorMaker 2's start beside the canary, "
        f"then the replication check: {_m(f['replication'])} of it); peering {_m(f['peering'])} in parallel"
    )
    lines.append(
        f"  floor, teardown = max(cluster delete + ENI linger {_m(t.floor['cluster_path'])}, "
        f"client terminate {_m(t.floor['client_path'])})"
    )
    if s.cross_region_checks:
        lines.append(
            "  the state machine runs the cross-region check in the smoke test's SSM command (one command "
            "after ACTIVE); the guide's sequential plan does it as a separate step per region"
        )
    for fig in (p, t):
        if fig.error:
            lines.append(f"  {fig.mode} FAILED: {fig.error}")
        if fig.sleepers:
            lines.append(f"  {fig.mode}: invocations during which emulated time passed: {', '.join(fig.sleepers[:8])}")
    for fig in (p, t):
        top = ", ".join(f"{name} {n}" for name, n in fig.by_step[:6])
        lines.append(f"  state entries by step ({fig.mode}; a poll loop is 4 per poll): {top}")
    for fig in (p, t):
        lines.append(f"  where the time goes ({fig.mode}, emulated min since start):")
        for what, at in fig.milestones:
            lines.append(f"    {_m(at):>7}  {what}")
        lines.append(f"    {_m(fig.makespan):>7}  end of execution")
    h = s.hourly
    total = "n/a" if h.total is None else f"${h.total:.3f}/h"
    lines.append(
        f"  what it builds costs {total}: {h.brokers} x {h.broker_type} "
        f"{'n/a' if h.brokers_per_hour is None else f'${h.brokers_per_hour:.3f}'} + "
        f"{h.storage_gib:.0f} GiB storage ${h.storage_per_hour:.4f} + {h.clients} x {h.client_type} "
        f"{'n/a' if h.clients_per_hour is None else f'${h.clients_per_hour:.4f}'} "
        "(cross-region data transfer not included)"
    )
    return "\n".join(lines)


def render_all(scenarios: list[Scenario]) -> str:
    out = [render(s) for s in scenarios]
    out.append(
        "Notes: makespans are emulated time (Wait states and AWS durations from the profile cost no real time). "
        "The floor counts only profile durations on the state machine's dependency chain; API calls count as 0. "
        "'Lambda seconds while waiting' is the emulated time that passed between an invocation's start and its "
        "return: the emulator gives AWS calls zero duration, so anything above 0 is a Lambda sleeping or "
        "polling inside itself instead of a Wait state (boto3 retry sleeps are emulated; a handler sleeping in real "
        "time would show as a long 'longest invocation'). Billed transitions = state entries + task retries "
        f"(AWS bills retries as transitions). Prices: src/msk_pair/pricing.py ({pricing.PRICE_REGION}, "
        f"checked {pricing.PRICES_CHECKED}; MSK and EC2 approximate). Lambda GB-s use the handlers' in-process "
        "time on this machine as a proxy for billed duration."
    )
    return "\n\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", type=Path, default=DEFAULT_PROFILE, help="latency profile JSON (seconds)")
    parser.add_argument("--poll", type=int, default=60, help="timing.pollSeconds of the run (default 60)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--input", type=Path, default=SAMPLE_INPUT, help="region-pair input (default: the sample)")
    parser.add_argument("--no-fast", action="store_true", help="skip the extra run with the emulator's FAST profile")
    parser.add_argument(
        "--no-rollback", action="store_true", help="skip the rollbacks with a failure while the clusters are CREATING"
    )
    args = parser.parse_args(argv)

    warnings.filterwarnings("ignore", message="No application metrics to publish")
    logging.disable(logging.WARNING)  # the handlers' structured WARNING logs (expected retries) are noise here
    request = json.loads(args.input.read_text())
    started = time.perf_counter()
    runs = [("profile " + _display(args.profile), LatencyProfile.load(args.profile))]
    if not args.no_fast:
        runs.append(("emulator FAST profile", FAST))
    scenarios = []
    for name, profile in runs:
        with contextlib.redirect_stdout(io.StringIO()):  # Powertools prints metrics to stdout
            scenarios.append(run_scenario(name, profile, args.poll, request))
    rollbacks: list[Rollback] = []
    if not args.no_rollback:
        with contextlib.redirect_stdout(io.StringIO()):
            rollbacks = [run_rollback(runs[0][1], args.poll, request, m) for m in ROLLBACK_FAILURE_MINUTES]
    elapsed = time.perf_counter() - started
    if args.json:
        out = {
            "scenarios": [s.to_dict() for s in scenarios],
            "rollbacksDuringCreation": [r.to_dict() for r in rollbacks],
            "realSeconds": round(elapsed, 2),
        }
        print(json.dumps(out, indent=2))
    else:
        print(render_all(scenarios))
        if rollbacks:
            print("\n" + render_rollbacks(runs[0][0], rollbacks))
        print(f"\nbenchmark real time: {elapsed:.1f} s")
    ok = all(s.provision.status == s.teardown.status == "SUCCEEDED" for s in scenarios)
    return 0 if ok and all(not r.leftovers and r.status == "FAILED" for r in rollbacks) else 1


def _display(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(ROOT))
    return str(path)


if __name__ == "__main__":
    raise SystemExit(main())
