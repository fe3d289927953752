"""How many history events one execution can record, derived from the ASL.

A Standard execution fails hard at 25,000 history events (no Catch runs, so no
rollback; see ``mskpair_core.timing``). The wait loops poll as often as
``timing.pollSeconds`` says for as long as the timeouts say, so an input can ask
for more than that. This module walks the state machine's definition (any
definition: nothing here names a state) and computes the largest number of events
one execution can record, as a function of the loops' limits:

- every state on a path costs the events AWS records for its type (below);
- every wait loop runs to its limit: it is recognized in the definition as a cycle
  with a counter (a Pass sets it, a Pass adds 1, a Choice leaves the loop at a
  ``NumericGreaterThanEquals[Path]`` bound: ``asl.poll_loop``), and its bound is
  either a number or a ``$.config.timing.<name>`` path, which becomes a variable;
- every Task runs its retriers to their ``MaxAttempts`` (each retrier counts its own
  attempts), except that a wait loop's check retries fully once per loop, not at
  every poll (see ``Retries``);
- a Parallel state records all its branches (they share the one history), each at
  its longest (when it fails: one branch fails, at the latest, the others run their
  longest meanwhile);
- of all the paths from the start, the longest: the longest provisioning, then the
  full teardown the rollback runs.

A cycle that is not such a counted loop, a Map, a Retry on a Parallel, a Task that is
not a Lambda function: the walk refuses them rather than guess.

The result is the maximum of a few linear forms ``c + a * maxClusterPolls + b *
maxClientPolls``. ``make asl`` writes them to the layer's ``history_model.json``
(``python -m msk_pair.history``; ``--check`` fails when it is stale), which
``Validate input`` reads to refuse an input whose worst case does not fit.

The same walk, given what one execution actually did (``Observed``: its polls, its
retries, the transitions it took, read from its history), predicts that execution's
event count: the tests compare it with the emulator's history, event for event.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

from msk_pair.asl import ASL_PATH

LAYER_PATH = ASL_PATH.parents[1] / "layers" / "common" / "python"
"""The Lambda layer (``mskpair_core``), where the model is written and read."""

# -- what AWS records ---------------------------------------------------------------------
# Event types from the Step Functions API reference, HistoryEvent
# (https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html).
EXECUTION_EVENTS = 2  # ExecutionStarted, then one of ExecutionSucceeded | ExecutionFailed
ENTERED_EXITED = 2  # <Type>StateEntered, <Type>StateExited: Pass, Choice, Wait, Succeed; a Task that ends or is caught
FAIL_STATE_EVENTS = 1  # FailStateEntered (the execution's or the branch's failure follows)
UNCAUGHT_TASK_EVENTS = 1  # TaskStateEntered: an uncaught failure has no TaskStateExited
ATTEMPT_EVENTS = 3  # LambdaFunctionScheduled, LambdaFunctionStarted, LambdaFunctionSucceeded | LambdaFunctionFailed
PARALLEL_EVENTS = (
    4  # ParallelStateEntered, ParallelStateStarted, ParallelStateSucceeded | ParallelStateFailed, ...Exited
)
UNCAUGHT_PARALLEL_EVENTS = 3  # the same without ParallelStateExited
# States Language: a retrier without MaxAttempts retries 3 times
# (https://states-language.net/spec.html#retrying-after-error).
DEFAULT_MAX_ATTEMPTS = 3

# A branch stopped because its sibling failed records, in place of the events its running state
# would have recorded, at most one "...StateAborted": never more than that state's own events,
# so counting every branch at its longest covers it.

LIMIT_PATH = re.compile(r"^\$\.config\.timing\.([A-Za-z]+)$")
"""A loop bound read from the validated config: its last name is the variable (validate computes it)."""
LAMBDA_RESOURCE = re.compile(r"^(\$\{[A-Za-z0-9]+Arn\}|arn:aws:lambda:.*|arn:aws:states:::lambda:invoke)$")


class ModelError(ValueError):
    """The definition has something the model does not know how to count."""


# -- linear forms ---------------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class Form:
    """``constant + sum(coefficient * variable)``, non-negative, over the loops' limits."""

    constant: int = 0
    terms: tuple[tuple[str, int], ...] = ()

    @staticmethod
    def of(constant: int = 0, **terms: int) -> Form:
        return Form(constant, tuple(sorted((k, v) for k, v in terms.items() if v)))

    @property
    def coefficients(self) -> dict[str, int]:
        return dict(self.terms)

    def __add__(self, other: Form | int) -> Form:
        other = other if isinstance(other, Form) else Form(other)
        terms = Counter(self.coefficients)
        terms.update(other.coefficients)
        return Form.of(self.constant + other.constant, **terms)

    def times(self, factor: Form | int) -> Form:
        """The product with ``factor``; one of the two must be a constant (the model stays linear)."""
        if isinstance(factor, Form) and factor.terms:
            if self.terms:
                raise ModelError(f"not linear: ({self}) x ({factor})")
            return factor.times(self.constant)
        k = factor.constant if isinstance(factor, Form) else factor
        return Form.of(self.constant * k, **{name: c * k for name, c in self.terms})

    def value(self, limits: Mapping[str, int]) -> int:
        return self.constant + sum(c * limits[name] for name, c in self.terms)

    def covers(self, other: Form) -> bool:
        """At least ``other`` for every value of the variables (they are never negative)."""
        mine = self.coefficients
        return self.constant >= other.constant and all(mine.get(n, 0) >= c for n, c in other.terms)

    def __str__(self) -> str:
        return " + ".join([str(self.constant), *(f"{c} * {n}" for n, c in self.terms)])


