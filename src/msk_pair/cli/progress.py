"""Live progress of an execution: Step Functions history events in, one line per step out.

The legend: ``▶`` running, ``✓`` done, ``↻`` retried, ``✗`` failed, ``⟲`` rolling back, ``■`` the end.

- A wait-until-ready loop (``X: start`` → ``X`` → ``X: ready?`` → ``X: wait`` → ``X: count`` → ``X`` ...)
  re-enters ``X`` once per poll: it shows as one ``▶ X`` line, then one ``✓ X (4m00s, 5 polls)`` line.
- A task failure is held back until it is known whether the state machine retries it. Retries are
  summarised in one line when the step ends (``↻ X: 3 retries: instance profile not usable yet``);
  ``verbose`` prints one line per retry with the whole cause instead.
- On a terminal, a live panel under the lines shows what runs now, one column per lane (Primary,
  Secondary, Peering...: both regions side by side), each wait loop with its poll count and its last
  check. Without a terminal, a ``⋯ X (poll N)`` line every ``poll_every`` polls.

:class:`Tracker` reads the events and knows where the execution is (``status`` uses it alone);
:class:`ProgressPrinter` renders it with rich (width, colours, ``NO_COLOR``) and falls back to ASCII
marks when the output's encoding cannot carry the glyphs.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

# State names the tracker recognises (the ASL's, src/msk_pair/asl.py).
ROLLBACK_WAIT = "Let in-flight tasks end"
RETAIN_CHOICE = "Roll back?"
TEARDOWN_DONE = "Teardown done: why?"
TEARDOWN_FAILED = "Teardown failed"
LOOP_READY, LOOP_WAIT, LOOP_START, LOOP_TIMED_OUT = ": ready?", ": wait", ": start", ": timed out"

FAILURE_EVENTS = frozenset(
    {
        "LambdaFunctionFailed",
        "LambdaFunctionTimedOut",
        "LambdaFunctionStartFailed",
        "LambdaFunctionScheduleFailed",
        "TaskFailed",
        "TaskTimedOut",
        "TaskStartFailed",
        "TaskSubmitFailed",
    }
)
SCHEDULED_EVENTS = frozenset({"LambdaFunctionScheduled", "TaskScheduled"})
SUCCEEDED_EVENTS = frozenset({"LambdaFunctionSucceeded", "TaskSucceeded"})

# The marks, and what stands in for them where the output's encoding has no such characters.
GLYPHS = {"▶": ">", "✓": "+", "↻": "~", "✗": "x", "⟲": "<", "■": "#", "⋯": "...", "│": "|", "→": "->", "…": "..."}
STYLES = {"▶": "cyan", "✓": "green", "↻": "yellow", "✗": "bold red", "⟲": "magenta", "■": "bold", "⋯": "dim"}
LANE_ORDER = ("Primary", "Secondary", "Peering", "Shared", "Teardown")


# -- formatting --------------------------------------------------------------------------------------
def fmt_elapsed(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h:d}:{m:02d}:{s:02d}"


def fmt_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    m, s = divmod(seconds, 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_API_TOKEN = re.compile(r"[A-Z][A-Za-z0-9]*(\.[A-Za-z0-9]+)?")


def state_name(details: dict[str, Any]) -> str:
    """A state's name for display (moto's engine keeps the ASL's ``\\uXXXX`` escapes: undo them)."""
    return _UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), details.get("name", "?"))


def describe_cause(cause: str | None) -> str:
    """A Lambda error's cause is a JSON document; show its message, not its stack trace."""
    if not cause:
        return ""
    try:
        doc = json.loads(cause)
    except ValueError:
        return cause
    if isinstance(doc, dict) and "errorMessage" in doc:
        return f"{doc.get('errorType', 'Error')}: {doc['errorMessage']}"
    return cause


