"""Connection parameters from the arguments, the PG* environment and ~/.pgpass; the TLS context.

The only shared module that reads anything from the machine (the environment and one file), so both
drivers resolve a DSN the same way. `pgproto._dsn` does the parsing, on the values read here.
"""

from __future__ import annotations

import getpass
import logging
import os
import ssl as _ssl
import stat
from collections.abc import Mapping
from typing import Any

from .._dsn import ConnectParams, passfile_path, resolve


def load_connect_params(options: Mapping[str, Any]) -> ConnectParams:
    """`connect()`'s arguments (by name) completed as libpq would: DSN, PG* variables, ~/.pgpass."""
    dsn = options["dsn"]
    environ = os.environ
    passfile_text = _read_passfile(passfile_path(environ, os.path.expanduser("~"), dsn))
    try:
        default_user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (e.g. in a container)
        default_user = "postgres"
    return resolve(
        dsn,
        **{name: options[name] for name in _RESOLVED},
        environ=environ,
        passfile_text=passfile_text,
        default_user=default_user,
        default_host=_default_host(),
    )


#: Where libpq builds look for the server's socket by default (Debian and others, then upstream's /tmp).
_SOCKET_DIRS = ("/run/postgresql", "/var/run/postgresql", "/tmp")


def _default_host() -> str:
    """The host when none is given anywhere: like libpq, a local server's Unix-socket directory.

    libpq's directory is fixed when it is built; we take the first usual one that holds a PostgreSQL
    socket, and fall back to localhost over TCP.
    """
    if os.name == "posix":
        for directory in _SOCKET_DIRS:
            try:
                if any(name.startswith(".s.PGSQL.") for name in os.listdir(directory)):
                    return directory
            except OSError:
                continue
    return "localhost"


def _read_passfile(path: str) -> str | None:
    """The password file's text, or None if it is missing, unreadable, or open to others.

    libpq ("The Password File") ignores a file that is not a regular file or that group or others
    may read, and says so: a password others can read is not one to send.
    """
    try:
        mode = os.stat(path).st_mode  # before open(): opening a FIFO would block
        if os.name == "posix" and (not stat.S_ISREG(mode) or mode & (stat.S_IRWXG | stat.S_IRWXO)):
            logging.getLogger("pgproto").warning(
                "password file %r is ignored: it is not a regular file, or group or others can read it; "
                "run chmod 0600 on it",
                path,
            )
            return None
        with open(path, encoding="utf-8") as file:
            return file.read()
    except (OSError, UnicodeDecodeError):
        return None


#: The connect() arguments that pgproto._dsn.resolve completes.
_RESOLVED = ("host", "port", "user", "password", "database", "ssl", "timeout", "server_settings")


def tls_context(params: ConnectParams) -> _ssl.SSLContext:
    """The TLS context for `params.sslmode`: libpq's rules (require encrypts without verifying)."""
    if isinstance(params.ssl_context, _ssl.SSLContext):
        return params.ssl_context
    if params.sslmode in ("verify-ca", "verify-full"):
        context = _ssl.create_default_context(cafile=params.sslrootcert)
        context.check_hostname = params.sslmode == "verify-full"
    else:
        context = _ssl.SSLContext(_ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = _ssl.CERT_NONE
    if params.sslcert:
        context.load_cert_chain(params.sslcert, params.sslkey)
    return context
