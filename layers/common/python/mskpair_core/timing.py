"""The wait loops' limits in polls, and the execution-history budget they must fit.

The ASL counts polls (it has no date arithmetic): ``Validate input`` turns the
``timing`` minutes into ``maxClusterPolls`` and ``maxClientPolls`` with
:func:`loop_limits`.

Every poll writes events into the execution's history, and a Standard execution
has a hard quota of 25,000 of them. Where the quota is reached AWS ends the
execution at once, FAILED with ``States.Runtime``, without running any Catch: no
rollback, everything made so far is left behind. So an input whose worst case does
not fit is refused in the first state (:func:`history_problem`).

The worst case comes from ``history_model.json`` next to this module, generated
from the ASL by ``make asl`` (``src/msk_pair/history.py`` walks the definition;
this Lambda layer cannot import it): the largest number of history events one
execution can record, as the maximum of a few linear forms in the two loop limits.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

# Step Functions developer guide, "Step Functions service quotas", quotas related to state
# machine executions: "Maximum execution history size: 25,000 events. If the execution history
# reaches this quota, the execution will fail."
# https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
# and "Avoid reaching the history quota" (bp-history-limit): "When an execution reaches 24,999
# events, it waits for the next event to happen. If the event number 25,000 is
# ExecutionSucceeded, the execution finishes successfully. If the event number 25,000 isn't
# ExecutionSucceeded, the ExecutionFailed event is logged and the state machine execution fails".
# https://docs.aws.amazon.com/step-functions/latest/dg/bp-history-limit.html
HISTORY_EVENT_LIMIT = 25_000

# The error and cause AWS gives such an execution (DescribeExecution and its ExecutionFailed
# event), as observed and quoted in github.com/loads/ardere/issues/86 and
# github.com/floci-io/floci/issues/2734 ("event 25,000 *is* the ExecutionFailed event").
HISTORY_LIMIT_ERROR = "States.Runtime"
HISTORY_LIMIT_CAUSE = f"The execution reached the maximum number of history events ({HISTORY_EVENT_LIMIT})."

# The margin is for what the model does not count: a wait loop's check retried at more than one
# poll per loop (the model counts every task's retriers at MaxAttempts, a loop check's once per
# loop: at every poll no timing would fit), and whatever AWS records that the emulator, on which
# the model is checked, does not. 10 % of the quota is 2,500 events: about 830 failed Lambda
# attempts (3 events each) more than the model already counts.
HISTORY_SAFETY_MARGIN = HISTORY_EVENT_LIMIT // 10
HISTORY_BUDGET = HISTORY_EVENT_LIMIT - HISTORY_SAFETY_MARGIN

MODEL_PATH = Path(__file__).with_name("history_model.json")

SECONDS_PER_MINUTE = 60


def loop_limits(timing: dict[str, Any]) -> dict[str, int]:
    """The wait loops' limits in polls: a timeout of N minutes polled every P seconds is ceil(60 N / P) polls."""
    poll = timing["pollSeconds"]
    return {
        "maxClusterPolls": math.ceil(timing["clusterTimeoutMinutes"] * SECONDS_PER_MINUTE / poll),
        "maxClientPolls": math.ceil(timing["clientTimeoutMinutes"] * SECONDS_PER_MINUTE / poll),
    }


@lru_cache(maxsize=1)
def history_model() -> dict[str, Any]:
    """The generated model: ``forms``, each ``{"constant": c, "<limit>": coefficient, ...}``."""
    return json.loads(MODEL_PATH.read_text())


def worst_case_events(timing: dict[str, Any], model: dict[str, Any] | None = None) -> int:
    """The most history events one execution with this ``timing`` can record (the model's worst case)."""
    model = model or history_model()
    limits = loop_limits(timing)
    unknown = {name for form in model["forms"] for name in form if name != "constant"} - set(limits)
    if unknown:  # the ASL bounds a loop by a field validate does not compute
        raise ValueError(f"history model uses unknown loop limits: {sorted(unknown)}")
    return max(
        form["constant"] + sum(coefficient * limits[name] for name, coefficient in form.items() if name != "constant")
        for form in model["forms"]
    )


def history_problem(
    timing: dict[str, Any],
    *,
    poll_range: tuple[int, int],
    cluster_range: tuple[int, int],
    client_range: tuple[int, int],
    model: dict[str, Any] | None = None,
) -> str | None:
    """Why this ``timing`` cannot be run (its worst case is over the budget), with what would fit; None if it fits.

    The ranges are the contract's bounds of each field: the suggestions stay inside them.
    """
    worst = worst_case_events(timing, model)
    if worst <= HISTORY_BUDGET:
        return None

    def fits(**change: int) -> bool:
        return worst_case_events({**timing, **change}, model) <= HISTORY_BUDGET

    # The worst case only grows with the loop limits, so it only shrinks as pollSeconds grows and
    # only grows with each timeout: the first poll that fits, the last timeout that fits.
    poll = next((p for p in range(timing["pollSeconds"], poll_range[1] + 1) if fits(pollSeconds=p)), None)
    cluster = _largest(cluster_range, lambda m: fits(clusterTimeoutMinutes=m))
    client = _largest(client_range, lambda m: fits(clientTimeoutMinutes=m))
    fixes = [f"use a pollSeconds of at least {poll}"] if poll is not None else []
    keep = [
        f"{field} of at most {value}"
        for field, value in (("clusterTimeoutMinutes", cluster), ("clientTimeoutMinutes", client))
        if value is not None
    ]
    if keep:
        fixes.append(f"keep pollSeconds {timing['pollSeconds']} with a " + " or a ".join(keep))
    fix = ", or ".join(fixes) if fixes else "no timing within the contract's ranges fits"
    return (
        f"timing: pollSeconds {timing['pollSeconds']} with clusterTimeoutMinutes {timing['clusterTimeoutMinutes']} "
        f"and clientTimeoutMinutes {timing['clientTimeoutMinutes']} lets one execution record up to {worst:,} "
        f"history events (every wait loop at its limit, then the full rollback), more than the budget of "
        f"{HISTORY_BUDGET:,} (Step Functions fails an execution at {HISTORY_EVENT_LIMIT:,} events, without its "
        f"rollback): {fix}"
    )


def _largest(bounds: tuple[int, int], fits: Any) -> int | None:
    """The largest value in ``bounds`` (inclusive) for which the monotone ``fits`` holds, None if none does."""
    low, high = bounds
    if not fits(low):
        return None
    while low < high:  # fits(low) holds
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low
