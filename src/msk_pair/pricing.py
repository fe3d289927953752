"""Public AWS prices, kept in one place, and the arithmetic that turns a run into dollars.

Two different bills:

- what one *execution* of the workflow costs (Step Functions Standard state transitions and the
  Lambda invocations it makes): :func:`workflow_cost`;
- what the *deployment it builds* costs per hour while it exists (MSK brokers and their storage,
  the two client instances): :func:`hourly_run_cost`. Cross-region data transfer (MirrorMaker 2
  traffic over the peering) depends on the workload and is not included, nor are KMS keys
  ($1/month each), Secrets Manager secrets ($0.40/month each), EBS root volumes of the clients, or
  CloudWatch.

Prices are on-demand, USD, us-east-1, x86. Checked 2026-11:

- Step Functions Standard: $0.025 per 1,000 state transitions in us-east-1 (same in us-west-2);
  retries count as transitions; 4,000 free per month (ignored here).
  Source: https://aws.amazon.com/step-functions/pricing/ (state transitions pricing table).
- Lambda: $0.20 per 1M requests and $0.0000166667 per GB-second for x86
  (free tier ignored). Source: https://aws.amazon.com/lambda/pricing/.
- MSK, APPROXIMATE (not re-verified against the live page here): kafka.m5.large standard broker
  ~$0.21 per broker-hour in us-east-1; broker storage ~$0.10 per GB-month.
  Source: https://aws.amazon.com/msk/pricing/.
- EC2, APPROXIMATE (not re-verified here): t3.small on-demand Linux ~$0.0208 per hour in us-east-1,
  t3.medium (the default client since the secondary runs MirrorMaker 2) ~$0.0416.
  Source: https://aws.amazon.com/ec2/pricing/on-demand/.

Update the constants when AWS changes its prices; nothing else in the project holds a price.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

PRICES_CHECKED = "2026-11"
PRICE_REGION = "us-east-1"

# Step Functions Standard workflows: per state transition (retries included).
SFN_STANDARD_PER_TRANSITION = 0.025 / 1000  # $0.000025

# Lambda, x86: per request and per GB-second of billed duration (billed per 1 ms).
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
LAMBDA_PER_GB_SECOND_X86 = 0.0000166667

# MSK provisioned, standard brokers: per broker-hour (approximate, see above).
MSK_BROKER_HOUR = {"kafka.m5.large": 0.21}
# MSK broker storage: per GB-month (approximate).
MSK_STORAGE_GB_MONTH = 0.10
# EC2 on-demand Linux: per instance-hour (approximate).
EC2_INSTANCE_HOUR = {"t3.small": 0.0208, "t3.medium": 0.0416}

# AWS turns monthly prices into hourly ones with 730 hours a month.
HOURS_PER_MONTH = 730.0


@dataclass(frozen=True)
class WorkflowCost:
    transitions: int
    invocations: int
    gb_seconds: float
    step_functions: float
    lambda_requests: float
    lambda_duration: float

    @property
    def total(self) -> float:
        return self.step_functions + self.lambda_requests + self.lambda_duration

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total": self.total}


def lambda_gb_seconds(durations_seconds: list[float], memory_mb: int) -> float:
    """GB-seconds of a list of invocation durations, each rounded up to the millisecond as Lambda bills."""
    billed_ms = sum(math.ceil(round(d * 1_000_000) / 1000) for d in durations_seconds)  # ceil to 1 ms (from µs)
    return billed_ms / 1000.0 * (memory_mb / 1024.0)


def workflow_cost(transitions: int, invocations: int, gb_seconds: float) -> WorkflowCost:
    """Dollars for one execution: state transitions, Lambda requests and Lambda GB-seconds."""
    return WorkflowCost(
        transitions=transitions,
        invocations=invocations,
        gb_seconds=gb_seconds,
        step_functions=transitions * SFN_STANDARD_PER_TRANSITION,
        lambda_requests=invocations * LAMBDA_PER_REQUEST,
        lambda_duration=gb_seconds * LAMBDA_PER_GB_SECOND_X86,
    )


@dataclass(frozen=True)
class HourlyCost:
    brokers: int
    broker_type: str
    storage_gib: float
    clients: int
    client_type: str
    brokers_per_hour: float | None
    storage_per_hour: float
    clients_per_hour: float | None

    @property
    def total(self) -> float | None:
        if self.brokers_per_hour is None or self.clients_per_hour is None:
            return None
        return self.brokers_per_hour + self.storage_per_hour + self.clients_per_hour

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total": self.total}


def hourly_run_cost(
    *, brokers: int, broker_type: str, storage_gib_per_broker: float, clients: int, client_type: str
) -> HourlyCost:
    """Dollars per hour for what a deployment keeps running (None where the type has no price here)."""
    broker_price = MSK_BROKER_HOUR.get(broker_type)
    client_price = EC2_INSTANCE_HOUR.get(client_type)
    storage = brokers * storage_gib_per_broker
    return HourlyCost(
        brokers=brokers,
        broker_type=broker_type,
        storage_gib=storage,
        clients=clients,
        client_type=client_type,
        brokers_per_hour=None if broker_price is None else brokers * broker_price,
        storage_per_hour=storage * MSK_STORAGE_GB_MONTH / HOURS_PER_MONTH,
        clients_per_hour=None if client_price is None else clients * client_price,
    )
