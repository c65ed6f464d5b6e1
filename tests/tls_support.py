"""What both drivers' test_tls.py use: key=value DSNs for the TLS cluster (the `pg_tls_server` fixture in
tests/conftest.py) with a given sslmode, CA and host name, and the query that tells whether a session is
encrypted.
"""

from __future__ import annotations

from tests.cluster import Cluster

#: True when the session running it is encrypted (pg_stat_ssl has a row for every backend).
IS_ENCRYPTED = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"

#: A name the server's certificate (for localhost, 127.0.0.1 and ::1) does not cover; never resolved, since
#: `tls_dsn` gives the address as hostaddr.
WRONG_HOST = "not-the-server.invalid"

#: Rows of the large-result tests: many TLS records (at most 16 kB each).
LARGE_ROWS = 100_000
LARGE_QUERY = f"SELECT g, repeat('x', 50) || g::text FROM generate_series(1, {LARGE_ROWS}) g"


def tls_dsn(
    server: Cluster, sslmode: str, *, ca: bool = False, host: str | None = None, user: str = "postgres"
) -> str:
    """A key=value DSN for `user` of `server` with `sslmode`; `ca` adds sslrootcert (the cluster's CA), `host`
    names the server by that name while connecting to its address (libpq's hostaddr)."""
    parts = [f"port={server.port}", f"user={user}", f"password={server.users[user]}", f"dbname={server.dbname}"]
    parts.append(f"host={server.host}" if host is None else f"host={host} hostaddr={server.host}")
    parts.append(f"sslmode={sslmode}")
    if ca:
        parts.append(f"sslrootcert='{server.ca_file}'")
    return " ".join(parts)
