"""Deploy Uniswap V2/V3, test tokens and pools of varied depth onto a fresh anvil."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

from web3 import Web3

from pricefeed.devchain.build import Artifact, ensure_contracts, uniswap_artifact

MIN_TICK, MAX_TICK = -887272, 887272
TICK_SPACING = {100: 1, 500: 10, 3000: 60, 10000: 200}
DEADLINE = 2**63


@dataclass(frozen=True)
class TokenSpec:
    symbol: str
    decimals: int
    usd: Fraction  # reference price the pools are seeded around


@dataclass(frozen=True)
class PoolSpec:
    dex: str  # "v2" or "v3"
    a: str
    b: str
    depth_usd: int  # value of each side
    fee: int | None = None  # V3 fee tier
    skew_bps: int = 0  # this pool prices `a` that much above the reference
    concentrated: bool = False  # add a deep narrow position around the price (V3 only)
    beside: bool = False  # only positions above and below the price: no liquidity at it (V3)


TOKENS = [
    TokenSpec("WETH", 18, Fraction(3000)),
    TokenSpec("USDC", 6, Fraction(1)),
    TokenSpec("WBTC", 8, Fraction(60000)),
    TokenSpec("DAI", 18, Fraction(1)),
    TokenSpec("UNI", 18, Fraction(8)),
    TokenSpec("LINK", 18, Fraction(15)),
    TokenSpec("NOPE", 18, Fraction(1)),  # no pool anywhere: the "no route" case
]

# Depths and skews are chosen so that the best venue differs by pair, direction and amount:
# V2 prices WETH 0.6% high (best for small WETH sales) but is shallower than V3's 0.05% pool.
POOLS = [
    PoolSpec("v2", "WETH", "USDC", 1_500_000, skew_bps=60),
    PoolSpec("v3", "WETH", "USDC", 6_000_000, fee=500, concentrated=True),
    PoolSpec("v3", "WETH", "USDC", 1_000_000, fee=3000, skew_bps=20),
    PoolSpec("v3", "WETH", "USDC", 100_000, fee=10000, skew_bps=100),
    PoolSpec("v2", "WBTC", "WETH", 600_000),
    PoolSpec("v3", "WBTC", "WETH", 2_000_000, fee=3000),
    PoolSpec("v3", "WBTC", "WETH", 200_000, fee=500, skew_bps=-30),
    PoolSpec("v3", "WBTC", "USDC", 1_000_000, fee=3000, skew_bps=15),
    PoolSpec("v2", "DAI", "USDC", 500_000, skew_bps=10),
    PoolSpec("v3", "DAI", "USDC", 3_000_000, fee=500),
    PoolSpec("v2", "UNI", "WETH", 200_000, skew_bps=-30),
    PoolSpec("v3", "UNI", "WETH", 1_000_000, fee=3000),
    PoolSpec("v3", "UNI", "WETH", 300_000, fee=10000, skew_bps=50),
    PoolSpec("v2", "LINK", "USDC", 100_000),
    PoolSpec("v3", "LINK", "WETH", 400_000, fee=3000, skew_bps=25),
    # A pool whose price sits between positions: a swap crosses empty words to reach them.
    PoolSpec("v3", "WBTC", "DAI", 200_000, fee=3000, skew_bps=-40, beside=True),
    # Pools that exist but hold nothing: a quote must treat them as misses.
    PoolSpec("v2", "WBTC", "USDC", 0),
    PoolSpec("v3", "LINK", "USDC", 0, fee=500),
]


@dataclass
class Deployment:
    url: str
    deployer: str
    multicall: str
    weth: str
    v2_factory: str
    v2_router: str
    v3_factory: str
    position_manager: str
    swap_router: str
    quoter: str
    tokens: dict[str, str] = field(default_factory=dict)  # symbol -> address
    decimals: dict[str, int] = field(default_factory=dict)
    pools: list[tuple[PoolSpec, str]] = field(default_factory=list)  # spec, pool address

    def config_toml(self, block_time: int) -> str:
        """The [chains.devchain] section that makes pricefeed quote this deployment."""
        tokens = "".join(
            f'\n[[chains.devchain.tokens]]\nsymbol = "{s}"\naddress = "{a}"\n'
            f"decimals = {self.decimals[s]}\n"
            for s, a in self.tokens.items()
        )
        return f"""# written by `pricefeed devchain`; rerunning it rewrites this file
[chains.devchain]
chain_id = 31337
rpc_urls = ["{self.url}"]
multicall = "{self.multicall}"
multicall_gas_limit = 500000000
block_time = {block_time}
hubs = ["WETH", "USDC"]

[[chains.devchain.dexes]]
kind = "uniswap_v2"
name = "uniswap-v2"
factory = "{self.v2_factory}"
router = "{self.v2_router}"

