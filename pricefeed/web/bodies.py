"""Request bodies we accept: JSON only, bounded in size (by Litestar) and in nesting (here).

msgspec's decoder recurses once per level of nesting, so a body of a few kilobytes of `[` can
exhaust the C stack when the interpreter's recursion limit is high (py_ecc raises it to
100,000). The package keeps that limit sane (`pricefeed/__init__.py`), and every JSON body is
measured here before it reaches a decoder.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Request
from litestar.exceptions import ClientException, HTTPException

MAX_DEPTH = 16  # our deepest body is 3 levels; room for clients that wrap it
JSON_TYPES = ("application/json",)

_SPECIAL = re.compile(rb'[\[\]{}"\\]')
_QUOTE, _BACKSLASH = ord('"'), ord("\\")
_OPEN, _CLOSE = frozenset(b"[{"), frozenset(b"]}")


class UnsupportedMediaType(HTTPException):
    status_code = 415


def too_deep(body: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether arrays and objects nest more than `limit` levels, strings skipped; linear time."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # cannot nest deeper than it has brackets
    depth, in_string, escaped = 0, False, -1
    for match in _SPECIAL.finditer(body):
        at = match.start()
        char = body[at]
        if in_string:
            if at == escaped:
                continue
            if char == _BACKSLASH:
                escaped = at + 1
            elif char == _QUOTE:
                in_string = False
        elif char == _QUOTE:
            in_string = True
        elif char in _OPEN:
            depth += 1
            if depth > limit:
                return True
        elif char in _CLOSE:
            depth -= 1
    return False


class JsonRequest(Request):
    """Litestar's request, refusing JSON bodies that are not labelled JSON or nest too deeply.

    Requiring `Content-Type: application/json` also keeps other sites' pages from posting to
    the API: browsers send only form and text/plain bodies cross-site without asking first.
    """

    async def json(self) -> Any:
        media_type, _ = self.content_type
        if media_type not in JSON_TYPES and not media_type.endswith("+json"):
            raise UnsupportedMediaType(
                f"send the body as JSON with 'Content-Type: application/json', got {media_type!r}"
                if media_type
                else "send the body as JSON with 'Content-Type: application/json'"
            )
        if too_deep(await self.body()):
            raise ClientException(f"JSON body nests deeper than {MAX_DEPTH} levels")
        return await super().json()
