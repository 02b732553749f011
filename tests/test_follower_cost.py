"""Following costs pools nothing: over 100 pools for 20 blocks, at most two RPC requests a
block (the head, and one eth_getLogs), counted at the recording proxy; and the state ends
equal to a fresh read."""

from __future__ import annotations

from itertools import combinations

from conftest import via
from web3 import Web3

from pricefeed.chain.engine import QuoteEngine
from pricefeed.chain.follower import Follower
from pricefeed.chain.state import ChainState
from pricefeed.chain.v3state import read_v3_pools
from pricefeed.config import load_settings
from pricefeed.devchain.build import uniswap_artifact
from pricefeed.devchain.deploy import deploy, fund
from pricefeed.devchain.market import Market
from pricefeed.devchain.node import Anvil
from pricefeed.devchain.rpcproxy import RpcProxy


def pools_beyond_the_seed(d) -> None:
    """Every token pair gets a V2 pair and a V3 pool at each of four fee tiers (most of them
    empty), 105 pools: on a devchain of its own, so the shared one keeps its routes."""
    w3 = Web3(Web3.HTTPProvider(d.url))
    v2 = w3.eth.contract(d.v2_factory, abi=uniswap_artifact("UniswapV2Factory").abi)
    v3 = w3.eth.contract(d.v3_factory, abi=uniswap_artifact("UniswapV3Factory").abi)
    me = {"from": d.deployer}
    v3.functions.enableFeeAmount(100, 1).transact(me)  # the 0.01% tier, as mainnet later added
    for a, b in combinations(sorted(d.tokens.values()), 2):
        if int(v2.functions.getPair(a, b).call(), 16) == 0:
            v2.functions.createPair(a, b).transact(me)
        for fee in (100, 500, 3000, 10000):
            if int(v3.functions.getPool(a, b, fee).call(), 16) == 0:
                v3.functions.createPool(a, b, fee).transact(me)


async def test_following_100_pools_costs_two_requests_a_block(tmp_path):
    with Anvil() as node:
        d = deploy(node.url)
        pools_beyond_the_seed(d)
        config = tmp_path / "pricefeed.toml"
        toml = d.config_toml(block_time=1).replace("fees = [500,", "fees = [100, 500,")
        config.write_text("include_default_chains = false\n" + toml)
        with RpcProxy(node.url) as recorder:
            engine = QuoteEngine(via(load_settings(config, env={}), [recorder.url]))
            quoter = engine.quoter(engine.chains.get("devchain"))
            tokens = list(d.tokens.values())
            await quoter.book.learn(combinations(tokens, 2), quoter.call_latest)
            held = list({p for a, b in combinations(tokens, 2) for p in quoter.book.pools(a, b)})
            state = ChainState(quoter)
            await state.load(held)
            states = state.states
            follower = Follower(state)
            market = Market(d, seed=3)
            fund(market.w3, d, market.trader)
            await follower.step()
            recorder.reset_counts()
            applied, first = 0, state.head.number
            for _ in range(20):
                market.mint() if _ % 5 == 0 else market.swap()  # a block each, unless skipped
                applied += await follower.step()
            blocks = state.head.number - first
            requests, methods = recorder.http_requests, set(recorder.methods)
            fresh = await read_v3_pools(list(states.v3), quoter.call_at, states.block)
            await engine.close()

    assert len(states.reserves) + len(states.v3) >= 100
    assert blocks >= 15 and applied >= 15  # a block whose transaction reverted has no log
    assert requests <= 2 * blocks + (20 - blocks)  # a step that finds no new block: one
    assert methods == {"eth_getBlockByNumber", "eth_getLogs"}
    for address, followed in states.v3.items():
        now = fresh[address]
        assert (followed.sqrt_price_x96, followed.tick, followed.liquidity) == (
            now.sqrt_price_x96,
            now.tick,
            now.liquidity,
        )
