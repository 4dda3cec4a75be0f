"""A throwaway PostgreSQL server in a temporary directory, and ``interdict serve`` as a child
process: for the tests, the benchmarks and ``interdict demo --fleet``. Never for production
(see ``docs/central.md``).

The server binaries are found, in order, in ``$INTERDICT_PG_BINDIR``, Debian's
``/usr/lib/postgresql/<version>/bin`` (the ``postgresql`` package; ``make test`` installs it
where it can), the ``PATH``, and the ``pgserver`` wheel when it is installed (it embeds the
binaries and needs no root). PostgreSQL refuses to run as root: under root the server runs as
the ``postgres`` system user (or ``nobody``), owning only its temporary directory.

The server listens on a Unix socket in its own directory only (``listen_addresses=''``): no
port is taken from the machine, several can run at once.
"""

from __future__ import annotations

import os
import pwd
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import IO, Self
from urllib.parse import quote

ENV_BINDIR = "INTERDICT_PG_BINDIR"
PORT = 5432
"""Only names the socket file (``.s.PGSQL.5432``); no TCP port is opened."""


class DevDBError(RuntimeError):
    """No PostgreSQL server binaries here, or the server or the service process would not
    start."""


def find_bindir() -> Path:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``.

    Raises
    ------
    DevDBError
        Saying where it looked and how to get them.
    """
    looked: list[str] = []
    env = os.environ.get(ENV_BINDIR)
    candidates: list[Path] = []
    if env:
        candidates.append(Path(env))
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                    key=lambda p: int(re.sub(r"\D", "", p.parent.name) or 0), reverse=True)
    candidates.extend(debian)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    try:
        import pgserver  # type: ignore[import-not-found, unused-ignore]

        candidates.append(Path(pgserver.__file__).parent / "pginstall" / "bin")
    except ImportError:
        pass
    for c in candidates:
        looked.append(str(c))
        if all((c / b).is_file() for b in ("initdb", "pg_ctl", "postgres")):
            return c
    raise DevDBError(
        "no PostgreSQL server binaries found (looked in "
        + (", ".join(looked) or "no candidate") + "): install Debian's postgresql package "
        f"(make test does so as root), pip install pgserver, or set {ENV_BINDIR}"
    )


def _run_as() -> pwd.struct_passwd | None:
    """The unprivileged user to run the server as, when we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise DevDBError("running as root and neither a 'postgres' nor a 'nobody' user exists")


