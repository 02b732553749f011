"""How a setting is declared: a strict table of settings, each key with its help text."""

from __future__ import annotations

from typing import Annotated, Any

from msgspec import Meta, Struct

Address = Annotated[str, Meta(pattern=r"^0x[0-9a-fA-F]{40}$", description="a 20-byte hex address")]


def doc(description: str, secret: bool = False, **constraints: Any) -> Meta:
    # writeOnly (JSON Schema): a secret is set, never shown back
    extra = {"writeOnly": True} if secret else None
    return Meta(description=description, extra_json_schema=extra, **constraints)


class Section(Struct, forbid_unknown_fields=True, kw_only=True):
    """A table of settings: a key not declared is an error, not ignored."""
