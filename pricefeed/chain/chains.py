"""Chains and their tokens, looked up the way users name them."""

from __future__ import annotations

import re

from cachetools import LRUCache
from eth_utils import to_checksum_address

from pricefeed.config import ChainSettings, Settings
from pricefeed.errors import BadAddress, UnknownChain, UnknownToken
from pricefeed.model import Token

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
MAX_REF_CHARS = 64  # longest chain name or token symbol a request may name


class Chain:
    def __init__(self, name: str, settings: ChainSettings, learned_size: int = 10_000):
        self.name = name
        self.settings = settings
        self.chain_id = settings.chain_id
        self.dexes = settings.dexes
        self.tokens = [
            Token(t.symbol, to_checksum_address(t.address), t.decimals, t.name)
            for t in settings.tokens
        ]
        self._by_address = {t.address.lower(): t for t in self.tokens}
        self._learned: LRUCache[str, Token] = LRUCache(learned_size)  # read from the chain
        self._by_symbol: dict[str, list[Token]] = {}
        for t in self.tokens:
            self._by_symbol.setdefault(t.symbol.lower(), []).append(t)
        self.hubs = [self.token(symbol) for symbol in settings.hubs]

    def remember(self, token: Token) -> None:
        """Add a token learned from the chain; found by address only, so symbols stay ours."""
        if token.address.lower() not in self._by_address:
            self._learned[token.address.lower()] = token

    def learned(self) -> int:
        return len(self._learned)

    def token(self, ref: str) -> Token:
        """A token by symbol (any case) or by address (any case)."""
        ref = ref.strip()
        if len(ref) > MAX_REF_CHARS:
            raise UnknownToken(
                f"a token is a symbol or an address of at most {MAX_REF_CHARS} characters, "
                f"got {len(ref)}"
            )
        if ref.lower().startswith("0x"):
            if not _ADDRESS.fullmatch(ref):
                raise BadAddress(f"{ref!r} is not an address: expected 0x and 40 hex digits")
            token = self._by_address.get(ref.lower()) or self._learned.get(ref.lower())
            if token is None:
                raise UnknownToken(f"no token at {ref} is known on {self.name}")
            return token
        found = self._by_symbol.get(ref.lower(), [])
        if len(found) == 1:
            return found[0]
        if found:
            listed = ", ".join(t.address for t in found)
            raise UnknownToken(f"{ref} is ambiguous on {self.name} ({listed}): use the address")
        known = ", ".join(sorted(t.symbol for t in self.tokens)[:12])
        raise UnknownToken(f"no token {ref!r} on {self.name}; known: {known}")


class Chains:
    def __init__(self, settings: Settings):
        learned = settings.cache.learned_tokens
        self.all = [Chain(name, cs, learned) for name, cs in settings.chains.items()]
        self._by_name = {c.name.lower(): c for c in self.all}
        self._by_id = {c.chain_id: c for c in self.all}

    def get(self, ref: str | int) -> Chain:
        """A chain by name (any case) or by chain id."""
        text = str(ref).strip()
        if len(text) > MAX_REF_CHARS:
            raise UnknownChain(
                f"a chain is a name or an id of at most {MAX_REF_CHARS} characters, got {len(text)}"
            )
        is_id = text.isascii() and text.isdigit()  # "³".isdigit() is true, and int() refuses it
        chain = self._by_id.get(int(text)) if is_id else self._by_name.get(text.lower())
        if chain is None:
            known = ", ".join(c.name for c in self.all)
            raise UnknownChain(f"no chain {text!r}; known: {known}")
        return chain
