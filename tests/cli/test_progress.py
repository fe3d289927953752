"""The progress printer: one line per step, wait loops collapsed, retries, failures and the rollback."""

from __future__ import annotations

import io
import json
import re

from msk_pair.cli.progress import ProgressPrinter, Tracker, short_reason


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

    def task(
        self,
        name: str,
        branch: str = "main",
        t: float = 0.0,
        fail: list[str] | None = None,
        message: str = "busy",
        output: dict | None = None,
    ) -> None:
        self.add("TaskStateEntered", branch, name, t)
        for error in fail or []:
            self.add("LambdaFunctionScheduled", branch, t=t)
            cause = json.dumps({"errorType": error, "errorMessage": message})
            self.add("LambdaFunctionFailed", branch, t=t, error=error, cause=cause)
        self.add("LambdaFunctionScheduled", branch, t=t)
        done = self.add("LambdaFunctionSucceeded", branch, t=t)
        if output is not None:
            done["lambdaFunctionSucceededEventDetails"] = {"output": json.dumps(output)}
        self.add("TaskStateExited", branch, name, t)

    def poll_loop(
        self, name: str, polls: int, branch: str = "main", every: float = 60.0, t0: float = 0.0, end: bool = True
    ) -> float:
        t = t0
        self.add("PassStateEntered", branch, f"{name}: start", t)
        self.add("PassStateExited", branch, f"{name}: start", t)
        for i in range(polls + 1):
            if i == polls and not end:
                break
            self.task(name, branch, t, output={"state": "CREATING" if i < polls else "ACTIVE", "done": "no"})
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


def printer(
    tty: bool = False, every: int = 10, verbose: bool = False, out: io.StringIO | None = None
) -> tuple[ProgressPrinter, io.StringIO]:
    out = out or io.StringIO()
    return ProgressPrinter(out, elapsed=lambda e: e["t"], tty=tty, poll_every=every, verbose=verbose), out


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


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
    assert "(poll 10: state=CREATING)" in text and "(poll 20: state=CREATING)" in text
    assert "✓ Primary: wait for cluster ACTIVE (25m00s, 25 polls)" in text
    assert len(text.splitlines()) == 4


def test_without_a_terminal_a_poll_line_says_what_the_last_check_saw():
    h = History()
    h.poll_loop("Wait for clusters ACTIVE", polls=10)
    p, out = printer(every=10)
    h.feed(p)
    assert "⋯ Wait for clusters ACTIVE (poll 10: state=CREATING)" in out.getvalue()


def test_on_a_terminal_a_live_panel_shows_both_regions_side_by_side_then_goes():
    h = History()
    h.add("ParallelStateEntered", name="Build")
    h.last["a"] = h.last["b"] = h.last["main"]
    h.poll_loop("Primary: wait for client online in SSM", polls=3, branch="a", end=False)
    h.add("TaskStateEntered", "b", "Secondary: launch client")
    p, out = printer(tty=True)
    h.feed(p)
    panel = ANSI.sub("", out.getvalue())
    header = next(line for line in panel.splitlines() if "Primary" in line and "Secondary" in line)
    assert header.index("Primary") < header.index("Secondary")  # one column per region
    last = panel.rsplit("now running:", 1)[1].splitlines()  # the panel as last drawn
    row = next(line for line in last if "wait for client online in SSM" in line)
    assert "▶ launch client" in row  # the other region's step, on the same line
    assert any("poll 3, last check: state=CREATING" in line for line in panel.splitlines())
    p.finish()
    # what stays on the screen once the panel is gone: one line per step, no poll lines
    permanent = [line for line in ANSI.sub("", out.getvalue()).splitlines() if line.startswith("[0:00:00] ▶")]
    assert "[0:00:00] ▶ Primary: wait for client online in SSM" in permanent
    assert {step.name: step.polls for step in p.running()} == {
        "Primary: wait for client online in SSM": 3,
        "Secondary: launch client": 0,
    }


def test_retries_are_summed_up_in_one_line_when_the_step_ends():
    h = History()
    message = "RunInstances: instance profile not usable yet: Value (arn:aws:iam::1:instance-profile/x) is invalid"
    h.task("Primary: launch client", fail=["Transient"] * 3, message=message)
    p, out = printer()
    h.feed(p)
    lines = out.getvalue().splitlines()
    assert lines == [
        "[0:00:00] ▶ Primary: launch client",
        "[0:00:00] ↻ Primary: launch client: 3 retries: instance profile not usable yet",
        "[0:00:00] ✓ Primary: launch client",
    ]
    assert "✗" not in out.getvalue()


def test_verbose_prints_each_retry_with_its_whole_cause():
    h = History()
    h.task("Peering: accept", fail=["Transient"])
    p, out = printer(verbose=True)
    h.feed(p)
    text = out.getvalue()
    assert "↻ Peering: accept: retry 1 after Transient: busy" in text
    assert "retries:" not in text and "✗" not in text


def test_short_reason_keeps_the_gist():
    assert short_reason("Transient: RunInstances: instance profile not usable yet: Value (x) is invalid") == (
        "instance profile not usable yet"
    )
    assert short_reason("Transient: VPC peering connection pcx-1 is not visible in us-west-2 yet") == (
        "VPC peering connection pcx-1 is not visible in us-west-2 yet"
    )


def test_a_terminal_that_cannot_show_the_glyphs_gets_ascii_marks():
    out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    h = History()
    h.task("Primary: launch client", fail=["Transient"])
    h.task("Primary client \\u2192 Secondary brokers")
    p, _ = printer(out=out)  # type: ignore[arg-type]
    h.feed(p)
    out.flush()
    text = out.buffer.getvalue().decode("ascii")  # type: ignore[attr-defined]
    assert "[0:00:00] > Primary: launch client" in text
    assert "[0:00:00] ~ Primary: launch client: 1 retry: busy" in text
    assert "[0:00:00] + Primary: launch client" in text
    assert "Primary client -> Secondary brokers" in text


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
    assert p.failed_step == ("Secondary: create cluster", "ResourceFailed: FAILED")


def test_the_rollback_outcome_is_known_from_the_states_it_went_through():
    for last_state, outcome, said in (
        ("Teardown done: why?", "complete", "(rolled back)"),
        ("Teardown failed", "failed", "(the rollback failed too)"),
    ):
        h = History()
        h.task("Secondary: create network", fail=["InjectedFault"])
        h.add("WaitStateEntered", name="Let in-flight tasks end")
        h.add("WaitStateExited", name="Let in-flight tasks end")
        h.add("ChoiceStateEntered" if "why" in last_state else "FailStateEntered", name=last_state)
        h.add("ExecutionFailed", error="InjectedFault", cause="boom")
        tracker = Tracker()
        for event in h.events:
            tracker(event)
        assert tracker.rollback.startswith(outcome)
        p, out = printer()
        h.feed(p)
        assert f"■ execution failed {said}: InjectedFault: boom" in out.getvalue()


def test_escaped_state_names_are_shown_as_written():
    h = History()
    h.task("Primary client \\u2192 Secondary brokers")
    p, out = printer()
    h.feed(p)
    assert "▶ Primary client → Secondary brokers" in out.getvalue()
