"""The emulator as a local server, so that separate CLI invocations share one emulated AWS.

AWS service: none itself; moto's HTTP API for every emulated service, on 127.0.0.1, with emulated
  time.
Sources: none needed (the services' rules are the other modules').

``msk-pair emulator serve`` starts the :class:`~msk_pair.emulator.engine.Emulator`
(moto in-process, our extensions, the emulated clock, the state machine) and
serves moto's HTTP API on ``127.0.0.1:PORT`` from the same process. moto 5 keeps
its backends in module-level dicts, so the server and the in-process mock see the
same accounts and regions: an execution started over HTTP runs the real ASL on
moto's engine, and its Lambda tasks call our handlers in-process, exactly as in
``run --local``. The CLI's ``--local`` talks to it with ``endpoint_url`` and dummy
credentials.

What this module adds on top of moto's server:

- every request first brings its thread to the emulated "now" (``catch_up``): a
  request from outside happens at the latest emulated time, so an execution
  started after another one starts after it, not at the server's start time;
- Step Functions timestamps (history events, ``startDate``/``stopDate``) are in
  emulated time, so elapsed times read from the history are the workflow's own;
- ``GET /_msk-pair/status`` tells the CLI the state machine ARN and the clock.

moto's server needs Flask (present) and flask-cors (only to add CORS headers for
browsers); when flask-cors is missing a no-op stand-in is used.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import signal
import socket
import sys
import threading
import types
from collections.abc import Callable, Iterable
from typing import Any

from msk_pair.emulator import clock as clock_mod
from msk_pair.emulator.engine import Emulator
from msk_pair.emulator.profile import FAST, LatencyProfile

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5055
STATUS_PATH = "/_msk-pair/status"


def _ensure_flask_cors() -> None:
    try:
        import flask_cors  # noqa: F401
    except ImportError:
        stub = types.ModuleType("flask_cors")
        stub.CORS = lambda app, *args, **kwargs: app  # type: ignore[attr-defined]
        sys.modules["flask_cors"] = stub


class _EmulatedDatetimeModule:
    """Stands in for the ``datetime`` module in moto's Step Functions: ``now()`` is emulated time."""

    class datetime(_dt.datetime):
        @classmethod
        def now(cls, tz: _dt.tzinfo | None = None) -> _dt.datetime:  # type: ignore[override]
            return _dt.datetime.fromtimestamp(clock_mod.now(), tz=tz or _dt.UTC)

    def __getattr__(self, name: str) -> Any:
        return getattr(_dt, name)


_TIMESTAMP_MODULES = (
    "moto.stepfunctions.parser.asl.eval.event.event_manager",
    "moto.stepfunctions.parser.backend.execution",
    "moto.stepfunctions.parser.models",
)


def emulated_timestamps() -> Callable[[], None]:
    """Make moto's Step Functions stamp history events and start/stop dates with emulated time; returns the undo."""
    import importlib

    shim = _EmulatedDatetimeModule()
    undo: list[Callable[[], None]] = []
    for name in _TIMESTAMP_MODULES:
        module = importlib.import_module(name)
        old = module.datetime
        module.datetime = shim
        undo.append(lambda m=module, o=old: setattr(m, "datetime", o))

    def restore() -> None:
        while undo:
            undo.pop()()

    return restore


class EmulatorServer:
    """The emulator plus moto's HTTP server in this process."""

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        profile: LatencyProfile | None = None,
        pace: float = 0.0,
        log_level: str = "CRITICAL",
        faults: Iterable[str] = (),
    ) -> None:
        self.host = host
        self.port = port
        self.emulator = Emulator(profile=profile or FAST, pace=pace, log_level=log_level)
        self.faults = list(faults)
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._undo: list[Callable[[], None]] = []

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _patch_timestamps(self) -> None:
        self._undo.append(emulated_timestamps())

    def _app(self) -> Callable[..., Any]:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        moto_app = DomainDispatcherApplication(create_backend_app)
        emu = self.emulator

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            emu.clock.catch_up()
            if environ.get("PATH_INFO") == STATUS_PATH:
                body = json.dumps(
                    {
                        "stateMachineArn": emu.state_machine_arn,
                        "region": emu.region,
                        "clockStart": emu.clock.start,
                        "clockNow": emu.clock.latest(),
                        "profile": emu.profile.to_dict(),
                    }
                ).encode()
                start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
                return [body]
            return moto_app(environ, start_response)

        return app

    def start(self) -> None:
        """Start the emulator and serve in a background thread (``port`` 0 picks a free port)."""
        _ensure_flask_cors()
        from moto.moto_server.werkzeug_app import MotoRequestHandler
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._check_port()
        self.emulator.start()
        self._undo.append(self.emulator.stop)
        for spec in self.faults:
            function, _, role = spec.partition(":")
            self.emulator.faults.add(function, role=role or None, times=None)
        self._patch_timestamps()
        self._server = make_server(self.host, self.port, self._app(), threaded=True, request_handler=MotoRequestHandler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="msk-pair-emulator", daemon=True)
        self._thread.start()

    def _check_port(self) -> None:
        """Fail with OSError(EADDRINUSE) before anything starts when the port is taken.

        werkzeug's make_server would print its own multi-line advice and call sys.exit(1) instead.
        The probe binds the way werkzeug does (SO_REUSEADDR), so it refuses exactly what werkzeug would.
        """
        if not self.port:
            return
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((self.host, self.port))
            probe.listen(1)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        while self._undo:
            self._undo.pop()()

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    profile: LatencyProfile | None = None,
    pace: float = 0.0,
    log_level: str = "CRITICAL",
    faults: Iterable[str] = (),
    out: Any = None,
) -> int:
    """Run until SIGINT/SIGTERM. Prints one line with the URL once it listens (tests read it)."""
    out = out or sys.stdout
    server = EmulatorServer(host, port, profile=profile, pace=pace, log_level=log_level, faults=faults)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        server.start()
    except OSError as exc:
        server.stop()
        hint = " (another `msk-pair emulator serve`? use --port, or --port 0 for a free one)" if port else ""
        print(f"msk-pair: cannot listen on {host}:{port}: {exc.strerror or exc}{hint}", file=sys.stderr)
        return 2
    print(f"msk-pair emulator listening on {server.url}", file=out, flush=True)
    print(f"state machine: {server.emulator.state_machine_arn}", file=out, flush=True)
    print(f"use: msk-pair <command> --local --endpoint-url {server.url}   (Ctrl-C to stop)", file=out, flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return 0
