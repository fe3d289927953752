"""The progress printer: one line per step, wait loops collapsed, retries, failures and the rollback."""

from __future__ import annotations

import io

from msk_pair.cli import ProgressPrinter


class History:
    """Builds Step Functions history events the way the service chains them (previousEventId)."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.last: dict[str, int] = {}

    def add(self, kind: str, branch: str = "main", name: str | None = None, t: float = 0.0, **details) -> dict:
        event = {"id": len(self.events) + 1, "previousEventId": self.last.get(branch, 0), "type": kind, "t": t}
        if name is not None:
            key = "stateEnteredEventDetails" if kind.endswith("Entered") else "stateExitedEventDetails"
            event[key] = {"name": name}
        if details:
            event["lambdaFunctionFailedEventDetails" if "Lambda" in kind else "executionFailedEventDetails"] = details
        self.events.append(event)
        self.last[branch] = event["id"]
        return event

    def task(self, name: str, branch: str = "main", t: float = 0.0, fail: list[str] | None = None) -> None:
        self.add("TaskStateEntered", branch, name, t)
        for error in fail or []:
            self.add("LambdaFunctionScheduled", branch, t=t)
            self.add(
                "LambdaFunctionFailed",
                branch,
                t=t,
                error=error,
                cause=f'{{"errorType": "{error}", "errorMessage": "busy"}}',
            )
        self.add("LambdaFunctionScheduled", branch, t=t)
        self.add("LambdaFunctionSucceeded", branch, t=t)
        self.add("TaskStateExited", branch, name, t)

    def poll_loop(self, name: str, polls: int, branch: str = "main", every: float = 60.0, t0: float = 0.0) -> float:
        t = t0
        self.add("PassStateEntered", branch, f"{name}: start", t)
        self.add("PassStateExited", branch, f"{name}: start", t)
        for i in range(polls + 1):
            self.task(name, branch, t)
            self.add("ChoiceStateEntered", branch, f"{name}: ready?", t)
            self.add("ChoiceStateExited", branch, f"{name}: ready?", t)
            if i == polls:
                break
            self.add("WaitStateEntered", branch, f"{name}: wait", t)
            t += every
            self.add("WaitStateExited", branch, f"{name}: wait", t)
            self.add("PassStateEntered", branch, f"{name}: count", t)
            self.add("PassStateExited", branch, f"{name}: count", t)
        return t

    def feed(self, printer: ProgressPrinter) -> None:
        for event in self.events:
            printer(event)


def printer(tty: bool = False, every: int = 10) -> tuple[ProgressPrinter, io.StringIO]:
    out = io.StringIO()
    return ProgressPrinter(out, elapsed=lambda e: e["t"], tty=tty, poll_every=every), out


def test_a_wait_loop_is_one_start_line_and_one_done_line():
    h = History()
    t = h.poll_loop("Primary: wait for cluster ACTIVE", polls=5)
    h.add("PassStateEntered", name="Primary: associate secret", t=t)  # what follows the loop
    p, out = printer()
    h.feed(p)
    lines = out.getvalue().splitlines()
    assert lines == [
        "[0:00:00] ▶ Primary: wait for cluster ACTIVE",
        "[0:05:00] ✓ Primary: wait for cluster ACTIVE (5m00s, 5 polls)",
    ]


def test_without_a_terminal_a_long_loop_prints_every_n_polls():
    h = History()
    t = h.poll_loop("Primary: wait for cluster ACTIVE", polls=25)
    h.add("PassStateEntered", name="next", t=t)
    p, out = printer(every=10)
    h.feed(p)
    text = out.getvalue()
    assert text.count("⋯ Primary: wait for cluster ACTIVE (poll") == 2
    assert "(poll 10)" in text and "(poll 20)" in text
    assert "✓ Primary: wait for cluster ACTIVE (25m00s, 25 polls)" in text
    assert len(text.splitlines()) == 4


def test_on_a_terminal_the_polls_update_one_status_line():
    h = History()
    t = h.poll_loop("Secondary: wait for cluster ACTIVE", polls=12)
    h.add("PassStateEntered", name="next", t=t)
    p, out = printer(tty=True)
    h.feed(p)
    raw = out.getvalue()
    assert "(poll 12)" in raw and "\r\033[K" in raw  # the status line was rewritten in place
    permanent = [line for line in raw.replace("\r\033[K", "\n").splitlines() if line and "⋯" not in line]
    assert permanent == [
        "[0:00:00] ▶ Secondary: wait for cluster ACTIVE",
        "[0:12:00] ✓ Secondary: wait for cluster ACTIVE (12m00s, 12 polls)",
    ]


def test_a_retried_failure_is_a_retry_line_not_a_failure():
    h = History()
    h.task("Peering: accept", fail=["Transient"])
    p, out = printer()
    h.feed(p)
    text = out.getvalue()
    assert "↻ Peering: accept: retry 1 after Transient: busy" in text
    assert "✗" not in text
    assert "✓ Peering: accept" in text


def test_a_failure_in_a_parallel_shows_the_step_then_the_rollback():
    h = History()
    h.add("ParallelStateEntered", name="Build")
    h.add("ParallelStateStarted")
    h.last["a"] = h.last["b"] = h.last["main"]
    h.add("TaskStateEntered", "a", "Secondary: create cluster")
    h.add("LambdaFunctionScheduled", "a")
    h.add(
        "LambdaFunctionFailed",
        "a",
        error="ResourceFailed",
        cause='{"errorType": "ResourceFailed", "errorMessage": "FAILED"}',
    )
    h.add("TaskStateEntered", "b", "Primary: create cluster")
    h.add("LambdaFunctionScheduled", "b")
    h.add("ParallelStateFailed", "main")
    h.add("ParallelStateExited", "main", "Build")
    h.add("LambdaFunctionFailed", "b", error="Exception", cause="stopped branch noise")  # an aborted branch's task
    h.add("ChoiceStateEntered", "main", "Roll back?")
    h.add("ChoiceStateExited", "main", "Roll back?")
    h.add("WaitStateEntered", "main", "Let in-flight tasks end", t=130)
    h.add("WaitStateExited", "main", "Let in-flight tasks end", t=130)
    h.task("Teardown: delete client role", t=200)
    h.add(
        "ExecutionFailed",
        "main",
        t=200,
        error="ResourceFailed",
        cause='{"errorType": "ResourceFailed", "errorMessage": "FAILED"}',
    )
    p, out = printer()
    h.feed(p)
    text = out.getvalue()
    assert "✗ Secondary: create cluster: ResourceFailed: FAILED" in text
    assert "✗ Build: stopped, a step failed" in text
    assert "stopped branch noise" not in text
    assert "⟲ rolling back" in text
    assert "■ execution failed (rolled back): ResourceFailed: FAILED" in text
    assert p.result == "ExecutionFailed"


def test_escaped_state_names_are_shown_as_written():
    h = History()
    h.task("Primary client \\u2192 Secondary brokers")
    p, out = printer()
    h.feed(p)
    assert "▶ Primary client → Secondary brokers" in out.getvalue()
