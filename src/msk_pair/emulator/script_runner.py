"""Run the client machine's scripts for real, in a throwaway root, with stand-ins for what cannot run here.

AWS service: none directly: what Systems Manager's AWS-RunShellScript runs on the client machine (as root,
  with ``bash``), whose output becomes a command's StandardOutputContent/StandardErrorContent.
Sources: Systems Manager User Guide, "AWS-RunShellScript" (commands run by the root user's shell); the
  stand-ins' answers cite their tools' own documentation (script_shims.py).

The scripts that ``AWS-RunShellScript`` runs on the client machines (``mskpair_core.client_machine``'s
bootstrap and verification, ``mskpair_core.replication``'s MirrorMaker 2 service, canary, check and stop)
are run here by the real ``bash -euo pipefail``, with the real coreutils, ``python3``, ``tar``, ``sha512sum``,
``awk``, ``sed``..., so what they print and the files they leave are what the machine would see. What cannot
run here (package installs, downloads, AWS calls, users and owners, systemd, network connections, Kafka)
is a stand-in on ``PATH`` (:mod:`msk_pair.emulator.script_shims`: each records its arguments and answers as
the real tool would, given the :class:`World` a test sets up).

This module renders nothing: it takes a script's text. Paths, by a documented mapping rather than a change
to the scripts: every absolute path in the text that starts with one of :data:`MAPPED` (at a path's start:
after a blank, a quote, ``=``, ``:``, ``,``, ``(``, ``<``, ``>``, ``|``, ``;``, ``&`` or at a line's start;
a path ends at a blank, a quote or one of those) is
rewritten to the same path under the machine's root; :data:`UNMAPPED` are left alone (``/dev/null``,
``/dev/tcp/...``, the shell given to ``useradd``); any other absolute path under a top-level system
directory makes the run refuse (:class:`UnmappedPath`) instead of touching this machine. Everything
reported back (stdout, stderr, recorded arguments, file contents) has the root taken out again, so tests
see the machine's paths. When the tests run as root, the script runs as ``nobody``, so a path that escaped
the mapping cannot write outside the root either. The script runs with a minimal environment, no
network (downloads and AWS are stand-ins; proxies point at a closed port) and a timeout.

Typical use (see tests/emulator/test_scripts_run.py)::

    world = World()
    world.add_secret(arn, username="msk-admin", password=PASSWORD)
    world.add_cluster(brokers, secrets=[arn])
    machine = world.machine("primary")
    run = machine.run(bootstrap_script(...))
    assert run.exit_code == 0 and PASSWORD not in run.stdout + run.stderr
    assert machine.file("/opt/kafka/config/client.properties").mode == 0o600
    world.close()

Owners: nothing runs as root here, so ``chown``/``install -o -g`` record the owner per inode (after the
checks chown makes) and :meth:`Machine.file` reports it; a file no chown touched is root's. A recorded
inode that is deleted and reused by a new file would keep its record (not seen with these scripts).
"""

from __future__ import annotations

import json
import os
import re
import secrets as _secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from msk_pair.emulator import script_shims

MAPPED = ("/etc", "/opt", "/var", "/home", "/root", "/srv", "/usr/local", "/proc/meminfo", "/tmp")  # noqa: S108
"""Absolute paths (and everything under them) that are rewritten into the machine's root."""
UNMAPPED = ("/dev/null", "/dev/stdin", "/dev/stdout", "/dev/stderr", "/dev/tcp/", "/sbin/nologin")
"""Absolute paths left as they are: devices bash or the kernel provide, ``useradd``'s shell argument."""
_TOP = "bin|boot|dev|etc|home|lib|lib32|lib64|media|mnt|opt|proc|root|run|sbin|srv|sys|tmp|usr|var"
_PATH = re.compile(rf"""(?<![^\s"'=:,(<>|;&])/(?:{_TOP})(?![\w.-])[^\s"'`;|&<>():,=]*""")
DEFAULT_TIMEOUT = 30.0
MEMINFO_KB = 3_964_656  # a t3.medium's MemTotal (4 GiB less what the kernel keeps)
NOBODY = 65534
PASSTHROUGH = (
    "python3", "cp", "mv", "ln", "chmod", "mkdir", "rm", "cat", "tar", "gzip", "sha512sum", "cut", "readlink",
    "mktemp", "awk", "sed", "grep", "head", "tail", "seq", "cmp", "tr", "sort", "timeout", "env", "xargs",
)  # fmt: skip
"""Real tools run through a recording wrapper: every command line the script runs is in ``exec.log`` (what
``ps`` would show on the machine; bash's builtins, such as ``echo``, start no process)."""
BASE_USERS = (
    ("root", 0, "/root", "/bin/bash"),
    ("bin", 1, "/bin", "/sbin/nologin"),
    ("daemon", 2, "/sbin", "/sbin/nologin"),
    ("ec2-user", 1000, "/home/ec2-user", "/bin/bash"),
    ("nobody", 65534, "/", "/sbin/nologin"),
)