def short_reason(text: str, limit: int = 80) -> str:
    """The gist of a cause: ``Transient: RunInstances: instance profile not usable yet: Value (...)``
    becomes ``instance profile not usable yet`` (error names and API operations dropped, details cut)."""
    parts = [p for p in text.split(": ") if p]
    while len(parts) > 1 and _API_TOKEN.fullmatch(parts[0]):
        parts = parts[1:]
    gist = parts[0] if parts else text
    return gist if len(gist) <= limit else gist[: limit - 1] + "…"


def details_of(event: dict[str, Any]) -> dict[str, Any]:
    return next((v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, dict)), {})


def split_lane(name: str) -> tuple[str, str]:
    """``Primary: create cluster`` -> (``Primary``, ``create cluster``); a name without a lane -> Workflow."""
    lane, sep, rest = name.partition(": ")
    if sep and lane and " " not in lane:
        return lane, rest
    return "Workflow", name


def check_summary(output: Any, limit: int = 4) -> str:
    """A wait loop's last check, in a few words: ``state=CREATING primary=CREATING``."""
    if isinstance(output, str):
        try:
            output = json.loads(output)
        except ValueError:
            return ""
    if not isinstance(output, dict):
        return ""
    items = [
        f"{k}={str(v).lower() if isinstance(v, bool) else v}"
        for k, v in output.items()
        if k != "done" and isinstance(v, str | int | float | bool) and len(str(v)) <= 40
    ]
    return " ".join(items[:limit])


# -- where the execution is --------------------------------------------------------------------------
@dataclass
class Loop:
    polls: int = 0
    active: bool = True
    entered: int | None = None
    last_check: str = ""


@dataclass
class Step:
    """Something running now: an open task or wait, or a wait loop between two checks."""

    name: str
    kind: str
    started: float
    polls: int = 0
    last_check: str = ""
    retries: int = 0

    @property
    def lane(self) -> str:
        return split_lane(self.name)[0]

    @property
    def label(self) -> str:
        return split_lane(self.name)[1]

    def describe(self, now: float, with_lane: bool = True) -> str:
        parts = []
        if now - self.started >= 1:
            parts.append(fmt_duration(now - self.started))
        if self.polls:
            parts.append(f"poll {self.polls}")
        if self.last_check:
            parts.append(f"last check: {self.last_check}")
        if self.retries:
            parts.append(f"↻ {self.retries}")
        text = self.name if with_lane else self.label
        return f"{text} ({', '.join(parts)})" if parts else text

    def to_dict(self, now: float) -> dict[str, Any]:
        return {
            "name": self.name,
            "lane": self.lane,
            "kind": self.kind,
            "seconds": round(max(0.0, now - self.started)),
            "polls": self.polls,
            "lastCheck": self.last_check or None,
            "retries": self.retries,
        }


Emit = Callable[[str, str], None]


