"""pgproto_sync: the blocking driver on plain sockets. Its connection API arrives with issue 4."""

__all__: list[str] = []