class UnmappedPath(ValueError):
    """The script uses an absolute system path that is neither mapped into the root nor allowed."""


def map_paths(script: str, root: str) -> str:
    """The script with each :data:`MAPPED` path moved under ``root`` (the first line's ``#!`` is left)."""
    lines = script.split("\n")
    start = 1 if lines and lines[0].startswith("#!") else 0

    def move(m: re.Match[str]) -> str:
        path = m[0]
        if any(path == p or path.startswith(p + "/") for p in MAPPED):
            return root + path
        if any(path == p or (p.endswith("/") and path.startswith(p)) for p in UNMAPPED):
            return path
        raise UnmappedPath(f"the script uses {path}, which the runner neither maps into its root nor allows")

    return "\n".join(lines[:start] + [_PATH.sub(move, line) for line in lines[start:]])


def _system_python() -> str:
    """The interpreter of the shims: the system's python3 (readable by ``nobody``), else this one."""
    for candidate in ("/usr/bin/python3", "/bin/python3"):
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("python3") or os.path.realpath(sys.executable)


@dataclass(frozen=True)
class Call:
    """One call of a stand-in: the tool, its arguments and standard input (machine paths), its exit status."""

    tool: str
    argv: tuple[str, ...]
    stdin: str
    exit: int

    @property
    def command_line(self) -> str:
        return " ".join([self.tool, *self.argv])


@dataclass(frozen=True)
class Run:
    """What one script printed and returned (machine paths), and the stand-ins it called."""

    exit_code: int
    stdout: str
    stderr: str
    calls: tuple[Call, ...]
    seconds: float
    timed_out: bool = False

    def tools(self, tool: str) -> list[Call]:
        return [c for c in self.calls if c.tool == tool]


@dataclass(frozen=True)
class File:
    """A file on the machine: its mode (permission bits), owner, group and contents."""

    path: str
    mode: int
    user: str
    group: str
    data: bytes
    kind: str  # "file", "dir" or "link"
    target: str | None = None  # a link's target (machine path)

    @property
    def text(self) -> str:
        return self.data.decode(errors="replace")


