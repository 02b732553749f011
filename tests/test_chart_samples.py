"""The dashboard's chart samples are written to the store."""

from __future__ import annotations

from conftest import on_app

from pricefeed.web.sampler import Sampler


async def test_chart_samples_are_written_to_the_store(service):
    async with service() as client:
        await client.get("/price/devchain/WETH/USDC")
        await client.get("/price/devchain/WETH/USDC")
        services = client.app.state.services
        await on_app(client, Sampler(services).sample)
        rows = await on_app(client, services.store.samples, "hit_rate", 0.0)
    assert rows and rows[-1][1] == "4" and rows[-1][2] == 0.5
