"""The execution-history budget the wait loops must fit.

Every poll writes events into the execution's history, and a Standard execution
has a hard quota of 25,000 of them. Where the quota is reached AWS ends the
execution at once, FAILED with ``States.Runtime``, without running any Catch: no
rollback, everything made so far is left behind.
"""

from __future__ import annotations

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
