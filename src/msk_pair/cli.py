"""msk-pair's command line.

    msk-pair run --local events/region-pair.json     # the whole workflow on the embedded emulator
    msk-pair validate events/region-pair.json        # check an input file against the contract, offline

Progress is shown state by state as it happens: entered, succeeded, failed,
retried, with the emulated time at which it happened.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _fmt_elapsed(seconds: float) -> str:
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h:d}:{m:02d}:{s:02d}"


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


class ProgressPrinter:
    """Turns Step Functions history events into one line per state transition."""

    ENTERED = "StateEntered"
    EXITED = "StateExited"

    def __init__(self, out: TextIO, elapsed: Any = None) -> None:
        self.out = out
        self.elapsed = elapsed or (lambda: 0.0)
        self.by_id: dict[int, dict[str, Any]] = {}
        self.attempts: dict[int, int] = {}
        self.failed: set[int] = set()
        self.parallels: list[dict[str, Any]] = []
        self.transitions = 0

    def _state_of(self, event: dict[str, Any]) -> dict[str, Any] | None:
        seen = 0
        current: dict[str, Any] | None = event
        while current is not None and seen < 10_000:
            if current["type"].endswith(self.ENTERED):
                return current
            current = self.by_id.get(current.get("previousEventId", 0))
            seen += 1
        return None

    def line(self, mark: str, text: str) -> None:
        print(f"[{_fmt_elapsed(self.elapsed())}] {mark} {text}", file=self.out, flush=True)

    def __call__(self, event: dict[str, Any]) -> None:
        self.by_id[event["id"]] = event
        kind = event["type"]
        if kind.endswith(self.ENTERED):
            self.transitions += 1
            name = event["stateEnteredEventDetails"]["name"]
            if kind.startswith("Parallel"):
                self.parallels.append(event)
            if kind.startswith(("Task", "Parallel", "Wait")):
                self.line("▶", name)
            return
        if kind.endswith(self.EXITED):
            name = event["stateExitedEventDetails"]["name"]
            entered = next((p for p in reversed(self.parallels) if p["stateEnteredEventDetails"]["name"] == name), None)
            if kind.startswith("Parallel") and entered:
                self.parallels.remove(entered)
                if entered["id"] in self.failed:
                    return
            if kind.startswith(("Task", "Parallel")):
                self.line("✓", name)
            return
        state = self._state_of(event)
        name = state["stateEnteredEventDetails"]["name"] if state else "?"
        if kind in ("LambdaFunctionScheduled", "TaskScheduled") and state:
            n = self.attempts.get(state["id"], 0) + 1
            self.attempts[state["id"]] = n
            if n > 1:
                self.line("↻", f"{name}: retry {n - 1}")
        elif kind == "ParallelStateFailed" and self.parallels:
            parallel = self.parallels[-1]
            self.failed.add(parallel["id"])
            self.line("✗", f"{parallel['stateEnteredEventDetails']['name']}: a branch failed")
        elif kind.endswith("Failed") and kind not in ("ExecutionFailed",):
            details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            self.line("✗", f"{name}: {describe_cause(details.get('cause'))[:300] or details.get('error', kind)}")
        elif kind == "ExecutionSucceeded":
            self.line("■", "execution succeeded")
        elif kind == "ExecutionFailed":
            details = event.get("executionFailedEventDetails", {})
            self.line("■", f"execution failed: {details.get('error')}")


def _read_input(path: str) -> dict[str, Any]:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise SystemExit(f"msk-pair: cannot read input file {path}: {exc.strerror}") from None
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise SystemExit(f"msk-pair: {path} is not valid JSON: {exc}") from None
    return doc


def cmd_run(args: argparse.Namespace) -> int:
    if not args.local:
        print("msk-pair: only --local (the embedded emulator) is available in this version", file=sys.stderr)
        return EXIT_USAGE
    from msk_pair.emulator.engine import Emulator
    from msk_pair.emulator.profile import FAST, LatencyProfile

    request = _read_input(args.input)
    profile = LatencyProfile.load(args.profile) if args.profile else FAST
    out = sys.stdout
    with Emulator(profile=profile, pace=args.pace, log_level=args.log_level) as emu:
        for spec in args.fail or []:
            function, _, role = spec.partition(":")
            emu.faults.add(function, role=role or None, times=None)
        printer = ProgressPrinter(out, elapsed=lambda: emu.clock.latest() - emu.clock.start)
        print(f"msk-pair: starting on the emulator: {emu.state_machine_arn}", file=out)
        result = emu.run(request, on_event=printer)
        print(file=out)
        if result.status == "SUCCEEDED":
            print(json.dumps(result.output, indent=2), file=out)
            return EXIT_OK
        print(f"execution {result.status}: {result.error}", file=out)
        print(f"cause: {describe_cause(result.cause)}", file=out)
        return EXIT_FAILED


def cmd_validate(args: argparse.Namespace) -> int:
    from msk_pair.emulator.engine import Emulator
    from mskpair_core.config import validate_request
    from mskpair_core.errors import InvalidInput

    request = _read_input(args.input)
    # Availability zones are looked up on the emulator's regions (offline).
    with Emulator():
        from mskpair_core.network import availability_zones

        try:
            config = validate_request(request, az_lookup=availability_zones)
        except InvalidInput as exc:
            print(f"InvalidInput: {exc}", file=sys.stderr)
            return EXIT_FAILED
    print(json.dumps(config, indent=2))
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="msk-pair", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start a provisioning (or teardown) execution and follow it")
    run.add_argument("input", help="region-pair JSON file (events/region-pair.json is the sample)")
    run.add_argument("--local", action="store_true", help="run on the embedded emulator (no AWS account needed)")
    run.add_argument("--profile", help="latency profile JSON for the emulator (emulated durations)")
    run.add_argument(
        "--pace", type=float, default=0.0, help="real seconds per emulated second, to watch progress (default 0)"
    )
    run.add_argument("--log-level", default="CRITICAL", help="handlers' Powertools log level on the emulator")
    run.add_argument(
        "--fail",
        action="append",
        metavar="FUNCTION[:ROLE]",
        help="emulator: make this function fail (e.g. CreateNetworkFunction:secondary), to watch the rollback",
    )
    run.set_defaults(func=cmd_run)
    val = sub.add_parser("validate", help="check an input file against the contract (offline)")
    val.add_argument("input")
    val.set_defaults(func=cmd_validate)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
