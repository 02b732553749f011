"""A new pair's pools are found and loaded in two round trips: the factory look-ups, then one
read of every pool (our PoolReader, run as an eth_call with no target), equal to the
three-multicall read."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import via
from oracle import PAIRS
from web3 import Web3

from pricefeed.chain.engine import QuoteEngine
from pricefeed.chain.v3state import load_words_of, read_v3_pools, read_v3_pools_at_once
from pricefeed.devchain.build import ensure_contracts
from pricefeed.model import Quote

COMMITTED = Path(__file__).parents[1] / "pricefeed" / "chain" / "pool_reader.json"


def test_the_shipped_reader_is_built_from_our_source():
    shipped = json.loads(COMMITTED.read_text())["bytecode"]
    assert shipped == ensure_contracts()["PoolReader"].bytecode, "run `make pool-reader`"


async def test_one_reader_call_reads_what_three_multicalls_read(engine, devchain):
    quoter = engine.quoter(engine.chains.get("devchain"))
    v3 = [address for spec, address in devchain.pools if spec.dex == "v3"]
    not_a_pool = devchain.tokens["USDC"]
    block = hex(Web3(Web3.HTTPProvider(devchain.url)).eth.block_number)

    at_once = await read_v3_pools_at_once(
        [*v3, not_a_pool], quoter.run_code, block, quoter.chain.settings.multicall_gas_limit
    )
    in_rounds = await read_v3_pools(v3, quoter.call_at, block)
    widened = {a: list(p.bitmap) for a, p in at_once.items()}  # past empty words, to a tick
    await load_words_of(in_rounds, widened, quoter.call_at, block)
    empty = next(a for s, a in devchain.pools if s.dex == "v3" and not s.depth_usd)

    assert not_a_pool not in at_once
    assert set(at_once) == set(in_rounds) == {a for s, a in devchain.pools if s.dex == "v3"}
    for address, pool in at_once.items():  # the same, in the words either holds
        assert pool.agrees_with(in_rounds[address]) and in_rounds[address].agrees_with(pool)
    assert len(at_once[empty].bitmap.zero) > 600  # every word of the empty pool, read once
    assert all(len(p.liquidity_net) >= 6 for p in at_once.values() if p.liquidity)


# (a swap that runs past a pool's depth reads the tick words it reaches: more round trips)
async def test_a_new_pair_is_quoted_after_two_round_trips(settings, devchain, proxy, oracle):
    slow = proxy()
    slow.faults.delay = (0.25, 0.25)
    engine = QuoteEngine(via(settings, [slow.url]))
    try:
        chain = engine.chains.get("devchain")
        requests = [(await engine.request("devchain", a, b, "0.01"))[1] for a, b in PAIRS]
        slow.reset_counts()

        quotes = await engine.state(chain).quote_many(requests)

        assert slow.round_trips() <= 2, slow.timeline
        for quote, (a, b) in zip(quotes, PAIRS, strict=True):
            assert isinstance(quote, Quote), quote
            assert quote.amount_out_raw == oracle.best(
                a, b, quote.amount_in_raw, quote.block_number, v2_then_v3=True
            )
    finally:
        await engine.close()