class Tracker:
    """Reads Step Functions history events (oldest first) and knows where the execution is.

    ``emit(mark, text)`` receives one call per line worth printing; ``changed()`` is called when what
    runs now changed (for a live view).
    """

    def __init__(
        self,
        emit: Emit | None = None,
        elapsed: Callable[[dict[str, Any]], float] | None = None,
        poll_every: int = 10,
        verbose: bool = False,
        live: bool = False,
        changed: Callable[[], None] | None = None,
    ) -> None:
        self.emit = emit or (lambda mark, text: None)
        self.elapsed = elapsed or (lambda event: 0.0)
        self.poll_every = max(1, poll_every)
        self.verbose = verbose
        self.live = live
        self.changed = changed or (lambda: None)
        self.by_id: dict[int, dict[str, Any]] = {}
        self.attempts: dict[int, int] = {}
        self.open: dict[int, tuple[str, str]] = {}  # entered event id -> (kind, name)
        self.started: dict[int, float] = {}
        self.loops: dict[str, Loop] = {}
        self.pending: dict[int, str] = {}  # a failure not known yet to be retried or final
        self.retries: dict[int, list[str]] = {}  # entered event id (or loop's) -> short reasons
        self.aborted: set[int] = set()
        self.failed_parallels: set[int] = set()
        self.failed_seen = False
        self.failed_step: tuple[str, str] | None = None  # the first step that failed: (name, why)
        self.rolling_back = False
        self.teardown_announced = False
        self.teardown_completed = False
        self.teardown_failed = False
        self.retained = False
        self.existed = False  # the deployment existed when the run started (Plan changes said so)
        self.transitions = 0
        self.now = 0.0
        self.result: str | None = None
        self.error: tuple[str, str] | None = None  # the execution's (error, cause) once it failed

    # what runs now
    def running(self) -> list[Step]:
        """Open tasks and waits, and wait loops between two checks (Parallel states left out)."""
        steps: list[Step] = []
        seen: set[str] = set()
        for entered_id, (kind, name) in sorted(self.open.items()):
            if kind == "Parallel":
                continue
            loop = self.loops.get(name)
            started = self.started.get(loop.entered if loop and loop.entered else entered_id, self.now)
            steps.append(
                Step(
                    name,
                    "loop" if loop else kind.lower(),
                    started,
                    polls=loop.polls if loop else 0,
                    last_check=loop.last_check if loop else "",
                    retries=len(self.retries.get(entered_id, [])),
                )
            )
            seen.add(name)
        for name, loop in self.loops.items():
            if loop.active and name not in seen and loop.entered is not None:
                steps.append(Step(name, "loop", self.started.get(loop.entered, self.now), loop.polls, loop.last_check))
        lanes = {lane: i for i, lane in enumerate(LANE_ORDER)}
        return sorted(steps, key=lambda step: lanes.get(step.lane, len(lanes)))

    @property
    def phase(self) -> str:
        if self.result:
            return "ended"
        if self.rolling_back:
            return "rolling back"
        return "teardown" if self.teardown_announced else "running"

    @property
    def rollback(self) -> str | None:
        """How the rollback went: None (no failure), retained, in progress, complete or failed."""
        if self.retained:
            return "not done: onFailure is RETAIN, what was made is kept"
        if not self.rolling_back:
            return None
        if self.teardown_failed:
            return "failed: the teardown itself failed, some resources may be left (run `msk-pair teardown`)"
        if self.teardown_completed and self.existed:
            return "complete: what this run made was deleted; the deployment that existed before it is kept"
        if self.teardown_completed:
            return "complete: everything tagged with the deployment was deleted, in both regions"
        return "in progress"

    # bookkeeping
    def _state_of(self, event: dict[str, Any]) -> dict[str, Any] | None:
        current: dict[str, Any] | None = event
        for _ in range(10_000):
            if current is None:
                return None
            if current["type"].endswith("StateEntered"):
                return current
            current = self.by_id.get(current.get("previousEventId", 0))
        return None

    def _open_named(self, name: str) -> int | None:
        return next((i for i in sorted(self.open, reverse=True) if self.open[i][1] == name), None)

    def _name_of(self, entered_id: int) -> str:
        event = self.by_id.get(entered_id)
        return state_name(details_of(event)) if event else "?"

    def _dur(self, entered_id: int | None, polls: int = 0) -> str:
        parts = []
        if entered_id is not None and entered_id in self.started:
            took = self.now - self.started[entered_id]
            if took >= 1:
                parts.append(fmt_duration(took))
        if polls:
            parts.append(f"{polls} poll{'s' if polls != 1 else ''}")
        return f" ({', '.join(parts)})" if parts else ""

    def _summarise_retries(self, key: int, name: str) -> None:
        reasons = self.retries.pop(key, [])
        if not reasons or self.verbose:
            return
        distinct = list(dict.fromkeys(reasons))
        shown = "; ".join(distinct[:2]) + ("; …" if len(distinct) > 2 else "")
        n = len(reasons)
        self.emit("↻", f"{name}: {n} retr{'y' if n == 1 else 'ies'}: {shown}")

    def _fail(self, name: str, why: str) -> None:
        self.emit("✗", f"{name}: {why}")
        self.failed_seen = True
        if self.failed_step is None:
            self.failed_step = (name, why)

    def _flush_pending(self) -> None:
        for entered_id in sorted(self.pending):
            text = self.pending.pop(entered_id)
            if entered_id in self.aborted:
                continue
            name = self.open.get(entered_id, ("", self._name_of(entered_id)))[1]
            self._summarise_retries(entered_id, name)
            self._fail(name, text)
            loop = self.loops.get(name)
            if loop:
                loop.active = False

    def _announce_teardown(self) -> None:
        if self.teardown_announced:
            return
        self.teardown_announced = True
        if self.failed_seen or self.rolling_back:
            self.rolling_back = True
            self.emit("⟲", "rolling back: tearing down everything tagged with the deployment, both regions")
        else:
            self.emit("▶", "teardown: deleting everything tagged with the deployment, both regions")

    # events
    def __call__(self, event: dict[str, Any]) -> None:
        self.by_id[event["id"]] = event
        self.now = max(self.now, self.elapsed(event))
        kind = event["type"]
        if kind.endswith("StateEntered"):
            self._entered(event, kind)
        elif kind.endswith("StateExited"):
            self._exited(event, kind)
        elif kind in SCHEDULED_EVENTS:
            self._scheduled(event)
        elif kind in SUCCEEDED_EVENTS:
            self._succeeded(event)
        elif kind in FAILURE_EVENTS:
            state = self._state_of(event)
            if state and state["id"] not in self.aborted:
                details = details_of(event)
                text = describe_cause(details.get("cause"))[:300] or details.get("error") or kind
                self.pending[state["id"]] = text
        elif kind == "ParallelStateFailed":
            self._parallel_failed()
        elif kind.startswith("Execution") and kind != "ExecutionStarted":
            self._execution_ended(event, kind)

    def _entered(self, event: dict[str, Any], kind: str) -> None:
        self.transitions += 1
        name = state_name(event.get("stateEnteredEventDetails", {}))
        prev = self.by_id.get(event.get("previousEventId", 0))
        if prev and prev["type"] == "ChoiceStateExited":
            choice = state_name(details_of(prev))
            if choice.endswith(LOOP_READY) and choice[: -len(LOOP_READY)] in self.loops:
                self._loop_next(choice[: -len(LOOP_READY)], name)
            elif choice == RETAIN_CHOICE and kind.startswith("Fail"):
                self.retained = True
                self.emit("■", "onFailure is RETAIN: what was made is kept for debugging (no rollback)")
        if name == TEARDOWN_DONE:
            self.teardown_completed = True
        elif name == TEARDOWN_FAILED:
            self.teardown_failed = True
        if name.startswith("Teardown"):
            self._announce_teardown()
        if kind.startswith("Pass") and name.endswith(LOOP_START):
            self.loops[name[: -len(LOOP_START)]] = Loop()
            return
        if kind.startswith("Task"):
            self.open[event["id"]] = ("Task", name)
            loop = self.loops.get(name)
            if loop and loop.active and loop.polls:
                self.changed()
                return  # a re-check of a wait-until-ready loop: no line of its own
            self.started[event["id"]] = self.now
            if loop:
                loop.entered = event["id"]
            self.emit("▶", name)
        elif kind.startswith("Parallel"):
            self.open[event["id"]] = ("Parallel", name)
            self.started[event["id"]] = self.now
            self.emit("▶", name)
        elif kind.startswith("Wait"):
            if name.endswith(LOOP_WAIT) and name[: -len(LOOP_WAIT)] in self.loops:
                return
            self.open[event["id"]] = ("Wait", name)
            self.started[event["id"]] = self.now
            if name == ROLLBACK_WAIT:
                self.rolling_back = True
                self.emit("⟲", f"rolling back: {ROLLBACK_WAIT.lower()} first")
            else:
                self.emit("▶", name)

    def _loop_next(self, name: str, next_name: str) -> None:
        loop = self.loops[name]
        if next_name == f"{name}{LOOP_WAIT}":
            loop.polls += 1
            if self.live:
                self.changed()
            elif loop.polls % self.poll_every == 0:
                last = f": {loop.last_check}" if loop.last_check else ""
                self.emit("⋯", f"{name} (poll {loop.polls}{last})")
            return
        loop.active = False
        if loop.entered is not None:
            self._summarise_retries(loop.entered, name)
        if next_name == f"{name}{LOOP_TIMED_OUT}":
            self._fail(name, f"timed out{self._dur(loop.entered, loop.polls)}")
        else:
            self.emit("✓", f"{name}{self._dur(loop.entered, loop.polls)}")

    def _exited(self, event: dict[str, Any], kind: str) -> None:
        name = state_name(event.get("stateExitedEventDetails", {}))
        if name == "Plan changes":
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                output = json.loads(event["stateExitedEventDetails"].get("output") or "{}")
                self.existed = bool((output.get("plan") or {}).get("exists"))
        entered_id = self._open_named(name)
        if entered_id is None:
            return
        self.open.pop(entered_id, None)
        if entered_id in self.pending:
            self._flush_pending()  # caught by the state's own Catch
        if kind.startswith("Parallel"):
            if entered_id not in self.failed_parallels:
                self.emit("✓", f"{name}{self._dur(entered_id)}")
        elif kind.startswith("Task"):
            loop = self.loops.get(name)
            if loop and loop.active:
                if loop.entered is not None and entered_id != loop.entered and entered_id in self.retries:
                    self.retries.setdefault(loop.entered, []).extend(self.retries.pop(entered_id))
                self.changed()
                return
            self._summarise_retries(entered_id, name)
            self.emit("✓", f"{name}{self._dur(entered_id)}")
        elif kind.startswith("Wait"):
            self.changed()

    def _scheduled(self, event: dict[str, Any]) -> None:
        state = self._state_of(event)
        if not state:
            return
        n = self.attempts.get(state["id"], 0) + 1
        self.attempts[state["id"]] = n
        if n > 1:
            reason = self.pending.pop(state["id"], None) or "?"
            self.retries.setdefault(state["id"], []).append(short_reason(reason))
            if self.verbose:
                name = state_name(state.get("stateEnteredEventDetails", {}))
                self.emit("↻", f"{name}: retry {n - 1} after {reason}")
            else:
                self.changed()

    def _succeeded(self, event: dict[str, Any]) -> None:
        state = self._state_of(event)
        if not state:
            return
        loop = self.loops.get(state_name(state.get("stateEnteredEventDetails", {})))
        if loop is not None:
            loop.last_check = check_summary(details_of(event).get("output"))

    def _parallel_failed(self) -> None:
        self._flush_pending()
        parallels = [i for i, (k, _) in self.open.items() if k == "Parallel"]
        if not parallels:
            return
        pid = max(parallels)
        self.failed_parallels.add(pid)
        self.failed_seen = True
        for entered_id in [i for i in self.open if i > pid]:
            self.aborted.add(entered_id)
            self.retries.pop(entered_id, None)
            loop = self.loops.get(self.open[entered_id][1])
            if loop:
                loop.active = False
            self.open.pop(entered_id)
        self.open.pop(pid, None)
        self.emit("✗", f"{self._name_of(pid)}: stopped, a step failed")

    def _execution_ended(self, event: dict[str, Any], kind: str) -> None:
        self._flush_pending()
        for loop in self.loops.values():
            loop.active = False
        self.open.clear()
        self.result = kind
        details = details_of(event)
        if kind == "ExecutionSucceeded":
            self.emit("■", f"execution succeeded in {fmt_duration(self.now)}")
        elif kind == "ExecutionFailed":
            cause = describe_cause(details.get("cause"))[:300]
            error = details.get("error") or "?"
            self.error = (error, cause)
            if self.teardown_failed:
                how = " (the rollback failed too)" if self.rolling_back else ""
            elif self.retained:
                how = " (kept: onFailure is RETAIN)"
            else:
                how = " (rolled back)" if self.rolling_back else ""
            why = cause if cause.startswith(f"{error}:") else f"{error}: {cause}" if cause else error
            self.emit("■", f"execution failed{how}: {why}")
        elif kind == "ExecutionAborted":
            self.emit("■", "execution stopped (aborted)")
        elif kind == "ExecutionTimedOut":
            self.emit("■", "execution timed out")


