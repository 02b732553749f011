"""A cached answer costs no I/O: no database read or write, no RPC, per request."""

from __future__ import annotations

from sqlalchemy import event


async def test_l1_hits_touch_neither_the_database_nor_the_chain(service, proxy):
    recorder = proxy()
    periodic_only = {
        "flush_interval": 3600.0,
        "retier_interval": 3600.0,
    }  # batched, not per request
    async with service([recorder.url], cache=periodic_only) as client:
        await client.get("/price/devchain/WETH/USDC")
        store = client.app.state.store
        statements: list[str] = []
        for engine in (store._reader, store._writer):
            event.listen(
                engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2])
            )
        recorder.reset_counts()

        answers = [(await client.get("/price/devchain/WETH/USDC")).json() for _ in range(200)]

        assert {a["cache"] for a in answers} == {"hit"}
        assert statements == [], statements
        assert recorder.http_requests == 0
        assert client.app.state.feed.demand.pairs  # counted in memory, written in batches later
