"""A Standard execution ends at 25,000 history events, as on AWS.

AWS service: AWS Step Functions: the 25,000-event history quota of a Standard execution.
Sources: Step Functions Developer Guide, "Avoid reaching the history quota" (bp-history-limit.html),
  quoted below; the States.Runtime error and its cause as reported in the issues named below.

AWS (developer guide, "Avoid reaching the history quota",
https://docs.aws.amazon.com/step-functions/latest/dg/bp-history-limit.html): "When an
execution reaches 24,999 events, it waits for the next event to happen. If the event
number 25,000 is ExecutionSucceeded, the execution finishes successfully. If the event
number 25,000 isn't ExecutionSucceeded, the ExecutionFailed event is logged and the
state machine execution fails". The failure is ``States.Runtime``, "The execution
reached the maximum number of history events (25000).", and no Retry or Catch runs:
it ends the execution, not a state (github.com/loads/ardere/issues/86,
github.com/floci-io/floci/issues/2734). moto's engine appends events without bound.

Here, the 25,000th event of a Standard execution's history is ``ExecutionSucceeded``
or that ``ExecutionFailed``: when any other event would take the place, it is not
recorded, the execution's program (every Parallel branch and task frame with it) is
put in that error at once, every event its threads still try to add is dropped, and
the ``ExecutionFailed`` the program then writes carries that error and cause, with id
25,000. Nothing after the error can replace it (a Catch that would run, a branch
failure reaching the top), so DescribeExecution says the same.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.stepfunctions.parser.api import ExecutionFailedEventDetails, HistoryEventType
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

from msk_pair.emulator.patching import PatchSet
from mskpair_core.timing import HISTORY_EVENT_LIMIT, HISTORY_LIMIT_CAUSE, HISTORY_LIMIT_ERROR

_ATTRIBUTE = "_msk_pair_history_limit"

# Events that end an execution: the program writes exactly one of them, last.
_TERMINAL = {
    HistoryEventType.ExecutionSucceeded,
    HistoryEventType.ExecutionFailed,
    HistoryEventType.ExecutionAborted,
    HistoryEventType.ExecutionTimedOut,
}


class _Limit:
    """The history limit of one execution: its root environment and whether the limit was reached."""

    def __init__(self, env: Environment, limit: int) -> None:
        self.env = env
        self.limit = limit
        self.reached = False
        self.details = ExecutionFailedEventDetails(error=HISTORY_LIMIT_ERROR, cause=HISTORY_LIMIT_CAUSE)
        self.lock = threading.Lock()  # add_event is called from every branch's thread


def _limit_of(manager: EventManager) -> _Limit | None:
    return manager.__dict__.get(_ATTRIBUTE)


def _environment(self: ExecutionWorker) -> Environment:
    env: Environment = _patches.original(ExecutionWorker, "_get_evaluation_environment")(self)
    if env.is_standard_workflow():  # Express workflows have no history quota
        setattr(env.event_manager, _ATTRIBUTE, _Limit(env, HISTORY_EVENT_LIMIT))
    return env


def _add_event(
    self: EventManager,
    context: Any,
    event_type: HistoryEventType,
    event_details: Any = None,
    timestamp: Any = None,
    update_source_event_id: bool = True,
) -> int:
    add = _patches.original(EventManager, "add_event")
    limit = _limit_of(self)
    if limit is None:
        return add(self, context, event_type, event_details, timestamp, update_source_event_id)
    with limit.lock:  # check and publish as one step, or two threads could both take the last id
        if not limit.reached:
            next_id = self._event_id_gen._next_id  # ids are sequential from 1; a dropped event takes none
            if next_id < limit.limit or event_type == HistoryEventType.ExecutionSucceeded:
                return add(self, context, event_type, event_details, timestamp, update_source_event_id)
            limit.reached = True
            limit.env.set_error(limit.details)  # every frame too: branches and tasks stop at their next step
            if event_type not in _TERMINAL:
                return context.last_published_event_id
        elif event_type != HistoryEventType.ExecutionFailed:
            return context.last_published_event_id
        details = EventDetails(executionFailedEventDetails=limit.details)
        return add(self, context, HistoryEventType.ExecutionFailed, details, timestamp, update_source_event_id)


def _set_error(self: Environment, error: Any) -> None:
    limit = _limit_of(self.event_manager)
    if limit is not None and limit.reached and error is not limit.details:
        return  # the history limit ended the execution: a later failure (a Catch's, a branch's) cannot replace it
    _patches.original(Environment, "set_error")(self, error)


def _set_timed_out(self: Environment) -> None:
    limit = _limit_of(self.event_manager)
    if limit is not None and limit.reached:
        return
    _patches.original(Environment, "set_timed_out")(self)


_patches = PatchSet(
    [
        (ExecutionWorker, "_get_evaluation_environment", _environment),
        (EventManager, "add_event", _add_event),
        (Environment, "set_error", _set_error),
        (Environment, "set_timed_out", _set_timed_out),
    ]
)


def install() -> None:
    """Bound every Standard execution's history at AWS's quota."""
    _patches.install()


def uninstall() -> None:
    _patches.uninstall()
