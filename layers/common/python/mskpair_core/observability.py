"""Powertools Logger, Tracer and Metrics, set up once for every handler.

``task`` wraps a handler: JSON logs with the execution name as correlation id,
an X-Ray subsegment, a ``StepDuration`` metric per step and a ``StepFailed``
metric (dimension: the error name) when it raises. Handlers stay thin: they
unpack the event, call one library function and return its result.

Two details, both because the emulator runs many handlers at once in one process
(threads of the Parallel states), where on AWS each invocation has its own
process:

- The per-invocation log keys (Lambda context, correlation id, step, role) are
  Powertools' thread-safe keys, so one invocation's lines never carry another's
  correlation id or role.
- Each invocation's metrics are their own EMF object, flushed in ``finally``
  (also when the handler raises), instead of the shared ``Metrics`` set, which
  concurrent invocations would flush with each other's dimensions.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.logging.lambda_context import build_lambda_context_model
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider
from aws_lambda_powertools.utilities.typing import LambdaContext

from mskpair_core.aws import translate_errors
from mskpair_core.tags import made_by

SERVICE = "msk-pair"
NAMESPACE = "MskPair"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
# The library's own module loggers (``logging.getLogger(__name__)``) log through the same
# JSON formatter and handler, so their lines carry the correlation id too.
copy_config_to_registered_loggers(source_logger=logger, include={"mskpair_core"})

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]
"""A handler as Powertools' examples type it. The functions import ``LambdaContext`` from here: they import
only the layer and the standard library (tests/unit/test_build.py)."""

_cold_start = True


def _emit(name: str, unit: MetricUnit, value: float, **dimensions: str) -> None:
    """One EMF object on stdout (unless POWERTOOLS_METRICS_DISABLED): ``name`` with service + ``dimensions``."""
    emf = AmazonCloudWatchEMFProvider(namespace=NAMESPACE, service=SERVICE)
    for key, dim in dimensions.items():
        emf.add_dimension(name=key, value=dim)
    emf.add_metric(name=name, unit=unit, value=value)
    emf.flush_metrics()


def emit_step_metrics(step: str, milliseconds: float, error: str | None) -> None:
    """``StepDuration`` (dimensions service, step); and ``StepFailed`` (service, step, error) if it failed."""
    _emit("StepDuration", MetricUnit.Milliseconds, milliseconds, step=step)
    if error:
        _emit("StepFailed", MetricUnit.Count, 1, step=step, error=error)


def task(step: str) -> Callable[[Handler], Handler]:
    """Decorate a Lambda handler for the step named ``step``."""

    def decorate(fn: Handler) -> Handler:
        @functools.wraps(fn)
        def run(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
            global _cold_start
            cold_start, _cold_start = _cold_start, False
            body = event if isinstance(event, dict) else {}
            logger.thread_safe_clear_keys()
            logger.thread_safe_append_keys(
                cold_start=cold_start,
                **build_lambda_context_model(context).__dict__,
                correlation_id=body.get("execution"),
                step=step,
                role=body.get("role"),
            )
            started = time.monotonic()
            error = None
            try:
                # what this invocation creates records its execution; any AWS error leaves it classified
                with made_by(body.get("execution")), translate_errors():
                    result = fn(event, context)
            except Exception as exc:
                error = type(exc).__name__
                logger.warning("step failed", extra={"error": error})
                raise
            finally:
                emit_step_metrics(step, (time.monotonic() - started) * 1000, error)
            logger.info("step done")
            return result

        return tracer.capture_lambda_handler(capture_response=False)(run)

    return decorate
