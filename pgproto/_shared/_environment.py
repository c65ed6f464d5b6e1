"""Connection parameters from the arguments, the PG* environment and ~/.pgpass; the TLS context.

The only shared module that reads anything from the machine (the environment and one file), so both
drivers resolve a DSN the same way. `pgproto._dsn` does the parsing, on the values read here.
"""

from __future__ import annotations

import getpass
import os
import ssl as _ssl
from collections.abc import Mapping
from typing import Any

from .._dsn import ConnectParams, passfile_path, resolve


def load_connect_params(options: Mapping[str, Any]) -> ConnectParams:
    """`connect()`'s arguments (by name) completed as libpq would: DSN, PG* variables, ~/.pgpass."""
    dsn = options["dsn"]
    environ = os.environ
    try:
        with open(passfile_path(environ, os.path.expanduser("~"), dsn), encoding="utf-8") as file:
            passfile_text: str | None = file.read()
    except (OSError, UnicodeDecodeError):
        passfile_text = None
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
    )


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
