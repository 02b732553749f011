"""Contract calls as plain data, and Multicall3's aggregate3 encoding."""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector


@dataclass(frozen=True)
class Call:
    target: str
    data: bytes
    gas: int  # rough cost, used to keep a batch under the node's eth_call gas cap


class Fn:
    """A contract function by signature: `Fn("getPair(address,address)", ["address"])`."""

    def __init__(self, signature: str, returns: list[str], gas: int = 10_000):
        self.selector = function_signature_to_4byte_selector(signature)
        self.args = _arg_types(signature)
        self.returns = returns
        self.gas = gas

    def call(self, target: str, *args, gas: int | None = None) -> Call:
        return Call(target, self.selector + encode(self.args, list(args)), gas or self.gas)

    def decode(self, data: bytes) -> tuple:
        return decode(self.returns, data)


def _arg_types(signature: str) -> list[str]:
    inner = signature[signature.index("(") + 1 : signature.rindex(")")]
    types, depth, start = [], 0, 0
    for i, ch in enumerate(inner):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            types.append(inner[start:i])
            start = i + 1
    if inner:
        types.append(inner[start:])
    return types


AGGREGATE3 = Fn("aggregate3((address,bool,bytes)[])", ["(bool,bytes)[]"])


def encode_aggregate3(calls: list[Call]) -> bytes:
    return AGGREGATE3.call("", [(c.target, True, c.data) for c in calls]).data


def decode_aggregate3(data: bytes) -> list[tuple[bool, bytes]]:
    return [(bool(ok), bytes(ret)) for ok, ret in AGGREGATE3.decode(data)[0]]