# -- the view ----------------------------------------------------------------------------------------
def encodes(text: str, encoding: str | None) -> bool:
    try:
        text.encode(encoding or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def safe_text(text: str, encoding: str | None) -> str:
    """Text an output of ``encoding`` can carry: ASCII marks instead of the glyphs when needed, '?' for the rest."""
    encoding = encoding or "utf-8"
    if not encodes("".join(GLYPHS), encoding):
        for glyph, ascii_ in GLYPHS.items():
            text = text.replace(glyph, ascii_)
    return text.encode(encoding, "replace").decode(encoding)


class ProgressPrinter:
    """Prints a :class:`Tracker`'s lines with rich; on a terminal, a live panel of what runs now."""

    def __init__(
        self,
        out: TextIO,
        elapsed: Callable[[dict[str, Any]], float] | None = None,
        tty: bool | None = None,
        poll_every: int = 10,
        verbose: bool = False,
    ) -> None:
        if tty is None:
            isatty = getattr(out, "isatty", None)
            tty = bool(isatty and isatty())
        self.tty = tty
        self.encoding = getattr(out, "encoding", None) or "utf-8"
        self.console = Console(
            file=out,
            force_terminal=tty,
            highlight=False,
            markup=False,
            emoji=False,
            soft_wrap=True,
            legacy_windows=False,
        )
        self.tracker = Tracker(
            emit=self.line, elapsed=elapsed, poll_every=poll_every, verbose=verbose, live=tty, changed=self._refresh
        )
        self._live: Live | None = None

    # the tracker's state, for callers
    def __call__(self, event: dict[str, Any]) -> None:
        self.tracker(event)

    def __getattr__(self, name: str) -> Any:
        if name == "tracker":
            raise AttributeError(name)
        return getattr(self.tracker, name)

    # output
    def safe(self, text: str) -> str:
        return safe_text(text, self.encoding)

    def line(self, mark: str, text: str) -> None:
        line = Text()
        line.append(self.safe(f"[{fmt_elapsed(self.tracker.now)}] "), style="dim")
        line.append(self.safe(mark), style=STYLES.get(mark, ""))
        line.append(self.safe(f" {text}"))
        if self.tracker.result:
            self.finish()  # the end: no panel under the last line
        self.console.print(line)
        self._refresh()

    def _panel(self) -> Group:
        steps = self.tracker.running()
        lanes: dict[str, list[Step]] = {}
        for step in steps:
            lanes.setdefault(step.lane, []).append(step)
        order = [lane for lane in LANE_ORDER if lane in lanes] + [lane for lane in lanes if lane not in LANE_ORDER]
        table = Table(box=None, show_header=True, header_style="bold", padding=(0, 2), pad_edge=False, expand=True)
        for lane in order:
            table.add_column(self.safe(lane), overflow="ellipsis", no_wrap=True, ratio=1)
        for row in range(max((len(v) for v in lanes.values()), default=0)):
            cells = []
            for lane in order:
                column = lanes[lane]
                if row < len(column):
                    step = column[row]
                    mark = "⋯" if step.kind == "loop" else "▶"
                    cells.append(Text(self.safe(f"{mark} {step.describe(self.tracker.now, with_lane=False)}")))
                else:
                    cells.append(Text(""))
            table.add_row(*cells)
        head = Text(self.safe(f"[{fmt_elapsed(self.tracker.now)}] now {self.tracker.phase}:"), style="dim")
        return Group(head, table)

    def _refresh(self) -> None:
        if not self.tty or self.tracker.result:
            return
        if self._live is None:
            if not self.tracker.running():
                return
            # get_renderable: every redraw (ours, and the one after each printed line) shows what runs now
            self._live = Live(
                console=self.console,
                get_renderable=self._panel,
                auto_refresh=False,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start()
        self._live.refresh()

    def finish(self) -> None:
        """Remove the live panel (call once the execution has ended or following stops)."""
        if self._live is not None:
            self._live.stop()
            self._live = None