class TempPostgres:
    """Start a private PostgreSQL cluster; :meth:`stop` (or leaving the ``with``) removes it.

    Parameters
    ----------
    base
        Parent of the temporary directory (default: the system's temporary directory).
    durable
        False (tests): ``fsync``, ``synchronous_commit`` and ``full_page_writes`` off — fast,
        and a crash of the *service* is still exactly what it is, only a crash of the whole
        machine could lose commits. True (benchmarks): the defaults of a real server.
    max_connections
        The server's connection limit.
    """

    def __init__(self, base: str | os.PathLike[str] | None = None, *, durable: bool = False,
                 max_connections: int = 100) -> None:
        self.bindir = find_bindir()
        self.user = _run_as()
        self.root = Path(tempfile.mkdtemp(prefix="interdict-pg-", dir=base))
        self.data = self.root / "data"
        self.socket_dir = self.root
        self.log = self.root / "server.log"
        self.durable = durable
        self.max_connections = max_connections
        self.started = False

    # -- running things as the server's user --------------------------------------------
    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, object] = {}
        if self.user is not None:
            kwargs = {"user": self.user.pw_uid, "group": self.user.pw_gid,
                      "extra_groups": []}
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        done = subprocess.run(list(args), capture_output=True, text=True, env=env,
                              cwd=self.root, check=False, timeout=120,
                              **kwargs)  # type: ignore[call-overload]
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip()[-2000:]
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise DevDBError(f"{Path(args[0]).name} failed ({done.returncode}): {tail}\n{log}")
        return done  # type: ignore[no-any-return]

    def start(self) -> str:
        """Create the cluster and start the server; returns the URL of database ``postgres``."""
        if self.user is not None:
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
        os.chmod(self.root, 0o700)
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
        opts = [f"-k {self.socket_dir}", "-c listen_addresses=''", f"-p {PORT}",
                f"-c max_connections={self.max_connections}", "-c shared_buffers=128MB"]
        if not self.durable:
            opts += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        # pg_ctl -w returns once the server accepts connections (or failed to start)
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                  "-w", "-t", "60", "-o", " ".join(opts), "start")
        self.started = True
        return self.url("postgres")

    def url(self, database: str, user: str = "postgres") -> str:
        """``postgresql://USER@/DATABASE?host=SOCKET_DIR&port=5432``."""
        return (f"postgresql://{quote(user)}@/{quote(database)}?host={quote(str(self.socket_dir))}"
                f"&port={PORT}")

    def create_database(self, name: str, *, template: str = "template0") -> str:
        """Create a database, a copy of ``template`` (default: empty); returns its URL.

        Copying a migrated database is much faster than migrating a new one: the tests copy
        one migrated once per session."""
        import psycopg

        for n in (name, template):
            if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", n):
                raise ValueError(f"database name {n!r}: lower-case letters, digits, _")
        with psycopg.connect(self.url("postgres"), autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database (and whatever connections are left on it)."""
        import psycopg

        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(f"database name {name!r}: lower-case letters, digits, _")
        with psycopg.connect(self.url("postgres"), autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its directory."""
        try:
            if self.started:
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-w", "-m",
                          "fast", "stop")
                self.started = False
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


READY = re.compile(r"listening on (https?://[^\s\"]+)")
"""The ready line, in words or in a ``--json`` event."""


def _pump(stream: IO[str], lines: queue.Queue[str | None], log: list[str]) -> None:
    for line in stream:
        log.append(line)
        lines.put(line)
    lines.put(None)


class ServiceProcess:
    """``interdict serve --db URL --listen 127.0.0.1:PORT`` as a child process.

    :meth:`start` returns once the process printed its "listening on" line (a deadline, no
    sleep); :meth:`stop` sends SIGTERM, :meth:`kill` SIGKILL.
    """

    def __init__(self, db: str, *, port: int = 0, extra: tuple[str, ...] = ()) -> None:
        self.db = db
        self.port = port
        self.extra = extra
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.output: list[str] = []

    def start(self, timeout_s: float = 60.0) -> str:
        """Start and wait for the ready line; returns the base URL."""
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "station.cli", "serve", "--db", self.db,
             "--listen", f"127.0.0.1:{self.port}", *self.extra],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines: queue.Queue[str | None] = queue.Queue()
        assert self.proc.stdout is not None
        threading.Thread(target=_pump, args=(self.proc.stdout, lines, self.output),
                         daemon=True).start()
        while True:
            try:
                line = lines.get(timeout=timeout_s)
            except queue.Empty:
                self.kill()
                raise DevDBError("interdict serve did not get ready in time:\n"
                                   + "".join(self.output)) from None
            if line is None:
                raise DevDBError("interdict serve exited:\n" + "".join(self.output))
            m = READY.search(line)
            if m:
                self.url = m.group(1)
                self.port = int(self.url.rsplit(":", 1)[1])
                return self.url

    def stop(self) -> int:
        """SIGTERM and wait; the exit code."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        self.proc = None
        return code

    def kill(self) -> None:
        """SIGKILL (kill -9) and reap."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=60)
        self.proc = None

    def __enter__(self) -> ServiceProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill() if exc[0] is not None else self.stop()


__all__ = ["ENV_BINDIR", "DevDBError", "ServiceProcess", "TempPostgres", "find_bindir"]