Frontier = tuple[Form, ...]
"""The maximum of these forms; none covers another."""


def frontier(forms: Iterable[Form]) -> Frontier:
    kept: list[Form] = []
    for form in sorted(set(forms), reverse=True):
        if not any(k.covers(form) for k in kept):
            kept.append(form)
    return tuple(sorted(kept))


def shifted(forms: Frontier, by: Form | int) -> Frontier:
    return frontier(f + by for f in forms)


def summed(parts: Iterable[Frontier]) -> Frontier:
    """The maximum of a sum is the sum of the maxima, taken over every combination."""
    total: Frontier = (Form(),)
    for part in parts:
        if not part:
            return ()
        total = frontier(a + b for a in total for b in part)
    return total


def at_most(forms: Frontier, limits: Mapping[str, int]) -> int:
    return max(f.value(limits) for f in forms)


# -- the definition's graph -------------------------------------------------------------------
class End(Enum):
    OK = "ok"  # the graph (branch or execution) ends well: End: true, Succeed
    FAILED = "failed"  # it ends failed: Fail, an uncaught error


@dataclass(frozen=True)
class Exit:
    """One way out of a state: to ``target`` (a state of the same graph) or ending the graph (``end``)."""

    target: str | None
    end: End | None
    events: int  # the state's own events on a visit that leaves this way (attempts and branches aside)
    normal: bool  # by its Next, End, Default or a Choice rule; not by a Catch nor an uncaught failure


def _exits(name: str, state: dict[str, Any]) -> list[Exit]:
    kind = state["Type"]
    if kind in ("Pass", "Wait", "Choice", "Succeed"):
        targets = [state[k] for k in ("Next", "Default") if k in state]
        targets += [rule["Next"] for rule in state.get("Choices", [])]
        exits = [Exit(t, None, ENTERED_EXITED, normal=True) for t in dict.fromkeys(targets)]
        if kind == "Succeed" or state.get("End"):
            exits.append(Exit(None, End.OK, ENTERED_EXITED, normal=True))
        return exits
    if kind == "Fail":
        return [Exit(None, End.FAILED, FAIL_STATE_EVENTS, normal=False)]
    if kind in ("Task", "Parallel"):
        events, uncaught = (
            (ENTERED_EXITED, UNCAUGHT_TASK_EVENTS) if kind == "Task" else (PARALLEL_EVENTS, UNCAUGHT_PARALLEL_EVENTS)
        )
        exits = [Exit(state.get("Next"), None if "Next" in state else End.OK, events, normal=True)]
        catchers = state.get("Catch", [])
        exits += [Exit(c["Next"], None, events, normal=False) for c in catchers]
        if not any("States.ALL" in c["ErrorEquals"] for c in catchers):
            exits.append(Exit(None, End.FAILED, uncaught, normal=False))
        return exits
    raise ModelError(f"state {name!r}: type {kind} is not modelled")


