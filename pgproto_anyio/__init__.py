"""pgproto_anyio: the async driver on anyio (asyncio and trio). Its connection API arrives with issue 3."""

__all__: list[str] = []
