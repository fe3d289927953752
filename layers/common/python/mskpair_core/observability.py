"""Powertools Logger, Tracer and Metrics, set up once for every handler.

``task`` wraps a handler: JSON logs with the execution name as correlation id,
an X-Ray subsegment, a ``StepDuration`` metric per step and a ``StepFailed``
metric (dimension: the error name) when it raises. Handlers stay thin: they
unpack the event, call one library function and return its result.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger(service="msk-pair")
tracer = Tracer(service="msk-pair")
metrics = Metrics(namespace="MskPair", service="msk-pair")

Handler = Callable[[dict[str, Any], Any], Any]


def task(step: str) -> Callable[[Handler], Handler]:
    """Decorate a Lambda handler for the step named ``step``."""

    def decorate(fn: Handler) -> Handler:
        @functools.wraps(fn)
        def run(event: dict[str, Any], context: Any) -> Any:
            execution = event.get("execution") if isinstance(event, dict) else None
            if execution:
                logger.set_correlation_id(execution)
            role = event.get("role") if isinstance(event, dict) else None
            logger.append_keys(step=step, role=role)
            started = time.monotonic()
            try:
                result = fn(event, context)
            except Exception as exc:
                metrics.add_metric(name="StepFailed", unit=MetricUnit.Count, value=1)
                metrics.add_metadata(key="error", value=type(exc).__name__)
                logger.warning("step failed", extra={"error": type(exc).__name__})
                raise
            finally:
                metrics.add_metric(
                    name="StepDuration", unit=MetricUnit.Milliseconds, value=(time.monotonic() - started) * 1000
                )
            logger.info("step done")
            return result

        wrapped = logger.inject_lambda_context(clear_state=True)(run)
        wrapped = tracer.capture_lambda_handler(capture_response=False)(wrapped)
        wrapped = metrics.log_metrics(wrapped)
        return functools.wraps(fn)(wrapped)

    return decorate
