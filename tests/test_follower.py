"""Pool state followed from logs equals a fresh read, field by field, after random swaps,
mints and burns; and following costs one eth_getLogs however many pools are held."""

from __future__ import annotations

from web3 import Web3

from pricefeed.chain.dexes.uniswap_v2 import GET_RESERVES
from pricefeed.chain.logs import follow
from pricefeed.chain.pool_states import PoolStates, v2_fees
from pricefeed.chain.rpc import RpcPool
from pricefeed.chain.v3state import load_words_of, read_v3_pools
from pricefeed.devchain.deploy import fund
from pricefeed.devchain.market import Market

PAIRS = [("WETH", "USDC"), ("WBTC", "WETH"), ("UNI", "WETH"), ("DAI", "USDC")]


async def held_pools(quoter, devchain) -> list:
    t = devchain.tokens
    await quoter.book.learn([(t[a], t[b]) for a, b in PAIRS], quoter.call_latest)
    return [p for a, b in PAIRS for p in quoter.book.pools(t[a], t[b])]


async def fresh_reserves(quoter, addresses, block: str) -> dict:
    answers = await quoter.call_at([GET_RESERVES.call(a) for a in addresses], block)
    return {
        a: GET_RESERVES.decode(data)[:2] for a, (_, data) in zip(addresses, answers, strict=True)
    }


async def test_state_followed_from_logs_equals_a_fresh_read(engine, devchain, proxy):
    chain = engine.chains.get("devchain")
    quoter = engine.quoter(chain)
    w3 = Web3(Web3.HTTPProvider(devchain.url))
    states = PoolStates(quoter.call_at, hex(w3.eth.block_number), v2_fees(quoter))
    await states.read(await held_pools(quoter, devchain))
    market = Market(devchain, seed=7)
    fund(market.w3, devchain, market.trader)
    for _ in range(12):
        market.swap(), market.swap(), market.mint(), market.burn()
    head = w3.eth.block_number
    recorder = proxy()
    counted = RpcPool("devchain", [recorder.url], chain.settings.rpc)

    applied = await follow(states, counted, head)
    await counted.close()

    assert market.positions and applied > 24
    assert recorder.methods == {"eth_getLogs": 1}  # one request, for every pool held
    now = hex(head)
    assert states.reserves == await fresh_reserves(quoter, list(states.reserves), now)
    fresh = await read_v3_pools(list(states.v3), quoter.call_at, now)
    await load_words_of(
        fresh, {a: list(p.bitmap) for a, p in states.v3.items()}, quoter.call_at, now
    )
    for address, followed in states.v3.items():
        read = fresh[address]
        held_words = set(followed.bitmap)
        assert (followed.sqrt_price_x96, followed.tick, followed.liquidity) == (
            read.sqrt_price_x96,
            read.tick,
            read.liquidity,
        )
        assert followed.bitmap == {w: read.bitmap[w] for w in held_words}
        in_held = {
            t: n
            for t, n in read.liquidity_net.items()
            if (t // read.tick_spacing) >> 8 in held_words
        }
        assert followed.liquidity_net == in_held
