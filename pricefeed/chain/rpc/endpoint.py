"""One JSON-RPC endpoint and what the pool knows of its health."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pybreaker
from web3 import AsyncHTTPProvider

from pricefeed.chain.rpc.budget import Budget
from pricefeed.chain.rpc.redact import redact_url, scrub
from pricefeed.config import RpcSettings

# JSON-RPC errors that say "your call reverted" rather than "this node is unwell".
_CALL_ERROR_CODES = {3}
_CALL_ERROR_WORDS = ("revert", "invalid opcode", "out of gas", "outofgas")
_METHOD_NOT_FOUND = -32601
_UNSUPPORTED_WORDS = ("method not found", "not supported", "unsupported method")
# how providers refuse an eth_getLogs over too many blocks or logs (not a rate limit)
_LOG_LIMIT_WORDS = ("range", "too many", "more than", "limit", "too large", "exceed", "size")


class EndpointFault(Exception):
    """The endpoint failed (transport, HTTP status, timeout, node-side error): try another."""


class CallError(Exception):
    """The node answered, and the answer is an error any node would give (a revert)."""


class LogRangeTooLarge(CallError):
    """The provider will not return this many blocks' or logs' worth at once: ask for less."""


class Unsupported(CallError):
    """The provider does not offer this method at all (JSON-RPC "method not found")."""


class Ewma:
    def __init__(self, alpha: float):
        self.alpha = alpha
        self.value: float | None = None

    def add(self, sample: float) -> None:
        self.value = (
            sample if self.value is None else self.alpha * sample + (1 - self.alpha) * self.value
        )


class OpenedAt(pybreaker.CircuitBreakerListener):
    """When the breaker last opened: pybreaker keeps that only in its private storage."""

    def __init__(self) -> None:
        self.at: float | None = None  # time.monotonic()

    def state_change(self, cb, old_state, new_state) -> None:
        if new_state.name == pybreaker.STATE_OPEN:
            self.at = time.monotonic()


class Endpoint:
    def __init__(self, url: str, settings: RpcSettings):
        self.label = redact_url(url)  # the only form of the URL that may leave this object
        self._settings = settings
        self._provider = AsyncHTTPProvider(
            url,
            request_kwargs={"timeout": aiohttp.ClientTimeout(total=settings.request_timeout)},
            exception_retry_configuration=None,  # the pool retries, across endpoints
        )
        self.breaker = pybreaker.CircuitBreaker(
            fail_max=settings.breaker_failures,
            reset_timeout=settings.breaker_cooldown,
            exclude=[CallError],
            name=self.label,
            throw_new_error_on_trip=False,
        )
        self.opened = OpenedAt()
        self.breaker.add_listener(self.opened)
        self.budget = Budget(settings.rate_limit)
        self.latency = Ewma(alpha=0.3)  # seconds
        self.error_rate = Ewma(alpha=0.2)  # 0..1
        self.head: int | None = None
        self.requests = 0
        self.failures = 0
        self.last_error = ""

    @property
    def state(self) -> str:
        return self.breaker.current_state

    def can_try(self) -> bool:
        """Closed or half-open, or open long enough that a half-open probe is due."""
        if self.state != pybreaker.STATE_OPEN:
            return True
        opened = self.opened.at
        return opened is None or time.monotonic() - opened >= self._settings.breaker_cooldown

    def score(self) -> float:
        """Lower is better: typical latency, inflated by recent errors."""
        return (self.latency.value or 0.0) * (1 + 10 * (self.error_rate.value or 0.0))

    async def request(self, method: str, params: list) -> Any:
        await self.budget.spend()
        self.requests += 1
        started = time.monotonic()
        try:
            with self.breaker.calling():
                result = await self._send(method, params)
        except pybreaker.CircuitBreakerError:
            raise EndpointFault(f"{self.label}: circuit breaker open") from None
        except CallError:
            self._record(started, ok=True)
            raise
        except EndpointFault as e:
            self._record(started, ok=False, error=str(e))
            raise
        self._record(started, ok=True)
        if method in ("eth_blockNumber", "eth_getBlockByNumber") and params[:1] in ([], ["latest"]):
            self._note_head(result)
        return result

    async def _send(self, method: str, params: list) -> Any:
        try:
            async with asyncio.timeout(self._settings.request_timeout):
                response = await self._provider.make_request(method, params)
        except TimeoutError:
            raise EndpointFault(
                f"{self.label}: no answer within {self._settings.request_timeout} s"
            ) from None
        except aiohttp.ClientResponseError as e:
            raise EndpointFault(f"{self.label}: HTTP {e.status}") from None
        except Exception as e:  # transport errors, undecodable bodies
            raise EndpointFault(f"{self.label}: {type(e).__name__}: {scrub(str(e))}") from None
        if "error" in response:
            error = response["error"]
            message = scrub(str(error.get("message", error)))
            lowered = message.lower()
            if error.get("code") == _METHOD_NOT_FOUND or any(
                w in lowered for w in _UNSUPPORTED_WORDS
            ):
                raise Unsupported(f"{method}: {message}")
            if (
                method == "eth_getLogs"
                and "rate" not in lowered
                and any(w in lowered for w in _LOG_LIMIT_WORDS)
            ):
                raise LogRangeTooLarge(message)
            if error.get("code") in _CALL_ERROR_CODES or any(
                w in message.lower() for w in _CALL_ERROR_WORDS
            ):
                raise CallError(message)
            raise EndpointFault(f"{self.label}: RPC error {error.get('code')}: {message}")
        return response["result"]

    def _record(self, started: float, ok: bool, error: str = "") -> None:
        self.latency.add(time.monotonic() - started)
        self.error_rate.add(0.0 if ok else 1.0)
        if not ok:
            self.failures += 1
            self.last_error = error

    def _note_head(self, result: Any) -> None:
        number = result["number"] if isinstance(result, dict) else result
        self.head = int(number, 16) if isinstance(number, str) else int(number)

    async def close(self) -> None:
        await self._provider.disconnect()
