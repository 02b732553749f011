"""A pool's held state as JSON text and back, as the store keeps it."""

from __future__ import annotations

import json

from pricefeed.chain.pool_states import Reserves
from pricefeed.chain.v3.pool import V3Pool
from pricefeed.chain.v3.tick_bitmap import Bitmap


def state_to_json(state: V3Pool | Reserves | None) -> str | None:
    """A pool's state as JSON text (integers of any size, as JSON allows)."""
    if state is None:
        return None
    if isinstance(state, V3Pool):
        return json.dumps(
            {
                "sqrtPriceX96": state.sqrt_price_x96,
                "tick": state.tick,
                "liquidity": state.liquidity,
                "fee": state.fee,
                "tickSpacing": state.tick_spacing,
                "bitmap": dict(state.bitmap),
                "zero": [state.bitmap.zero.start, state.bitmap.zero.stop]
                if isinstance(state.bitmap, Bitmap)
                else [0, 0],
                "ticks": {t: [state.liquidity_gross[t], n] for t, n in state.liquidity_net.items()},
            }
        )
    return json.dumps({"reserves": list(state)})


def state_from_json(text: str | None) -> V3Pool | Reserves | None:
    if text is None:
        return None
    data = json.loads(text)
    if "reserves" in data:
        r0, r1 = data["reserves"]
        return (r0, r1)
    ticks = {int(t): v for t, v in data["ticks"].items()}
    return V3Pool(
        data["sqrtPriceX96"],
        data["tick"],
        data["liquidity"],
        data["fee"],
        data["tickSpacing"],
        bitmap=Bitmap(
            {int(w): bits for w, bits in data["bitmap"].items()}, zero=range(*data["zero"])
        ),
        liquidity_net={t: net for t, (_, net) in ticks.items()},
        liquidity_gross={t: gross for t, (gross, _) in ticks.items()},
    )
