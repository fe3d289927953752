"""scripts/benchmark.py's formulas (floor, sequential baseline) and src/msk_pair/pricing.py's arithmetic.

The benchmark itself is not run here (it is a script: `make`-free, ~15 s); these check the numbers it
compares against, on a small hand-made profile whose answers can be worked out on paper.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from msk_pair import pricing
from msk_pair.emulator.profile import LatencyProfile

ROOT = Path(__file__).resolve().parents[2]


def _load_benchmark():
    spec = importlib.util.spec_from_file_location("msk_pair_benchmark_script", ROOT / "scripts" / "benchmark.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


bench = _load_benchmark()

# Round numbers: cluster 100 s, client chain 1 + 10 + 20 + 5 = 36 s, SSM command 5 s.
SMALL = LatencyProfile(
    instance_profile_propagation=1.0,
    instance_start=10.0,
    instance_terminate=7.0,
    cluster_create=100.0,
    cluster_delete=50.0,
    cluster_eni_linger=20.0,
    ssm_registration=20.0,
    ssm_command=5.0,
    peering_visible=3.0,
    peering_activate=2.0,
)


def test_provisioning_floor_is_the_slower_of_cluster_and_client_then_the_commands_after_active():
    floor = bench.provisioning_floor(SMALL)
    assert floor["client_chain"] == 1 + 10 + 20 + 5
    assert floor["after_active"] == 5 + 2 * 5  # verification, then MM2 start beside the canary, then the check
    assert floor["replication"] == 2 * 5
    assert floor["peering"] == 5
    assert floor["total"] == 100 + 15
    assert bench.provisioning_floor(SMALL, replication=False)["total"] == 100 + 5  # engine none


def test_provisioning_floor_follows_the_client_chain_when_it_is_longer():
    slow_client = LatencyProfile.load(None, **{**SMALL.to_dict(), "ssm_registration": 200.0})
    floor = bench.provisioning_floor(slow_client)
    assert floor["total"] == (1 + 10 + 200 + 5) + 15


def test_provisioning_floor_follows_the_peering_when_it_is_longest():
    slow_peering = LatencyProfile.load(None, **{**SMALL.to_dict(), "peering_visible": 500.0})
    assert bench.provisioning_floor(slow_peering)["total"] == 502


def test_teardown_floor_is_cluster_deletion_plus_eni_linger_or_client_termination():
    assert bench.teardown_floor(SMALL)["total"] == 50 + 20
    slow_terminate = LatencyProfile.load(None, **{**SMALL.to_dict(), "instance_terminate": 100.0})
    assert bench.teardown_floor(slow_terminate)["total"] == 100


def test_sequential_baseline_is_everything_in_a_row_twice_then_peering():
    per_region = 100 + 10 + 20 + 5 + 5  # cluster, instance start, registration, bootstrap, smoke test
    base = bench.provisioning_baseline(SMALL)
    assert base["per_region"] == per_region
    assert base["total"] == 1 + 2 * per_region + 3 + 2  # IAM propagation once, two regions, peering
    assert bench.provisioning_baseline(SMALL, cross_region_checks=2)["total"] == base["total"] + 2 * 5
    assert bench.provisioning_baseline(SMALL, replication_steps=3)["total"] == base["total"] + 3 * 5
    assert bench.teardown_baseline(SMALL)["total"] == 2 * (7 + 50 + 20)


def test_the_issue_profile_gives_the_issue_figures():
    profile = LatencyProfile.load(ROOT / "benchmarks" / "latency-profile.json")
    assert profile.cluster_create == 40 * 60
    assert profile.cluster_delete == 15 * 60
    assert (profile.instance_start, profile.ssm_registration, profile.ssm_command) == (60, 120, 180)
    assert profile.peering_visible == 30
    assert bench.provisioning_floor(profile)["total"] == 49 * 60  # cluster 40 + verification 3 + replication 6
    assert bench.provisioning_floor(profile, replication=False)["total"] == 43 * 60
    assert bench.teardown_floor(profile)["total"] == 20 * 60  # deletion 15 + ENI linger 5
    raw = json.loads((ROOT / "benchmarks" / "latency-profile.json").read_text())
    assert set(raw) - {"_comment"} == set(LatencyProfile().to_dict())  # every field, spelled out


def test_asl_functions_finds_tasks_in_nested_branches():
    definition = {
        "States": {
            "A": {"Type": "Task", "Resource": "${InputValidateFunctionArn}"},
            "P": {
                "Type": "Parallel",
                "Branches": [{"States": {"B": {"Type": "Task", "Resource": "${ClientCrossRegionCheckFunctionArn}"}}}],
            },
            "W": {"Type": "Wait", "Seconds": 1},
        }
    }
    assert bench.asl_functions(definition) == {"InputValidateFunction", "ClientCrossRegionCheckFunction"}


def test_transitions_by_step_counts_a_poll_loop_as_one_step():
    def entered(kind: str, name: str) -> dict:
        return {"type": f"{kind}StateEntered", "stateEnteredEventDetails": {"name": name}}

    loop = "Primary: wait for cluster ACTIVE"
    events = [entered("Pass", f"{loop}: start")]
    for _ in range(3):
        events += [entered("Task", loop), entered("Choice", f"{loop}: ready?")]
        events += [entered("Wait", f"{loop}: wait"), entered("Pass", f"{loop}: count")]
    events += [entered("Task", "Validate input"), {"type": "LambdaFunctionScheduled"}]
    assert bench.transitions_by_step(events) == [(loop, 13), ("Validate input", 1)]


def test_workflow_cost_multiplies_the_public_prices():
    cost = pricing.workflow_cost(transitions=400, invocations=1_000_000, gb_seconds=1000.0)
    assert cost.step_functions == pytest.approx(400 * 0.000025)  # $0.01
    assert cost.lambda_requests == pytest.approx(0.20)
    assert cost.lambda_duration == pytest.approx(1000 * 0.0000166667)
    assert cost.total == pytest.approx(0.01 + 0.20 + 0.0166667)


def test_lambda_gb_seconds_rounds_each_invocation_up_to_the_millisecond():
    # 0.1004 s bills 101 ms; 2.0 s bills 2000 ms; at 256 MB (a quarter GB).
    assert pricing.lambda_gb_seconds([0.1004, 2.0], 256) == pytest.approx((0.101 + 2.0) / 4)


def test_hourly_run_cost_of_the_sample_deployment():
    cost = pricing.hourly_run_cost(
        brokers=6, broker_type="kafka.m5.large", storage_gib_per_broker=100, clients=2, client_type="t3.medium"
    )
    assert cost.brokers_per_hour == pytest.approx(6 * 0.21)
    assert cost.storage_per_hour == pytest.approx(600 * 0.10 / 730)
    assert cost.clients_per_hour == pytest.approx(2 * 0.0416)
    assert cost.total == pytest.approx(1.26 + 600 * 0.10 / 730 + 2 * 0.0416)
    unknown = pricing.hourly_run_cost(
        brokers=3, broker_type="kafka.m7g.large", storage_gib_per_broker=1, clients=1, client_type="t3.small"
    )
    assert unknown.brokers_per_hour is None and unknown.total is None
