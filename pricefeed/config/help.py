"""The settings' help text, as `pricefeed settings` lists it, read from their declarations."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
from msgspec import Struct

from pricefeed.config.settings import Settings


def describe_settings(settings: Settings | None = None) -> dict[str, dict[str, str]]:
    """Each settings table's keys and their help text, from their declarations. A secret
    says whether it is set in `settings`, never its value."""
    defs = msgspec.json.schema(Settings)["$defs"]
    described: dict[str, dict[str, str]] = {}
    for table, spec in defs.items():
        keys = described[table] = {}
        for key, prop in spec.get("properties", {}).items():
            keys[key] = prop.get("description", "")
            if prop.get("writeOnly"):
                keys[key] += f" [secret: {_secret_state(settings, table, key)}]"
    return described


def _secret_state(settings: Settings | None, table: str, key: str) -> str:
    if settings is None:
        return "not read"
    values = [getattr(t, key) for t in _tables(settings) if type(t).__name__ == table]
    return "set" if any(values) else "not set"


def _tables(value: Any) -> Iterator[Struct]:
    """Every settings table in `value`, nested ones included."""
    if isinstance(value, Struct):
        yield value
        for name in value.__struct_fields__:
            yield from _tables(getattr(value, name))
    elif isinstance(value, dict | list):
        for item in value.values() if isinstance(value, dict) else value:
            yield from _tables(item)
