"""``interdict serve``: the central service under uvicorn.

The listening socket is bound before the server starts, so ``--listen 127.0.0.1:0`` takes a
free port; once the app has started, one line goes to standard output::

    interdict serve: listening on http://127.0.0.1:43127 (database schema 2, key 3f9a…)

(a supervisor, a test or a script waits for that line; with ``--json`` it is a JSON line
``{"event": "listening", "message": …, "url": …, "schema_version": …, "key": …}``, as
``interdict watch --json`` tells its events). SIGTERM/SIGINT: uvicorn stops
accepting, finishes the requests in flight (each store write is one transaction: one cut
short by a harder kill is rolled back by PostgreSQL) and the store's pool is closed.

Central signs its own chain like a station (:mod:`parcels.signing`): with the key file
``--signing-key`` (``$INTERDICT_CENTRAL_KEY``, default ``central.key`` in the data folder:
:func:`station.commands.central.central_key_path`), created on first use with mode 0600.
Keep it outside the database, like a station's key.
"""

from __future__ import annotations

import json
import signal
import socket
import sys
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, ConfigDict, Field


class ListenError(OSError):
    """The service cannot listen on the address asked for (taken, not this machine's,
    not allowed)."""


class ServeOptions(BaseModel):
    """What ``interdict serve`` needs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    db: str
    key: Path
    """Central's signing key (created on first use)."""
    host: str = "127.0.0.1"
    port: int = Field(default=8750, ge=0, le=65535)
    tls_cert: str | None = None
    """HTTPS with this certificate (PEM), with :attr:`tls_key`; both or neither."""
    tls_key: str | None = None
    pool: int = Field(default=16, ge=1, le=1000)
    log_level: str = "warning"
    as_json: bool = False
    """Tell ``listening`` and ``stopped`` as JSON lines (``event``, ``message``, data)."""


def _tell(out: TextIO, as_json: bool, kind: str, text: str, **data: Any) -> None:
    """One line on ``out``: the words, or with ``as_json`` the event as a JSON object."""
    out.write((json.dumps({"event": kind, "message": text, **data}) if as_json else text)
              + "\n")
    out.flush()


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) → ``(host, port)``.

    Raises
    ------
    ValueError
        Naming what is wrong.
    """
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"--listen must be HOST:PORT (e.g. 127.0.0.1:8750), got {text!r}")
    return host.strip("[]"), int(port)


def serve(opts: ServeOptions, *, out: TextIO | None = None) -> int:
    """Open the store, bind, serve until stopped; returns the exit code.

    Raises
    ------
    ListenError
        The address cannot be listened on.
    parcels.errors.DatabaseUnreachableError, parcels.errors.SchemaVersionError
        The database.
    """
    import uvicorn

    from parcels.store.postgres import PostgresStore

    from .app import create_app

    out = out or sys.stdout
    from parcels.signing import StationKey

    store = PostgresStore(opts.db, max_connections=opts.pool,
                          signer=StationKey.load_or_create(opts.key))
    try:
        family = socket.AF_INET6 if ":" in opts.host else socket.AF_INET
        # proto given explicitly: asyncio sets TCP_NODELAY only on sockets that say TCP, and
        # without it every response waits ~40 ms for the client's delayed ACK (measured)
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((opts.host, opts.port))
            sock.listen(1024)
        except OSError as exc:
            sock.close()
            raise ListenError(exc.errno, f"cannot listen on {opts.host}:{opts.port}: "
                                         f"{exc.strerror or exc}") from exc
        port = sock.getsockname()[1]
        scheme = "https" if opts.tls_cert else "http"
        host = f"[{opts.host}]" if family == socket.AF_INET6 else opts.host

        url = f"{scheme}://{host}:{port}"

        def ready() -> None:
            _tell(out, opts.as_json, "listening",
                  f"interdict serve: listening on {url} (database schema "
                  f"{store.schema_version}, key {store.signing_key_id})", url=url,
                  schema_version=store.schema_version, key=store.signing_key_id)

        app = create_app(store, on_ready=ready)
        config = uvicorn.Config(app, log_level=opts.log_level, ssl_certfile=opts.tls_cert,
                                ssl_keyfile=opts.tls_key, access_log=False,
                                timeout_graceful_shutdown=30)
        # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal to the
        # handler it found: ours notes it, so the store is closed and the exit code is 0
        stopped: list[int] = []
        previous = {sig: signal.signal(sig, lambda s, _f: stopped.append(s))
                    for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            uvicorn.Server(config).run(sockets=[sock])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    finally:
        store.close()
    if stopped:
        name = signal.Signals(stopped[0]).name
        _tell(out, opts.as_json, "stopped", f"interdict serve: stopped ({name})", signal=name)
    return 0


__all__ = ["ListenError", "ServeOptions", "parse_listen", "serve"]
