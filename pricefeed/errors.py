"""Errors a caller can act on. Each has a stable `code` and the HTTP status the API maps it to,
and every error answer has one body: {"error": {"code", "message"}}."""

from __future__ import annotations

import msgspec


class ErrorDetail(msgspec.Struct):
    code: str
    message: str


class ErrorBody(msgspec.Struct):
    error: ErrorDetail

    @classmethod
    def of(cls, code: str, message: str) -> ErrorBody:
        return cls(ErrorDetail(code, message))


class PricefeedError(Exception):
    code = "bad_request"
    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class UnknownChain(PricefeedError):
    code, status = "unknown_chain", 404


class UnknownToken(PricefeedError):
    code, status = "unknown_token", 404


class BadAddress(PricefeedError):
    code, status = "bad_address", 422


class BadAmount(PricefeedError):
    code, status = "bad_amount", 422


class NoRoute(PricefeedError):
    code, status = "no_route", 404


class UpstreamUnavailable(PricefeedError):
    """No RPC endpoint of the chain could answer in time."""

    code, status = "upstream_unavailable", 503
    retry_after = 5  # seconds

    def __init__(self, message: str, detail: str = ""):
        # `message` goes to clients; `detail` (which endpoints failed, and why) only to
        # operators, through str(), logs and the CLI
        super().__init__(message)
        self.args = (f"{message}: {detail}",) if detail else (message,)


class BatchTooLarge(PricefeedError):
    code, status = "batch_too_large", 422


class StoreUnavailable(PricefeedError):
    """The database refused a read or write (disk full, read-only, locked too long)."""

    code, status = "store_unavailable", 503
    retry_after = 30


class OverQuota(PricefeedError):
    code, status = "rate_limited", 429

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class LookupLimit(OverQuota):
    code = "lookup_limit"


class RpcBudget(OverQuota):
    code = "rpc_budget"