def _max_attempts(name: str, state: dict[str, Any]) -> int:
    """Attempts after the first, every retrier exhausted (each retrier counts its own)."""
    if state["Type"] == "Parallel" and state.get("Retry"):
        raise ModelError(f"state {name!r}: a Retry on a Parallel state is not modelled")
    return sum(r.get("MaxAttempts", DEFAULT_MAX_ATTEMPTS) for r in state.get("Retry", []))


@dataclass
class Loop:
    """A counted wait loop: a cycle through a check, a Choice that leaves at a bound, a Pass that counts."""

    cycle: list[str]  # from the entry, in order
    choice: int  # index in cycle of the Choice with the bound
    bound: Form  # the bound, a variable (a timing limit) or a number
    start_value: int  # the counter's value on entering
    counts_before_choice: bool  # the counting Pass comes before the Choice in the cycle

    @property
    def entry(self) -> str:
        return self.cycle[0]

    def passes(self) -> Form:
        """How often the loop enters its first state, at most, when it leaves at (or before) its Choice.

        The Choice sees the counter at ``start`` (+1 if the count comes first), one more each pass,
        and leaves when it reaches the bound.
        """
        return self.bound + (-self.start_value + (0 if self.counts_before_choice else 1))


def _strongly_connected(states: Mapping[str, dict[str, Any]]) -> list[list[str]]:
    """Tarjan's algorithm over the transitions (Next, Default, Choices, Catch)."""
    edges = {n: [e.target for e in _exits(n, s) if e.target] for n, s in states.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in edges[node]:
                found.append(component)

    for node in states:
        if node not in index:
            visit(node)
    return found


def _loop(states: Mapping[str, dict[str, Any]], start: str, members: list[str]) -> Loop:
    inside = set(members)
    where = ", ".join(sorted(inside))
    entries = {e.target for n, s in states.items() if n not in inside for e in _exits(n, s) if e.target in inside}
    entries |= {start} & inside
    if len(entries) != 1:
        raise ModelError(f"loop ({where}): entered at {sorted(entries)}, not at one state")
    (entry,) = entries
    cycle = [entry]
    while True:
        following = [e.target for e in _exits(cycle[-1], states[cycle[-1]]) if e.target in inside]
        if len(following) != 1:
            raise ModelError(f"loop ({where}): {cycle[-1]!r} has {len(following)} ways on inside the loop, not one")
        if following[0] == entry:
            break
        cycle.append(following[0])
    if set(cycle) != inside:
        raise ModelError(f"loop ({where}): not a single cycle")

    bounds = []
    for i, n in enumerate(cycle):
        for rule in states[n].get("Choices", []) if states[n]["Type"] == "Choice" else []:
            if rule["Next"] in inside:
                continue
            if "NumericGreaterThanEqualsPath" in rule:
                match = LIMIT_PATH.match(rule["NumericGreaterThanEqualsPath"])
                if not match:
                    raise ModelError(
                        f"loop ({where}): bound {rule['NumericGreaterThanEqualsPath']} is not a timing limit"
                    )
                bounds.append((i, rule["Variable"], Form.of(**{match[1]: 1})))
            elif "NumericGreaterThanEquals" in rule:
                bounds.append((i, rule["Variable"], Form.of(int(rule["NumericGreaterThanEquals"]))))
    if len(bounds) != 1:
        raise ModelError(f"loop ({where}): {len(bounds)} counter bounds, not one: it may never end")
    choice, counter, bound = bounds[0]

    parent, _, key = counter.rpartition(".")
    adds = [
        i
        for i, n in enumerate(cycle)
        if states[n]["Type"] == "Pass"
        and states[n].get("ResultPath") == parent
        and states[n].get("Parameters", {}).get(f"{key}.$") == f"States.MathAdd({counter}, 1)"
    ]
    if len(adds) != 1:
        raise ModelError(f"loop ({where}): {counter} is not counted by exactly one Pass")
    ways_in = [s for n, s in states.items() if n not in inside and any(e.target == entry for e in _exits(n, s))]
    starts = [
        s.get("Result", {}).get(key) if s["Type"] == "Pass" and s.get("ResultPath") == parent else None for s in ways_in
    ]
    if entry == start:
        starts.append(None)  # entered at the start: nothing set the counter
    if not starts or any(not isinstance(v, int) for v in starts):
        raise ModelError(f"loop ({where}): every way in must set {counter} to a number (a Pass with a Result)")
    return Loop(cycle, choice, bound, min(starts), adds[0] < choice)


# -- how many attempts and passes: the policy ----------------------------------------------------
class Retries(Enum):
    """How the worst case counts a wait loop's check retries.

    ``EVERY_POLL`` is the literal bound: every poll's check exhausts all its retriers (a
    teardown check alone retries ``ResourceInUse`` 60 times: 180 events a poll). Read that way
    no timing fits the budget, so it cannot tell a safe input from an unsafe one; a retry storm
    on every single poll of a loop is not what an input chooses. ``ONCE_PER_LOOP``, what the
    layer's model uses, counts one attempt per poll plus one poll per loop that exhausts every
    retrier; the budget's margin (``mskpair_core.timing.HISTORY_SAFETY_MARGIN``) is there for
    the retries beyond that.
    """

    ONCE_PER_LOOP = "once per loop"
    EVERY_POLL = "every poll"


class Policy(Protocol):
    def allows(self, source: str, exit_: Exit) -> bool: ...

    def passes(self, loop: Loop, leaves_at: int) -> Form: ...

    def attempts(self, name: str, state: dict[str, Any], visits: Form, in_loop: bool) -> Form: ...


@dataclass
class WorstCase:
    retries: Retries = Retries.ONCE_PER_LOOP

    def allows(self, source: str, exit_: Exit) -> bool:
        return True

    def passes(self, loop: Loop, leaves_at: int) -> Form:
        # Leaving after the Choice (a failure in the wait or the count) happens a pass earlier at most.
        return loop.passes() + (0 if leaves_at <= loop.choice else -1)

    def attempts(self, name: str, state: dict[str, Any], visits: Form, in_loop: bool) -> Form:
        retries = _max_attempts(name, state)
        if in_loop and self.retries is Retries.ONCE_PER_LOOP:
            return visits + retries
        return visits.times(1 + retries)


@dataclass
class Observed:
    """What one execution did, read from its history: the walk then follows exactly that path."""

    events: list[dict[str, Any]]
    visits: Counter[str] = field(default_factory=Counter)
    tries: Counter[str] = field(default_factory=Counter)  # Lambda attempts, by task state
    taken: set[tuple[str, str]] = field(default_factory=set)  # transitions: (from, to)
    unfinished: set[str] = field(default_factory=set)  # states entered more often than exited (Fail, uncaught)

    def __post_init__(self) -> None:
        by_id = {e["id"]: e for e in self.events}
        exited: Counter[str] = Counter()
        for event in self.events:
            if entered := event.get("stateEnteredEventDetails"):
                self.visits[entered["name"]] += 1
                before = by_id.get(event["previousEventId"], {}).get("stateExitedEventDetails")
                if before:
                    self.taken.add((before["name"], entered["name"]))
            elif left := event.get("stateExitedEventDetails"):
                exited[left["name"]] += 1
            elif event["type"] in ("LambdaFunctionScheduled", "TaskScheduled"):
                self.tries[self._task_of(event, by_id)] += 1
        self.unfinished = {n for n, count in self.visits.items() if count > exited[n]}

    @staticmethod
    def _task_of(event: dict[str, Any], by_id: Mapping[int, dict[str, Any]]) -> str:
        while event["type"] != "TaskStateEntered":  # previousEventId chains an attempt back to its state
            event = by_id[event["previousEventId"]]
        return event["stateEnteredEventDetails"]["name"]

    def allows(self, source: str, exit_: Exit) -> bool:
        if exit_.target is not None:
            return (source, exit_.target) in self.taken
        if exit_.end is End.FAILED:
            return source in self.unfinished
        return self.visits[source] > 0

    def passes(self, loop: Loop, leaves_at: int) -> Form:
        return Form.of(self.visits[loop.entry])

    def attempts(self, name: str, state: dict[str, Any], visits: Form, in_loop: bool) -> Form:
        return Form.of(self.tries[name])


# -- the walk ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    ok: Frontier  # the longest ways to end well (End, Succeed)
    failed: Frontier  # the longest ways to end failed (Fail, an uncaught error)

    @property
    def any(self) -> Frontier:
        return frontier(self.ok + self.failed)


class Graph:
    """The states of the execution or of one Parallel branch."""

    def __init__(self, states: Mapping[str, dict[str, Any]], start: str, policy: Policy) -> None:
        self.states = states
        self.start = start
        self.policy = policy
        self.loop_of: dict[str, Loop] = {}
        for members in _strongly_connected(states):
            loop = _loop(states, start, members)
            self.loop_of.update({n: loop for n in loop.cycle})
        self._memo: dict[str, Outcome] = {}
        self._busy: set[str] = set()

    def outcome(self, name: str | None = None) -> Outcome:
        name = name or self.start
        loop = self.loop_of.get(name)
        if loop and name != loop.entry:
            raise ModelError(f"{name!r} is entered in the middle of its loop")
        if name in self._memo:
            return self._memo[name]
        if name in self._busy:
            raise ModelError(f"{name!r} is on a cycle that is not a counted loop")
        self._busy.add(name)
        ways = self._loop_ways(loop) if loop else self._state_ways(name)
        ok: list[Form] = []
        failed: list[Form] = []
        for cost, exit_ in ways:
            if exit_.target is not None:
                then = self.outcome(exit_.target)
                ok += [a + b for a in cost for b in then.ok]
                failed += [a + b for a in cost for b in then.failed]
            else:
                (ok if exit_.end is End.OK else failed).extend(cost)
        self._busy.discard(name)
        self._memo[name] = Outcome(frontier(ok), frontier(failed))
        return self._memo[name]

    def _own_events(self, name: str, exit_: Exit) -> Frontier:
        """One visit of a state outside loops that leaves by ``exit_``: its events, attempts, branches."""
        state = self.states[name]
        events = Form.of(exit_.events)
        if state["Type"] == "Task":
            _check_lambda(name, state)
            events = events + self.policy.attempts(name, state, Form.of(1), in_loop=False).times(ATTEMPT_EVENTS)
        if state["Type"] == "Parallel":
            _max_attempts(name, state)
            branches = [Graph(b["States"], b["StartAt"], self.policy).outcome() for b in state["Branches"]]
            if exit_.normal:  # every branch ended well
                return shifted(summed(b.ok for b in branches), events)
            # One branch failed, maybe at its very end, after the others ran as long as they can.
            failing = [
                summed(b.failed if i == j else b.any for j, b in enumerate(branches)) for i in range(len(branches))
            ]
            return shifted(frontier(f for forms in failing for f in forms), events)
        return (events,)

    def _state_ways(self, name: str) -> list[tuple[Frontier, Exit]]:
        state = self.states[name]
        return [(self._own_events(name, e), e) for e in _exits(name, state) if self.policy.allows(name, e)]

    def _loop_ways(self, loop: Loop) -> list[tuple[Frontier, Exit]]:
        ways = []
        for at, name in enumerate(loop.cycle):
            inside = set(loop.cycle)
            for exit_ in _exits(name, self.states[name]):
                if exit_.target in inside or not self.policy.allows(name, exit_):
                    continue
                passes = self.policy.passes(loop, at)
                total = Form()
                for k, member in enumerate(loop.cycle):
                    state = self.states[member]
                    if state["Type"] not in ("Task", "Pass", "Wait", "Choice"):
                        raise ModelError(f"loop at {loop.entry!r}: a {state['Type']} state inside is not modelled")
                    visits = passes + (0 if k <= at else -1)  # the last pass stops at the state that leaves
                    around = next(e for e in _exits(member, state) if e.target in inside)
                    last = exit_ if k == at else around
                    total = total + Form.of(around.events).times(visits + (-1)) + last.events
                    if state["Type"] == "Task":
                        _check_lambda(member, state)
                        total = total + self.policy.attempts(member, state, visits, in_loop=True).times(ATTEMPT_EVENTS)
                ways.append(((total,), exit_))
        return ways


def _check_lambda(name: str, state: dict[str, Any]) -> None:
    if not LAMBDA_RESOURCE.match(state["Resource"]) or state["Resource"].endswith((".sync", ".waitForTaskToken")):
        raise ModelError(f"task {name!r}: resource {state['Resource']} is not a Lambda function, not modelled")


def execution_events(definition: dict[str, Any], policy: Policy | None = None) -> Frontier:
    """The most events one execution of ``definition`` records: the maximum of these forms."""
    graph = Graph(definition["States"], definition["StartAt"], policy or WorstCase())
    return shifted(graph.outcome().any, EXECUTION_EVENTS)


def observed_events(definition: dict[str, Any], events: list[dict[str, Any]]) -> int:
    """What the model predicts for the path one execution took, with its polls and retries (from ``events``)."""
    forms = execution_events(definition, Observed(events))
    if len(forms) != 1 or forms[0].terms:
        raise ModelError(f"the history does not pin one path: {[str(f) for f in forms]}")
    return forms[0].constant


def loop_passes(definition: dict[str, Any]) -> dict[str, Form]:
    """Every wait loop (by its first state, Parallel branches included) and how often it checks, at most."""
    found: dict[str, Form] = {}

    def visit(states: Mapping[str, dict[str, Any]], start: str) -> None:
        graph = Graph(states, start, WorstCase())
        found.update({loop.entry: loop.passes() for loop in graph.loop_of.values()})
        for state in states.values():
            for branch in state.get("Branches", []):
                visit(branch["States"], branch["StartAt"])

    visit(definition["States"], definition["StartAt"])
    return found


# -- the layer's data file -------------------------------------------------------------------------
def render_model(definition: dict[str, Any]) -> str:
    forms = execution_events(definition, WorstCase(Retries.ONCE_PER_LOOP))
    model = {
        "comment": (
            "Generated by `make asl` (python -m msk_pair.history) from statemachine/msk_pair.asl.json: do not edit. "
            "The most history events one execution can record is the maximum over `forms` of constant + "
            "the sum of coefficient * loop limit (the loop limits are what Validate input puts in config.timing). "
            "Counted: every state's events, every wait loop at its limit, every task's retriers at MaxAttempts "
            "(a wait loop's check: once per loop), every Parallel branch at its longest, the longest path."
        ),
        "forms": [{"constant": f.constant, **f.coefficients} for f in forms],
    }
    return json.dumps(model, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the layer's history_model.json from the committed ASL (``--check``: exit 1 if stale).

    ``--print`` shows the model and the worst case of the default timing instead of writing.
    """
    if str(LAYER_PATH) not in sys.path:  # as `python -m msk_pair.history` (make asl): the layer is not installed
        sys.path.insert(0, str(LAYER_PATH))
    from mskpair_core import catalog, timing

    args = sys.argv[1:] if argv is None else argv
    path = Path(args[args.index("--out") + 1]) if "--out" in args else timing.MODEL_PATH
    text = render_model(json.loads(ASL_PATH.read_text()))
    if "--check" in args:
        if not path.exists() or path.read_text() != text:
            print(f"{path} is stale: run `make asl`", file=sys.stderr)
            return 1
        return 0
    if "--print" in args:
        defaults = catalog.defaults()["timing"]
        print(text, end="")
        print(
            f"default timing {defaults}: at most {timing.worst_case_events(defaults, json.loads(text)):,} events; "
            f"budget {timing.HISTORY_BUDGET:,} ({timing.HISTORY_EVENT_LIMIT:,} less a margin of "
            f"{timing.HISTORY_SAFETY_MARGIN:,})"
        )
        return 0
    path.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
