"""``interdict serve``: the central service under uvicorn.

The listening socket is bound before the server starts, so ``--listen 127.0.0.1:0`` takes a
free port; once the app has started, one line goes to standard output::

    interdict serve: listening on http://127.0.0.1:43127 (database schema 2, key 3f9a…)

(a supervisor, a test or a script waits for that line). SIGTERM/SIGINT: uvicorn stops
accepting, finishes the requests in flight (each store write is one transaction: one cut
short by a harder kill is rolled back by PostgreSQL) and the store's pool is closed.

Central signs its own chain like a station (:mod:`parcels.signing`): with the key file
``--signing-key`` (``$INTERDICT_CENTRAL_KEY``, default ``central.key`` in the data folder),
created on first use with mode 0600. Keep it outside the database, like a station's key.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from pydantic import BaseModel, ConfigDict, Field

ENV_CENTRAL_KEY = "INTERDICT_CENTRAL_KEY"


def central_key_path(given: str | None = None, env: Mapping[str, str] | None = None) -> Path:
    """Central's signing key file: ``given``, else ``$INTERDICT_CENTRAL_KEY``, else
    ``central.key`` beside the default database (``$XDG_DATA_HOME/interdict``)."""
    from parcels.config import default_db_path

    e = os.environ if env is None else env
    text = given or e.get(ENV_CENTRAL_KEY)
    return Path(text) if text else default_db_path(e).parent / "central.key"


class ServeOptions(BaseModel):
    """What ``interdict serve`` needs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    db: str
    key: Path
    """Central's signing key (created on first use)."""
    host: str = "127.0.0.1"
    port: int = Field(default=8750, ge=0, le=65535)
    tls_cert: str | None = None
    tls_key: str | None = None
    pool: int = Field(default=16, ge=1, le=1000)
    log_level: str = "warning"


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
    """Open the store, bind, serve until stopped; returns the exit code."""
    import uvicorn

    from parcels.store.postgres import PostgresStore

    from .app import create_app

    out = out or sys.stdout
    if bool(opts.tls_cert) != bool(opts.tls_key):
        raise ValueError("--tls-cert and --tls-key go together")
    from parcels.signing import StationKey

    store = PostgresStore(opts.db, max_connections=opts.pool,
                          signer=StationKey.load_or_create(opts.key))
    try:
        family = socket.AF_INET6 if ":" in opts.host else socket.AF_INET
        # proto given explicitly: asyncio sets TCP_NODELAY only on sockets that say TCP, and
        # without it every response waits ~40 ms for the client's delayed ACK (measured)
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((opts.host, opts.port))
        sock.listen(1024)
        port = sock.getsockname()[1]
        scheme = "https" if opts.tls_cert else "http"
        host = f"[{opts.host}]" if family == socket.AF_INET6 else opts.host

        def ready() -> None:
            out.write(f"interdict serve: listening on {scheme}://{host}:{port} "
                      f"(database schema {store.schema_version}, key "
                      f"{store.signing_key_id})\n")
            out.flush()

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
        out.write(f"interdict serve: stopped ({signal.Signals(stopped[0]).name})\n")
    return 0


__all__ = ["ENV_CENTRAL_KEY", "ServeOptions", "central_key_path", "parse_listen", "serve"]
