"""The CLI driven as a user would: subprocesses against `msk-pair emulator serve` on a free port,
in a pipe or in a terminal (a pty); and in-process runs of `main()` for the many error paths."""

from __future__ import annotations

import contextlib
import io
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_FILE = ROOT / "events" / "region-pair.json"


def clean_env(**extra: str) -> dict[str, str]:
    """The user's environment without AWS settings (so nothing can reach a real account)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MSK_PAIR_"))}
    env.update(
        {
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]),
        }
    )
    env.update(extra)
    return env


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    cwd: Path = ROOT,
    stdin: str | None = None,
) -> subprocess.CompletedProcess:
    """`msk-pair ARGS` with its output in pipes (not a terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "msk_pair.cli", *args],
        cwd=cwd,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin if stdin is not None else "",
    )


class Terminal:
    """`msk-pair ARGS` in a pseudo-terminal, as a user at a shell runs it: read what it shows, type."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, columns: int = 160) -> None:
        env = dict(env or clean_env(), COLUMNS=str(columns), LINES="40", TERM="xterm-256color")
        self.fd, child = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "msk_pair.cli", *args],
            cwd=ROOT,
            env=env,
            stdin=child,
            stdout=child,
            stderr=child,
            start_new_session=True,
        )
        os.close(child)
        self.seen = ""

    def read_until(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{text!r} not shown within {timeout}s; the terminal shows:\n{self.seen}")
            ready, _, _ = select.select([self.fd], [], [], min(left, 0.5))
            if ready:
                try:
                    self.seen += os.read(self.fd, 65536).decode("utf-8", "replace")
                except OSError:  # the child closed the terminal
                    if self.proc.poll() is not None:
                        raise AssertionError(f"exited before showing {text!r}:\n{self.seen}") from None
        return self.seen

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def wait(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if ready:
                with contextlib.suppress(OSError):
                    self.seen += os.read(self.fd, 65536).decode("utf-8", "replace")
        code = self.proc.wait(timeout=1)
        with contextlib.suppress(OSError):
            while select.select([self.fd], [], [], 0.1)[0]:
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    break
                self.seen += chunk.decode("utf-8", "replace")
        os.close(self.fd)
        return code


def _serve(*extra: str, kill: bool = False) -> Iterator[str]:
    """`msk-pair emulator serve --port 0 EXTRA` for the duration; yields its URL. ``kill``: no graceful stop."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "msk_pair.cli", "emulator", "serve", "--port", "0", *extra],
        cwd=ROOT,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stdout.readline()
        if "listening on " not in first:
            proc.kill()
            raise RuntimeError(f"emulator server did not start: {first!r} {proc.stderr.read()}")
        yield first.rsplit("listening on ", 1)[1].strip()
    finally:
        if proc.poll() is None and kill:
            proc.kill()
            proc.wait()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def server():
    """An emulator server (FAST profile, pace 0) for this module; yields its URL."""
    yield from _serve()


@pytest.fixture(scope="module")
def local(server):
    """Run the CLI with --local against the module's server."""

    def cli(*args: str, timeout: float = 120, stdin: str | None = None) -> subprocess.CompletedProcess:
        return run_cli(*args, "--local", "--endpoint-url", server, timeout=timeout, stdin=stdin)

    return cli


class Result:
    def __init__(self, status: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = status, stdout, stderr


@pytest.fixture
def main_in_process(monkeypatch):
    """Run `msk-pair ARGS` in this process (cheap); the environment the CLI changes is restored after.

    It starts from a user environment without AWS settings: list it before fixtures that add some.
    """
    from msk_pair.cli import main

    saved = dict(os.environ)
    for key in [k for k in os.environ if k.startswith(("AWS_", "MSK_PAIR_"))]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    def call(*args: str) -> Result:
        out, err = io.StringIO(), io.StringIO()
        before = dict(os.environ)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(list(args))
            except SystemExit as exc:  # argparse
                status = int(exc.code or 0)
            finally:  # what the CLI set for itself (--local, --aws-profile) ends with it, as a process's would
                os.environ.clear()
                os.environ.update(before)
        return Result(status, out.getvalue(), err.getvalue())

    yield call
    os.environ.clear()
    os.environ.update(saved)


@contextlib.contextmanager
def recorded_aws_calls() -> Iterator[set[str]]:
    """The IAM actions of every AWS API call made in this process meanwhile (``service:Operation``)."""
    from botocore.client import BaseClient

    from msk_pair.emulator.iam_enforcement import SIGNING_TO_IAM_PREFIX

    calls: set[str] = set()
    original = BaseClient._make_api_call

    def record(client: BaseClient, operation_name: str, api_params: dict) -> object:
        prefix = client.meta.service_model.signing_name
        calls.add(f"{SIGNING_TO_IAM_PREFIX.get(prefix, prefix)}:{operation_name}")
        return original(client, operation_name, api_params)

    BaseClient._make_api_call = record  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


def one_line_error(result) -> str:
    """The CLI's answer to a user mistake: exit 2, no traceback, one line on stderr."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("msk-pair: ")
    return lines[0]
