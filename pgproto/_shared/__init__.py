"""Driver logic that never does I/O, shared by pgproto_anyio and pgproto_sync."""
