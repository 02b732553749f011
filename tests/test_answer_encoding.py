"""An answer's quote part is encoded once and kept with the held quote; every answer is still
exactly the Price the API documents."""

from __future__ import annotations

import json

import msgspec

from pricefeed.serving.answers import Served
from pricefeed.serving.memo import Entry
from pricefeed.serving.tiers import DEFAULT_TIERS
from pricefeed.web.api import encode, render


async def test_answers_reusing_the_encoded_quote_equal_the_documented_price(engine):
    quote = await engine.quote("devchain", "WETH", "USDC", "2.5", from_state=True)
    entry = Entry(quote, quote.fetched_at.timestamp())
    variants = [
        Served(quote, "hit", 0.25, DEFAULT_TIERS[0], entry=entry),
        Served(quote, "stale", 61.0, DEFAULT_TIERS[0], entry=entry),
        Served(quote, "hit", 3.0, DEFAULT_TIERS[1], max_age=12.0, entry=entry),
        Served(quote, "miss", 0.0, DEFAULT_TIERS[3], max_age=12.0, max_age_clamped=True),
    ]

    answers = [encode(s) for s in variants]

    assert entry.body is not None  # kept after the first answer...
    for served, answer in zip(variants, answers, strict=True):
        assert json.loads(answer) == msgspec.to_builtins(render(served))  # ...and right after
    assert json.loads(answers[1])["stale"] is True
    assert "maxAge" not in json.loads(answers[0])
