"""msk-pair's command line: one tool for a real AWS account and for the local emulator.

    msk-pair start events/region-pair.json           # validate locally, start a provisioning, follow it live
    msk-pair follow EXECUTION_ARN                      # live progress of an execution (started anywhere)
    msk-pair status orders-dr                          # where a deployment is: steps running now, failed step,
                                                       #   rollback, what exists (or an EXECUTION_ARN)
    msk-pair list                                      # the deployments in the account, found by tag
    msk-pair outputs --deployment orders-dr [--mm2 F]  # bootstrap strings, SSM shell, MirrorMaker 2
    msk-pair teardown --deployment orders-dr           # show what is tagged with it, ask, delete it

Real AWS: the usual settings (AWS_PROFILE or --aws-profile; the region from --region, AWS_REGION,
AWS_DEFAULT_REGION, the profile, then samconfig.toml's deploy region); the state machine is the
CloudFormation stack output ProvisionStateMachineArn (--stack-name, default from samconfig.toml,
else msk-pair) or --state-machine-arn.

Local: add --local to any command to use the emulator server that `msk-pair emulator serve`
runs (default http://127.0.0.1:5055). It keeps its deployments in memory: restarting it loses them.

    msk-pair emulator serve [--port 5055] [--pace X]   # the emulator as a local server, for --local
    msk-pair run --local events/region-pair.json       # one-shot: the whole workflow in this process
    msk-pair validate events/region-pair.json          # check an input file against the contract, offline

Exit status: 0 success, 1 the execution failed (or the deployment asked about is gone), 2 a usage
error (bad input file, bad option, no credentials, no stack, unknown execution), 130 interrupted.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from importlib import metadata
from typing import Any, NoReturn

from msk_pair.cli.backends import DEFAULT_ENDPOINT, DEFAULT_STACK, STACK_OUTPUT
from msk_pair.cli.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, CliError
from msk_pair.cli.inputs import non_negative, port, positive

# A hint for options people bring from elsewhere, by the option as typed.
OPTION_HINTS = {
    "--profile": (
        "--profile: in msk-pair the AWS profile is --aws-profile NAME (or AWS_PROFILE=NAME); "
        "the emulator's latency profile is --latency-profile FILE"
    ),
}


class Parser(argparse.ArgumentParser):
    """argparse, with a subcommand's own usage on its errors, and hints for options from other tools."""

    commands: dict[str, Parser]

    def parse_args(self, args: Any = None, namespace: Any = None) -> argparse.Namespace:  # type: ignore[override]
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            # argparse hands unknown options of a subcommand back to the top level; its usage is the one to show
            names = [getattr(parsed, "command", None), getattr(parsed, "emulator_command", None)]
            name = " ".join(n for n in names if n)
            self.commands.get(name, self).error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed

    def error(self, message: str) -> NoReturn:
        hints = [hint for option, hint in OPTION_HINTS.items() if f" {option}" in f" {message}"]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}" + "".join(f"\n{self.prog}: {h}" for h in hints) + "\n")


def _sub(sub: Any, name: str, top: Parser, prefix: str = "", **kwargs: Any) -> Parser:
    p = sub.add_parser(name, **kwargs)
    top.commands[f"{prefix}{name}"] = p
    return p


def _target_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("where")
    g.add_argument("--local", action="store_true", help="use the emulator server (`msk-pair emulator serve`)")
    g.add_argument(
        "--endpoint-url",
        default=os.environ.get("MSK_PAIR_EMULATOR_URL", DEFAULT_ENDPOINT),
        help=f"the emulator server with --local (default {DEFAULT_ENDPOINT}, or $MSK_PAIR_EMULATOR_URL)",
    )
    g.add_argument("--aws-profile", help="AWS profile (default: AWS_PROFILE / the default profile)")
    g.add_argument(
        "--region",
        help="AWS region of the stack (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's, samconfig.toml's)",
    )
    g.add_argument(
        "--stack-name", help=f"CloudFormation stack (default: samconfig.toml's stack_name, else {DEFAULT_STACK})"
    )
    g.add_argument("--state-machine-arn", help=f"use this state machine instead of the stack's {STACK_OUTPUT}")
    g.add_argument("--poll-seconds", type=positive, help="how often to read the history (default 3, 0.3 with --local)")


def _latency_profile_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--latency-profile", metavar="FILE", help="emulated durations, JSON (default: the FAST profile)")
    # Deprecated: --profile meant the latency profile here; in msk-pair --profile is not the AWS profile.
    p.add_argument("--profile", dest="deprecated_profile", metavar="FILE", help=argparse.SUPPRESS)


def _fail_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--fail",
        action="append",
        metavar="FUNCTION[:ROLE]",
        help="make this function fail every time (e.g. NetworkCreateFunction:secondary), to watch the rollback",
    )