@dataclass
class World:
    """The AWS, the downloads and the Kafka clusters the machines' stand-ins answer from, and the machines.

    ``any_cluster``: every bootstrap string is a cluster (created on first use) that accepts the
    credentials of any secret of the world, instead of only those :meth:`add_cluster` declared.
    ``kafka_versions``: the Apache Kafka releases the archive serves (None: any ``x.y.z``).
    """

    any_cluster: bool = False
    kafka_versions: Iterable[str] | None = None
    base: str | None = None
    dir: Path = field(init=False)
    machines: dict[str, Machine] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="msk-pair-world-", dir=self.base))
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self.dir), True)  # at exit, if not closed
        self.python = _system_python()
        self._lock = threading.Lock()
        shutil.copyfile(script_shims.__file__, self.dir / "script_shims.py")
        (self.dir / "downloads").mkdir()
        self._write("kafka.json", {"clusters": {}, "any_cluster": self.any_cluster, "unreachable": []})
        self._write("secrets.json", {})
        self._write("downloads.json", {})
        if self.kafka_versions is not None:
            self._write("kafka_versions.json", sorted(self.kafka_versions))

    # -- state files, under the world's lock (the stand-ins take it too) --

    def _write(self, name: str, data: Any) -> None:
        (self.dir / name).write_text(json.dumps(data, indent=1, sort_keys=True))

    def _update(self, name: str, default: Any):
        return script_shims.locked(str(self.dir / name), default)

    # -- AWS, downloads, network --

    def add_secret(
        self,
        arn: str,
        *,
        username: str | None = None,
        password: str | None = None,
        secret_string: str | None = None,
        error: tuple[str, str] | None = None,
        cli_error: tuple[int, str] | None = None,
    ) -> None:
        """What ``aws secretsmanager get-secret-value --secret-id <arn>`` answers: the secret's string
        (``{"username", "password"}`` unless ``secret_string``), or the service's ``error`` = (code, message),
        or the CLI's own ``cli_error`` = (exit status, message), such as 253 "Unable to locate credentials"."""
        with self._update("secrets.json", {}) as secrets:
            if cli_error is not None:
                secrets[arn] = {"CliError": {"Exit": cli_error[0], "Message": cli_error[1]}}
            elif error is not None:
                secrets[arn] = {"Error": {"Code": error[0], "Message": error[1]}}
            else:
                value = (
                    secret_string
                    if secret_string is not None
                    else json.dumps({"username": username, "password": password})
                )
                secrets[arn] = {"SecretString": value}

    def serve(self, url: str, data: bytes) -> None:
        """Make ``curl`` answer ``url`` with ``data`` (instead of what the world would build or 404)."""
        path = self.dir / "downloads" / f"served-{_secrets.token_hex(6)}"
        path.write_bytes(data)
        with self._update("downloads.json", {}) as served:
            served[url] = str(path)

    def set_unreachable(self, brokers: Iterable[str]) -> None:
        """Connections to these ``host:port`` time out (every other broker is reachable)."""
        with self._update("kafka.json", {}) as state:
            state["unreachable"] = sorted(set(brokers))

    # -- Kafka --

    def add_cluster(self, brokers: str, *, secrets: list[str] | None = None) -> None:
        """A cluster with these brokers (a bootstrap string) that signs in the users of ``secrets`` (ARNs
        associated with it; None: any secret of the world)."""
        with self._update("kafka.json", {}) as state:
            hosts = sorted(b for b in brokers.split(",") if b)
            state.setdefault("clusters", {})[",".join(hosts)] = script_shims.new_cluster(hosts, secrets)

    def _cluster(self, state: dict[str, Any], brokers: str) -> dict[str, Any]:
        hosts = set(b for b in brokers.split(",") if b)
        for cluster in state["clusters"].values():
            if hosts <= set(cluster["brokers"]):
                return cluster
        raise KeyError(f"no cluster with brokers {brokers}")

    def add_records(
        self,
        brokers: str,
        topic: str,
        values: list[str],
        *,
        timestamp_type: str = "CreateTime",
        create_ms: int = 1_700_000_000_000,
        append_delay_ms: int = 0,
    ) -> None:
        """Append records to ``topic`` (made if missing, with ``message.timestamp.type``), as a producer or
        MirrorMaker 2 would have: CreateTime ``create_ms + n``, appended ``append_delay_ms`` later."""
        with self._update("kafka.json", {}) as state:
            cluster = self._cluster(state, brokers)
            t = cluster["topics"].setdefault(
                topic,
                {"partitions": 1, "rf": 3, "configs": {"message.timestamp.type": timestamp_type}, "records": []},
            )
            for n, value in enumerate(values):
                ts = create_ms + n
                t["records"].append(
                    {"offset": len(t["records"]), "value": value, "ts": ts, "append_ts": ts + append_delay_ms}
                )

    def add_topics(self, brokers: str, names: Iterable[str], *, partitions: int = 1) -> None:
        """Topics someone else made on the cluster (empty, replication factor 3)."""
        with self._update("kafka.json", {}) as state:
            topics = self._cluster(state, brokers)["topics"]
            for name in names:
                topics.setdefault(name, {"partitions": partitions, "rf": 3, "configs": {}, "records": []})

    def commit(self, brokers: str, group: str, topic: str, offset: int) -> None:
        """Commit ``group``'s offset on ``topic`` (as a consumer, or MirrorMaker 2's offset sync, would)."""
        with self._update("kafka.json", {}) as state:
            self._cluster(state, brokers)["groups"].setdefault(group, {})[topic] = offset

    def kafka(self, brokers: str) -> dict[str, Any]:
        """A cluster's topics (with their records) and groups, as the stand-ins left them."""
        with self._update("kafka.json", {}) as state:
            return json.loads(json.dumps(self._cluster(state, brokers)))

    # -- machines --

    def machine(self, name: str, *, meminfo_kb: int = MEMINFO_KB) -> Machine:
        """The machine ``name`` (made on first use, with an Amazon Linux 2023-like root)."""
        with self._lock:
            if name not in self.machines:
                self.machines[name] = Machine(self, name, meminfo_kb=meminfo_kb)
            return self.machines[name]

    def close(self) -> None:
        """Delete the world and its machines."""
        self._finalizer()

    def __enter__(self) -> World:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Machine:
    """One client machine: a root directory with the system layout the scripts expect, and its state."""

    def __init__(self, world: World, name: str, *, meminfo_kb: int = MEMINFO_KB) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise ValueError(f"machine name {name!r}")
        self.world = world
        self.name = name
        self.dir = world.dir / "machines" / name
        self.root = self.dir / "root"
        self.bin = self.dir / "bin"
        self.installed = self.dir / "installed"
        for d in ("etc/systemd/system", "etc/profile.d", "opt", "var/log", "var/lib", "home", "usr/lib", "proc"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").mkdir(mode=0o1777, exist_ok=True)
        os.chmod(self.root / "tmp", 0o1777)  # noqa: S103 - the machine's /tmp, as on Linux
        (self.root / "root").mkdir(mode=0o700, exist_ok=True)
        (self.root / "proc/meminfo").write_text(
            f"MemTotal:       {meminfo_kb} kB\nMemFree:        {meminfo_kb // 2} kB\n"
            f"MemAvailable:   {meminfo_kb * 3 // 4} kB\n"
        )
        (self.root / "etc/passwd").write_text("".join(f"{n}:x:{i}:{i}::{h}:{s}\n" for n, i, h, s in BASE_USERS))
        (self.root / "etc/group").write_text("".join(f"{n}:x:{i}:\n" for n, i, _h, _s in BASE_USERS))
        self.bin.mkdir(exist_ok=True)
        self.installed.mkdir(exist_ok=True)
        env = self._env()
        for tool in script_shims.PATH_TOOLS:
            path = self.bin / tool
            program = world.dir / "script_shims.py"
            path.write_text(f'#!/bin/sh\nexec {env["MSKPAIR_SHIM_PYTHON"]} -I -S {program} {tool} "$@"\n')
            path.chmod(0o755)
        for tool in PASSTHROUGH:
            real = next((f"{d}/{tool}" for d in ("/usr/bin", "/bin") if os.access(f"{d}/{tool}", os.X_OK)), None)
            if real is not None and not (self.bin / tool).exists():
                record = f'{{ printf %s {tool}; for a in "$@"; do printf " %s" "$a"; done; echo; }}'
                (self.bin / tool).write_text(
                    f'#!/bin/sh\n{record} >> "$MSKPAIR_SHIM_MACHINE/exec.log"\nexec {real} "$@"\n'
                )
                (self.bin / tool).chmod(0o755)
        (self.dir / "calls.jsonl").touch()
        (self.dir / "exec.log").touch()
        self._runs = 0

    def _env(self) -> dict[str, str]:
        closed = "http://127.0.0.1:9"  # the discard port: nothing here may use the network
        return {
            "PATH": f"{self.bin}:{self.installed}:/usr/bin:/bin",
            "HOME": str(self.root / "root"),
            "TMPDIR": str(self.root / "tmp"),
            "LANG": "C.UTF-8",
            "USER": "root",
            "http_proxy": closed,
            "https_proxy": closed,
            "HTTP_PROXY": closed,
            "HTTPS_PROXY": closed,
            "MSKPAIR_SHIM_ROOT": str(self.root),
            "MSKPAIR_SHIM_WORLD": str(self.world.dir),
            "MSKPAIR_SHIM_MACHINE": str(self.dir),
            "MSKPAIR_SHIM_INSTALLED": str(self.installed),
            "MSKPAIR_SHIM_PYTHON": self.world.python,
        }

    def _as_nobody(self) -> dict[str, Any]:
        """Run as ``nobody`` when the tests run as root: the world (and only it) becomes nobody's."""
        if os.geteuid() != 0:
            return {}
        for top, dirs, files in os.walk(self.world.dir):
            for name in [*dirs, *files]:
                os.lchown(os.path.join(top, name), NOBODY, NOBODY)
        os.chown(self.world.dir, NOBODY, NOBODY)
        return {"user": NOBODY, "group": NOBODY, "extra_groups": []}

    # -- running --

    def run(self, script: str, *, timeout: float = DEFAULT_TIMEOUT) -> Run:
        """Run ``script`` with ``bash -euo pipefail`` as SSM's AWS-RunShellScript would (its own directory
        under /var/lib/amazon/ssm), wait for it (at most ``timeout`` seconds: then it is killed)."""
        text = map_paths(script, str(self.root))
        self._runs += 1
        workdir = self.root / "var/lib/amazon/ssm" / self.name / "document/orchestration" / f"run-{self._runs}"
        workdir = workdir / "awsrunShellScript/0.awsrunShellScript"
        workdir.mkdir(parents=True)
        (workdir / "_script.sh").write_text(text)
        before = len(self.calls())
        started = time.monotonic()
        with self.world._lock:  # one privileged chown walk at a time
            privileges = self._as_nobody()
        proc = subprocess.Popen(
            ["/bin/bash", "-euo", "pipefail", "_script.sh"],
            cwd=workdir,
            env=self._env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            **privileges,
        )
        timed_out = False
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
        seconds = time.monotonic() - started
        return Run(
            exit_code=proc.returncode if not timed_out else 124,
            stdout=self.unroot(out.decode(errors="replace")),
            stderr=self.unroot(err.decode(errors="replace")),
            calls=tuple(self.calls()[before:]),
            seconds=seconds,
            timed_out=timed_out,
        )

    # -- what it left --

    def unroot(self, text: str) -> str:
        return text.replace(str(self.root), "")

    def path(self, machine_path: str) -> Path:
        """Where a machine path is in the root."""
        if not machine_path.startswith("/"):
            raise ValueError(f"not an absolute path: {machine_path}")
        return self.root / machine_path.lstrip("/")

    def realpath(self, machine_path: str) -> str:
        """A machine path with its symbolic links resolved (``/opt/kafka/...`` -> ``/opt/kafka_2.13-x/...``)."""
        return "/" + os.path.relpath(os.path.realpath(self.path(machine_path)), self.root)

    def file(self, machine_path: str) -> File | None:
        """The file at a machine path (None if there is none): mode, recorded owner, contents."""
        p = self.path(machine_path)
        if not os.path.lexists(p):
            return None
        st = os.lstat(p)
        user, group = script_shims.owner_of(str(self.dir), str(p))
        if os.path.islink(p):
            return File(machine_path, 0o777, user, group, b"", "link", self.unroot(os.readlink(p)))
        if os.path.isdir(p):
            return File(machine_path, st.st_mode & 0o7777, user, group, b"", "dir")
        data = p.read_bytes().replace(str(self.root).encode(), b"")
        return File(machine_path, st.st_mode & 0o7777, user, group, data, "file")

    def files(self) -> list[str]:
        """Every regular file on the machine (machine paths), the stand-ins' own programs left out."""
        found = []
        for top, _dirs, names in os.walk(self.root):
            for name in names:
                p = os.path.join(top, name)
                if os.path.isfile(p) and not os.path.islink(p):
                    found.append("/" + os.path.relpath(p, self.root))
        return sorted(found)

    def holding(self, text: str) -> list[str]:
        """Where ``text`` is on this machine: the files that contain it, and ``calls.jsonl``, ``exec.log`` or
        ``systemd.json`` if a stand-in's arguments or standard input, a real tool's command line or the
        service's journal do."""
        needle = text.encode()
        found = [p for p in self.files() if needle in self.path(p).read_bytes()]
        for state in ("calls.jsonl", "exec.log", "systemd.json"):
            path = self.dir / state
            if path.exists() and (needle in path.read_bytes() or json.dumps(text)[1:-1].encode() in path.read_bytes()):
                found.append(state)
        return found

    def calls(self, tool: str | None = None) -> list[Call]:
        """Every stand-in call so far (in order), or those of one tool."""
        calls = []
        for line in (self.dir / "calls.jsonl").read_text().splitlines():
            c = json.loads(line)
            if tool is None or c["tool"] == tool:
                calls.append(Call(c["tool"], tuple(c["argv"]), c.get("stdin", ""), c.get("exit", 0)))
        return calls

    def command_lines(self) -> list[str]:
        """Every command line of a real tool the scripts ran so far (machine paths)."""
        return self.unroot((self.dir / "exec.log").read_text()).splitlines()

    def service(self, name: str) -> dict[str, Any]:
        """A systemd unit as systemctl left it: loaded text, enabled, state, starts, journal."""
        state = json.loads((self.dir / "systemd.json").read_text()) if (self.dir / "systemd.json").exists() else {}
        unit = dict(state.get("units", {}).get(name) or {})
        if unit.get("loaded"):
            unit["loaded"] = self.unroot(unit["loaded"])
        return unit

    def users(self) -> dict[str, dict[str, Any]]:
        return script_shims.users(str(self.root))

    def can_read(self, user: str, machine_path: str) -> bool:
        """Whether ``user`` could read the file (its directories searched), from the recorded owners and the
        real modes, as the kernel would decide on the machine."""
        return script_shims.can_access(str(self.root), str(self.dir), user, str(self.path(machine_path)), os.R_OK)
