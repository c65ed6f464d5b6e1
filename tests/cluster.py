"""The test harness's view of `pgproto_sync.server`: the same throwaway clusters, with the auth-method users.

The code lives in `pgproto_sync.server` (public since issue 5), so the CLI and the tests start servers the same
way. Here `Cluster` creates the users of `AUTH_METHODS` by default, as the server tests need.
"""

from __future__ import annotations

from pgproto_sync import server as _server
from pgproto_sync.server import (
    AUTH_METHODS,
    DBNAME,
    PASSWORDS,
    ClusterError,
    ExternalServer,
    Installation,
    Server,
    find_installations,
    make_uri,
    temporary_server,
)

__all__ = [
    "AUTH_METHODS",
    "DBNAME",
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


class Cluster(_server.Cluster):
    """`pgproto_sync.server.Cluster` that also creates the users of `AUTH_METHODS` unless told otherwise."""

    def __init__(self, installation: Installation, *, auth_users: bool = True, tls: bool = False) -> None:
        """Prepare a cluster for `installation`, with the auth-method users by default (and TLS with `tls`)."""
        super().__init__(installation, auth_users=auth_users, tls=tls)