def parser() -> Parser:
    p = Parser(prog="msk-pair", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.commands = {}
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    start = _sub(sub, "start", p, help="validate an input file, start a provisioning and follow it")
    start.add_argument("input", help="region-pair JSON file (events/region-pair.json is the sample)")
    start.add_argument("--no-follow", action="store_true", help="print the execution ARN and return")
    start.add_argument("--json", action="store_true", help="print the execution as JSON (progress on stderr)")
    start.add_argument("--verbose", action="store_true", help="one line per retry, with its whole cause")
    start.add_argument(
        "--yes", action="store_true", help="apply the plan without asking (needed when stdin is not a terminal)"
    )
    _target_options(start)
    start.set_defaults(func="cmd_start")

    pl = _sub(sub, "plan", p, help="what an input file would change in its deployment, as `terraform plan` shows it")
    pl.add_argument("input", help="region-pair JSON file")
    pl.add_argument("--json", action="store_true")
    _target_options(pl)
    pl.set_defaults(func="cmd_plan")

    fol = _sub(sub, "follow", p, help="live progress of an execution until it ends")
    fol.add_argument("execution_arn")
    fol.add_argument("--verbose", action="store_true", help="one line per retry, with its whole cause")
    _target_options(fol)
    fol.set_defaults(func="cmd_follow")

    st = _sub(sub, "status", p, help="where an execution or a deployment is now")
    st.add_argument("target", nargs="?", metavar="EXECUTION_ARN|NAME", help="an execution ARN or a deployment name")
    st.add_argument("--deployment", metavar="NAME", help="the deployment's latest execution, and what exists now")
    st.add_argument("--json", action="store_true")
    _target_options(st)
    st.set_defaults(func="cmd_status")

    ls = _sub(sub, "list", p, help="the deployments in the account (found by tag), their state and latest execution")
    ls.add_argument("--regions", metavar="R1,R2", help="look only here (default: every enabled region with MSK)")
    ls.add_argument("--json", action="store_true")
    _target_options(ls)
    ls.set_defaults(func="cmd_list")

    td = _sub(sub, "teardown", p, help="delete a deployment: shows what is tagged with it, asks, deletes it")
    td.add_argument("--deployment", required=True)
    td.add_argument("--primary-region", help="default: from the deployment's latest execution, or its tags")
    td.add_argument("--secondary-region", help="default: from the deployment's latest execution, or its tags")
    td.add_argument("--yes", action="store_true", help="do not ask (needed when stdin is not a terminal)")
    td.add_argument("--no-follow", action="store_true")
    td.add_argument("--json", action="store_true", help="print the execution as JSON (progress on stderr)")
    td.add_argument("--verbose", action="store_true", help="one line per retry, with its whole cause")
    _target_options(td)
    td.set_defaults(func="cmd_teardown")

    outp = _sub(sub, "outputs", p, help="bootstrap strings, SSM shell commands, MirrorMaker 2 of a deployment")
    outp.add_argument("execution_arn", nargs="?")
    outp.add_argument("--deployment", help="the latest successful provisioning of this deployment")
    outp.add_argument(
        "--mm2", metavar="FILE", help="write the mm2.properties the MirrorMaker 2 service runs (no password) here"
    )
    outp.add_argument(
        "--prometheus", metavar="FILE", help="write a Prometheus scrape configuration of both clusters' exporters"
    )
    outp.add_argument("--json", action="store_true", help="print the execution output as JSON")
    _target_options(outp)
    outp.set_defaults(func="cmd_outputs")

    emu = _sub(sub, "emulator", p, help="the local emulator server")
    emu_sub = emu.add_subparsers(dest="emulator_command", required=True, parser_class=Parser)
    serve = _sub(emu_sub, "serve", p, "emulator ", help="serve emulated AWS with the state machine, for --local")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=port, default=5055, help="0 picks a free port (printed)")
    serve.add_argument("--pace", type=non_negative, default=0.0, help="real seconds per emulated second (default 0)")
    _latency_profile_option(serve)
    serve.add_argument("--log-level", default="CRITICAL", help="handlers' Powertools log level")
    _fail_option(serve)
    serve.set_defaults(func="cmd_serve")

    run = _sub(sub, "run", p, help="one-shot: the whole workflow on an in-process emulator, with live progress")
    run.add_argument("input", help="region-pair JSON file (events/region-pair.json is the sample)")
    run.add_argument("--local", action="store_true", help="run on the embedded emulator (no AWS account needed)")
    _latency_profile_option(run)
    run.add_argument(
        "--pace", type=non_negative, default=0.0, help="real seconds per emulated second, to watch (default 0)"
    )
    run.add_argument("--log-level", default="CRITICAL", help="handlers' Powertools log level on the emulator")
    _fail_option(run)
    run.add_argument(
        "--expect-rollback",
        action="store_true",
        help="succeed (exit 0) only if the execution fails, rolls back, and leaves nothing tagged",
    )
    run.add_argument("--json", action="store_true", help="print the result as JSON (progress on stderr)")
    run.add_argument("--verbose", action="store_true", help="one line per retry, with its whole cause")
    run.set_defaults(func="cmd_run")

    val = _sub(sub, "validate", p, help="check an input file against the contract (offline)")
    val.add_argument("input")
    val.set_defaults(func="cmd_validate")
    return p


def _version() -> str:
    try:
        return metadata.version("msk-pair")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _deprecations(args: argparse.Namespace) -> None:
    old = getattr(args, "deprecated_profile", None)
    if old is None:
        return
    if getattr(args, "latency_profile", None):
        raise CliError("give --latency-profile only (--profile is its old name)")
    print(
        "msk-pair: warning: --profile is deprecated here, use --latency-profile (--profile is not the AWS profile)",
        file=sys.stderr,
    )
    args.latency_profile = old


def _tolerant_streams() -> None:
    """Never die on a character the terminal cannot show (the glyphs have ASCII stand-ins; this is the rest)."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")


def main(argv: list[str] | None = None) -> int:
    _tolerant_streams()
    args = parser().parse_args(argv)
    from msk_pair.cli import commands

    try:
        _deprecations(args)
        return getattr(commands, args.func)(args)
    except CliError as exc:
        print(f"msk-pair: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
