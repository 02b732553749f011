"""Keeps a chain's held pool state at the head: per block, one head read and one
`eth_getLogs` for every pool held, whatever their number.

1. The head's parent hash must be the hash of the block the state is at (when blocks were
   skipped, that block is read by number and its hash compared). On a mismatch the chain
   reorganised under us: logs cannot be undone, so the pools are read again at the new head.
2. The logs of the blocks in between are applied in order; a log of the head block with
   another hash means a reorganisation happened while they were fetched: read again too.
3. Every `check_interval` a few pools are read again and compared with what following made
   of them. A disagreement is a bug or a missed log; it is counted (a figure that must stay
   0) and the fresh read replaces the held state.
4. A provider with no `eth_getLogs` at all: every held pool is read again at the head once per
   `reread_interval` instead, all at one block.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable

from web3 import AsyncWeb3, WebSocketProvider

from pricefeed.chain.logs import apply_logs, fetch_logs
from pricefeed.chain.pool_states import PoolStates
from pricefeed.chain.rpc import Block
from pricefeed.chain.rpc.budget import CHECK, FOLLOW, spending
from pricefeed.chain.rpc.endpoint import Unsupported
from pricefeed.chain.rpc.redact import scrub
from pricefeed.chain.state import ChainState
from pricefeed.chain.v3state import load_words_of
from pricefeed.errors import PricefeedError

log = logging.getLogger(__name__)
MIN_POLL = 1.0  # seconds: on faster chains one eth_getLogs covers several blocks
RESUBSCRIBE_AFTER = 30  # head reads by polling before the WebSocket is tried again


class Follower:
    def __init__(
        self,
        state: ChainState,
        check_interval: float = 60.0,
        check_sample: int = 4,
        persist: Callable[[ChainState], Awaitable[None]] | None = None,
        reread_interval: float = 5.0,
        logs_retry: float = 600.0,
    ):
        self.state = state
        self.rpc = state.quoter.rpc
        self.settings = state.quoter.chain.settings
        self.check_interval = check_interval
        self.check_sample = check_sample
        self.persist = persist  # writes what changed, after each step
        self._checked_at = time.monotonic()
        self.steps = self.logs = self.reorgs = 0
        self.subscribed = False  # new heads arrive over the chain's WebSocket
        self.checks = self.disagreements = 0
        self.reread_interval = reread_interval  # without eth_getLogs: seconds between reads
        self.without_logs = False  # the provider has no eth_getLogs: pools are read instead
        self.logs_retry = logs_retry  # ...until this many seconds later, when logs are tried again
        self._refused_at = -1e18
        self.rereads = 0
        self._read_at = -1e18
        self.last_error = ""

    async def run(self) -> None:
        """Follow until cancelled: new heads from `eth_subscribe` where the chain has a
        WebSocket URL, else (and while the socket is down) a head read per block time."""
        with spending(FOLLOW):
            await self._follow()

    async def _follow(self) -> None:
        while True:
            if self.settings.ws_url:
                try:
                    await self._subscribed()
                except Exception as e:  # refused or dropped: poll a while, then subscribe again
                    self._failed(e)
            await self._polling(RESUBSCRIBE_AFTER if self.settings.ws_url else None)

    async def _polling(self, rounds: int | None) -> None:
        period = max(self.settings.block_time, MIN_POLL)
        while rounds is None or rounds > 0:
            started = time.monotonic()
            await self._after(self.step())
            # a step per period from start to start: a slow RPC does not add its wait to it
            await asyncio.sleep(max(0.0, period - (time.monotonic() - started)))
            rounds = None if rounds is None else rounds - 1

    async def _subscribed(self) -> None:
        """Steps driven by the heads the node pushes: per block one eth_getLogs, no head read."""
        async with AsyncWeb3(WebSocketProvider(self.settings.ws_url)) as w3:
            await w3.eth.subscribe("newHeads")
            self.subscribed = True
            try:
                async for message in w3.socket.process_subscriptions():
                    header = message["result"]
                    head = Block(header["number"], header["hash"].to_0x_hex())
                    await self._after(self._on_head(head, header["parentHash"].to_0x_hex()))
            finally:
                self.subscribed = False

    async def _on_head(self, head: Block, parent: str) -> int:
        async with self.state.states.lock:
            self.steps += 1
            return await self._advance(head, parent)

    async def _after(self, step: Awaitable[int]) -> None:
        """Run a step, then the consistency check when due and the persisting; a failure is
        noted and the next step tries again."""
        try:
            await step
            due = time.monotonic() - self._checked_at >= self.check_interval
            if due and not self.rpc.busy():  # checks spend only what nothing else needs
                self._checked_at = time.monotonic()
                await self.check()
            if self.persist is not None:
                await self.persist(self.state)
            self.last_error = ""
        except Exception as e:  # the loop outlives any one failure
            self._failed(e)

    def _failed(self, e: Exception) -> None:
        message = e.message if isinstance(e, PricefeedError) else scrub(f"{type(e).__name__}: {e}")
        if message != self.last_error:  # once per cause, not once a block
            log.warning("%s: following paused: %s", self.state.name, message)
        self.last_error = message

    async def step(self) -> int:
        """Move the state to the head; returns the logs applied."""
        with spending(FOLLOW):  # also when a look-up asks for it (to catch up)
            raw = await self.rpc.request("eth_getBlockByNumber", ["latest", False])
        head = Block.of(raw)
        async with self.state.states.lock:
            self.steps += 1
            return await self._advance(head, raw["parentHash"])

    async def _advance(self, head: Block, parent: str) -> int:
        """Move the state to `head` (the caller holds the lock); returns the logs applied."""
        s, held = self.state, self.state.head
        if held is None or not s.states.pools or head == held:
            s.move_to(head)  # nothing to follow yet, or confirmed: still the head
            return 0
        if head.number <= held.number or (head.number == held.number + 1 and parent != held.hash):
            await self._read_again(head)
            return 0
        if self.without_logs and time.monotonic() - self._refused_at < self.logs_retry:
            return await self._read_when_due(head)
        try:
            logs, forked = await self._logs_since(held, head)
        except Unsupported as e:
            self._logs_refused(e)
            return await self._read_when_due(head)
        if self.without_logs:
            log.info("%s: eth_getLogs answers again: following by logs", s.name)
            self.without_logs = False
        if forked or _off_head(logs, head):
            await self._read_again(head)  # the held block, or the head, is no longer the chain's
            return 0
        apply_logs(s.states, logs)
        s.move_to(head)
        self.logs += len(logs)
        return len(logs)

    async def _logs_since(self, held: Block, head: Block) -> tuple[list[dict], bool]:
        """The held pools' logs after `held` up to `head`, and whether `held` left the chain:
        after skipped blocks, the held block is read again beside the logs, not before."""
        start, end, most = held.number + 1, head.number, self.settings.max_log_blocks
        logs = fetch_logs(self.rpc, self.state.states.addresses(), start, end, most)
        return await asyncio.gather(logs, self._forked(head, held))

    def _logs_refused(self, e: Unsupported) -> None:
        """Follow by reading pools again until `logs_retry` has passed (said once)."""
        if not self.without_logs:
            log.warning(
                "%s: no eth_getLogs here (%s); held pools are read again every %g s "
                "instead, and logs asked for again every %g s",
                self.state.name,
                e,
                self.reread_interval,
                self.logs_retry,
            )
        self.without_logs, self._refused_at = True, time.monotonic()

    async def _forked(self, head: Block, held: Block) -> bool:
        """Whether the held block left the chain, when blocks were skipped (the next block's
        parent hash says so without asking)."""
        if head.number == held.number + 1:
            return False
        then = await self.rpc.request("eth_getBlockByNumber", [hex(held.number), False])
        return then is None or then["hash"] != held.hash

    async def _read_again(self, head: Block) -> None:
        """After a reorganisation: every held pool read afresh at `head`."""
        self.reorgs += 1
        s = self.state
        log.warning(
            "%s: reorganisation at %d (held %s): pools read again",
            s.name,
            head.number,
            s.head.number if s.head else None,
        )
        await self._read_all(head)

    async def _read_when_due(self, head: Block) -> int:
        """Without logs: every held pool read again at `head` once per `reread_interval` (all
        at one block, so a quote never mixes blocks); in between the state stays, ageing."""
        if time.monotonic() - self._read_at >= self.reread_interval:
            await self._read_all(head)
            self.rereads += 1
        return 0

    async def _read_all(self, head: Block) -> None:
        """Every held pool read afresh at `head`, with the same tick words as before."""
        s = self.state
        self._read_at = time.monotonic()
        fresh = await _read(s.states, list(s.states.pools), hex(head.number))
        s.states.reserves, s.states.v3 = fresh.reserves, fresh.v3
        s.states.changed.update(s.states.pools)
        s.move_to(head)

    async def check(self) -> int:
        """Read a sample of held pools again at the held block; returns the disagreements."""
        s = self.state
        with spending(CHECK):
            return await self._check(s)

    async def _check(self, s: ChainState) -> int:
        async with s.states.lock:
            addresses = s.states.addresses()
            sample = random.sample(addresses, min(self.check_sample, len(addresses)))
            if not sample:
                return 0
            fresh = await _read(s.states, sample, s.states.block)
            wrong = 0
            for address in sample:
                if not _agree(s.states, fresh, address):
                    wrong += 1
                    log.error("%s: pool %s differs from a fresh read", s.name, address)
                    if address in fresh.v3:
                        s.states.v3[address] = fresh.v3[address]
                    elif address in fresh.reserves:
                        s.states.reserves[address] = fresh.reserves[address]
                    s.states.changed.add(address)
            self.checks += len(sample)
            self.disagreements += wrong
            return wrong


class Followers:
    """Runs the follower of each chain in use, started as chains come into use, until
    cancelled; what they change is persisted after each step."""

    def __init__(
        self,
        followers: Callable[[], dict[str, Follower]],
        persist: Callable[[ChainState], Awaitable[None]] | None = None,
    ):
        self.followers = followers
        self.persist = persist

    @property
    def by_chain(self) -> dict[str, Follower]:
        return self.followers()

    async def run(self, poll: float = 1.0) -> None:
        running: dict[str, asyncio.Task] = {}
        try:
            while True:
                for name, follower in self.followers().items():
                    if name not in running:
                        follower.persist = self.persist
                        running[name] = asyncio.create_task(follower.run())
                await asyncio.sleep(poll)
        finally:
            for task in running.values():
                task.cancel()
            await asyncio.gather(*running.values(), return_exceptions=True)


async def _read(states: PoolStates, addresses: list[str], block: str) -> PoolStates:
    """These held pools read afresh at `block`, holding the same tick words."""
    fresh = states.like(block)
    await fresh.read([states.pools[a] for a in addresses])
    words = {a: list(p.bitmap) for a, p in states.v3.items() if a in fresh.v3}
    await load_words_of(fresh.v3, words, states.run_at, block)
    return fresh


def _agree(held: PoolStates, fresh: PoolStates, address: str) -> bool:
    if address in held.v3:
        return address in fresh.v3 and held.v3[address].agrees_with(fresh.v3[address])
    return held.reserves.get(address) == fresh.reserves.get(address)


def _off_head(logs: list[dict], head: Block) -> bool:
    """Whether a log of the head's number came from another block: the chain reorganised
    while the logs were fetched."""
    return any(
        int(g["blockNumber"], 16) == head.number and g["blockHash"] != head.hash for g in logs
    )
