"""What both drivers' test_connect.py use: the harness's users, a free or silent TCP port, a Unix-socket
directory, a password file. The fixtures `clean_env` and `silent_listener` are in tests/conftest.py.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.cluster import Server

#: Users of the harness with the pg_hba.conf method each stands for; every password equals its user name.
PASSWORD_USERS = ("pgproto_password", "pgproto_md5", "pgproto_scram")
ALL_USERS = ("pgproto_trust", *PASSWORD_USERS)


def closed_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def socket_dir(server: Server) -> str:
    """The server's Unix-socket directory (skips when the server was given by PGPROTO_TEST_DSN)."""
    if server.socket_dir is None:
        pytest.skip("the server's Unix socket directory is unknown")
    return str(server.socket_dir)


def write_passfile(path: Path, lines: list[str], mode: int = 0o600) -> None:
    """A password file with `lines`, readable by its owner only unless `mode` says otherwise."""
    path.write_text("# written by test_connect.py\n" + "\n".join(lines) + "\n")
    path.chmod(mode)