[[chains.devchain.dexes]]
kind = "uniswap_v3"
name = "uniswap-v3"
factory = "{self.v3_factory}"
quoter = "{self.quoter}"
fees = [500, 3000, 10000]
{tokens}"""


def deploy(url: str) -> Deployment:
    """Uniswap V2 and V3, the test tokens and the pools of POOLS, deployed on a fresh anvil at
    `url` by its first account, which is also given ample balances."""
    w3 = Web3(Web3.HTTPProvider(url))
    d = _deploy_uniswap(w3, url, w3.eth.accounts[0])
    _deploy_tokens(w3, d)
    fund(w3, d, d.deployer)
    for spec in POOLS:
        d.pools.append((spec, _add_pool(w3, d, spec)))
    return d


def _deploy_uniswap(w3: Web3, url: str, me: str) -> Deployment:
    """Our multicall, WETH, and Uniswap's factories, routers, position manager and QuoterV2.
    Deployed in this order, so that their addresses (and the tokens' after them) never change."""

    def new(name: str, *args) -> str:
        return _new(w3, me, uniswap_artifact(name), *args).address

    multicall = _new(w3, me, ensure_contracts()["Aggregator"]).address
    weth = new("WETH9")
    v2_factory = new("UniswapV2Factory", me)
    v2_router = new("UniswapV2Router02", v2_factory, weth)
    v3_factory = new("UniswapV3Factory")
    no_descriptor = "0x0000000000000000000000000000000000000000"  # token URIs: unused here
    return Deployment(
        url=url,
        deployer=me,
        multicall=multicall,
        weth=weth,
        v2_factory=v2_factory,
        v2_router=v2_router,
        v3_factory=v3_factory,
        position_manager=new("NonfungiblePositionManager", v3_factory, weth, no_descriptor),
        swap_router=new("SwapRouter", v3_factory, weth),
        quoter=new("QuoterV2", v3_factory, weth),
    )


def _deploy_tokens(w3: Web3, d: Deployment) -> None:
    """Deploy the test tokens of TOKENS and note them in `d` (WETH is Uniswap's own)."""
    dev_token = ensure_contracts()["DevToken"]
    for t in TOKENS:
        if t.symbol == "WETH":
            d.tokens[t.symbol] = d.weth
        else:
            name = f"Devchain {t.symbol}"
            d.tokens[t.symbol] = _new(w3, d.deployer, dev_token, name, t.symbol, t.decimals).address
        d.decimals[t.symbol] = t.decimals


def _new(w3: Web3, me: str, artifact: Artifact, *args):
    """The contract of `artifact` deployed by `me`, once its transaction is mined."""
    tx = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode).constructor(*args)
    receipt = w3.eth.wait_for_transaction_receipt(tx.transact({"from": me}))
    return w3.eth.contract(address=receipt.contractAddress, abi=artifact.abi)


def _uniswap(w3: Web3, address: str, name: str):
    """The deployed Uniswap contract `name` at `address`."""
    return w3.eth.contract(address, abi=uniswap_artifact(name).abi)


def fund(w3: Web3, d: Deployment, account: str, contracts: dict | None = None) -> None:
    """Give `account` ample balances of every token and approve both routers and the NPM."""
    contracts = contracts or token_contracts(w3, d)
    w3.provider.make_request("anvil_setBalance", [account, hex(10**36)])
    contracts["WETH"].functions.deposit().transact({"from": account, "value": 10**33})
    for symbol, token in contracts.items():
        if symbol != "WETH":
            token.functions.mint(account, 10 ** (d.decimals[symbol] + 15)).transact(
                {"from": account}
            )
        for spender in (d.v2_router, d.swap_router, d.position_manager):
            token.functions.approve(spender, 2**256 - 1).transact({"from": account})


def token_contracts(w3: Web3, d: Deployment) -> dict:
    abi = ensure_contracts()["DevToken"].abi
    weth_abi = uniswap_artifact("WETH9").abi
    return {
        s: w3.eth.contract(address=a, abi=weth_abi if s == "WETH" else abi)
        for s, a in d.tokens.items()
    }


def seed_amounts(d: Deployment, spec: PoolSpec) -> tuple[int, int]:
    """Raw amounts of a and b worth `depth_usd` each, with a priced `skew_bps` above reference."""
    prices = {t.symbol: t.usd for t in TOKENS}
    skew = 1 + Fraction(spec.skew_bps, 10_000)
    amount_a = Fraction(spec.depth_usd) / (prices[spec.a] * skew) * 10 ** d.decimals[spec.a]
    amount_b = Fraction(spec.depth_usd) / prices[spec.b] * 10 ** d.decimals[spec.b]
    return math.floor(amount_a), math.floor(amount_b)


def _add_pool(w3: Web3, d: Deployment, spec: PoolSpec) -> str:
    """The pool of `spec`, created and seeded (but left empty at depth 0): its address."""
    if spec.dex == "v2":
        return _add_v2_pool(w3, d, spec)
    amount_a, amount_b = seed_amounts(d, spec)
    (t0, amount0), (t1, amount1) = sorted(
        [(d.tokens[spec.a], amount_a), (d.tokens[spec.b], amount_b)], key=lambda x: int(x[0], 16)
    )
    if spec.depth_usd == 0:
        return _create_v3_pool(w3, d, t0, t1, spec.fee, 2**96)  # no liquidity
    address = _create_v3_pool(w3, d, t0, t1, spec.fee, math.isqrt((amount1 << 192) // amount0))
    _mint_positions(w3, d, spec, (t0, amount0), (t1, amount1))
    return address


def _add_v2_pool(w3: Web3, d: Deployment, spec: PoolSpec) -> str:
    a, b, me = d.tokens[spec.a], d.tokens[spec.b], d.deployer
    factory = _uniswap(w3, d.v2_factory, "UniswapV2Factory")
    if spec.depth_usd == 0:
        created = factory.functions.createPair(a, b).transact({"from": me})
    else:
        amount_a, amount_b = seed_amounts(d, spec)
        router = _uniswap(w3, d.v2_router, "UniswapV2Router02")
        created = router.functions.addLiquidity(
            a, b, amount_a, amount_b, 0, 0, me, DEADLINE
        ).transact({"from": me})
    w3.eth.wait_for_transaction_receipt(created)
    return factory.functions.getPair(a, b).call()


def _create_v3_pool(w3: Web3, d: Deployment, t0: str, t1: str, fee: int, sqrt_price: int) -> str:
    """A new V3 pool initialized at `sqrt_price` (Q64.96), with no position yet."""
    factory = _uniswap(w3, d.v3_factory, "UniswapV3Factory")
    # anvil answers a transaction before its block is mined: wait for the ones read next
    w3.eth.wait_for_transaction_receipt(
        factory.functions.createPool(t0, t1, fee).transact({"from": d.deployer})
    )
    address = factory.functions.getPool(t0, t1, fee).call()
    pool = _uniswap(w3, address, "UniswapV3Pool")
    w3.eth.wait_for_transaction_receipt(
        pool.functions.initialize(sqrt_price).transact({"from": d.deployer})
    )
    return address


def _mint_positions(
    w3: Web3, d: Deployment, spec: PoolSpec, seed0: tuple[str, int], seed1: tuple[str, int]
) -> None:
    """Mint the positions of `v3_layout` around the seed price, each with its share of both
    seeds (token, amount; in the pool's token order)."""
    (t0, amount0), (t1, amount1) = seed0, seed1
    npm = _uniswap(w3, d.position_manager, "NonfungiblePositionManager")
    tick = math.floor(math.log(amount1 / amount0, 1.0001))
    layout = v3_layout(tick, TICK_SPACING[spec.fee], spec.concentrated)
    if spec.beside:
        layout = [(lo, hi, share) for lo, hi, share in layout if not lo <= tick < hi]
    for lower, upper, share in layout:
        # one-sided ranges take only the token they hold; the other amount is left unspent
        desired = (amount0 * share // 100, amount1 * share // 100)
        # MintParams: the pool's key, the range, amounts desired and at least, owner, deadline
        params = (t0, t1, spec.fee, lower, upper, *desired, 0, 0, d.deployer, DEADLINE)
        npm.functions.mint(params).transact({"from": d.deployer})


def v3_layout(tick: int, spacing: int, concentrated: bool) -> list[tuple[int, int, int]]:
    """Positions (lower, upper, percent of the seed) as a live pool holds them: a full-range
    base, ranges of several widths around the price, and one-sided ranges beyond it on both
    sides, so that ordinary swaps cross initialized ticks."""
    top = MAX_TICK // spacing * spacing

    def snap(t: int) -> int:
        return t // spacing * spacing

    layout = [(-top, top, 30)]
    layout += [(snap(tick - w), snap(tick + w) + spacing, 15) for w in (2 * spacing, 600, 2400)]
    layout += [(snap(tick + 300), snap(tick + 900), 10), (snap(tick - 900), snap(tick - 300), 10)]
    layout += [(snap(tick + 1500), snap(tick + 4000), 5), (snap(tick - 4000), snap(tick - 1500), 5)]
    if concentrated:  # a deep narrow position, as the busiest pools hold
        layout.append((snap(tick - 500), snap(tick + 500), 100))
    return layout
