"""TickBitmap (with BitMath): the next initialized tick, read from the bitmap words held."""

from __future__ import annotations

from collections.abc import Mapping

from pricefeed.chain.v3.full_math import MAX_UINT256

# BitMath


def most_significant_bit(x: int) -> int:
    return x.bit_length() - 1


def least_significant_bit(x: int) -> int:
    return (x & -x).bit_length() - 1


# TickBitmap


class WordNotLoaded(LookupError):
    """The swap would read a tick bitmap word the state does not hold."""

    def __init__(self, word: int):
        super().__init__(f"tick bitmap word {word} is not loaded")
        self.word = word


def next_initialized_tick_within_one_word(
    bitmap: Mapping[int, int], tick: int, tick_spacing: int, lte: bool
) -> tuple[int, bool]:
    """The next initialized tick in the word of `tick` (left if `lte`), or that word's edge.
    Floor division and `>>` match Solidity's rounding of negative compressed ticks."""
    compressed = tick // tick_spacing
    if lte:
        word, bit = compressed >> 8, compressed % 256
        masked = _word(bitmap, word) & ((1 << bit) - 1 + (1 << bit))
        if masked:
            return (compressed - (bit - most_significant_bit(masked))) * tick_spacing, True
        return (compressed - bit) * tick_spacing, False
    word, bit = (compressed + 1) >> 8, (compressed + 1) % 256
    masked = _word(bitmap, word) & ~((1 << bit) - 1) & MAX_UINT256
    if masked:
        return (compressed + 1 + (least_significant_bit(masked) - bit)) * tick_spacing, True
    return (compressed + 1 + (255 - bit)) * tick_spacing, False


def _word(bitmap: Mapping[int, int], word: int) -> int:
    if word not in bitmap:
        raise WordNotLoaded(word)
    return bitmap[word]


# Not in v3-core: what lets a swap cross a span of empty words in one go


def past_empty_words(bitmap: Mapping[int, int], tick: int, spacing: int, lte: bool) -> int:
    """`tick`, or, when the words from its own on are a known-empty span, a tick in the last
    of them (its last tick going down, its first going up, so that the next search stays in
    that word): nothing is initialized in between."""
    zero = getattr(bitmap, "zero", None)
    word = (tick // spacing) >> 8
    if not zero or word not in zero or dict.get(bitmap, word):  # type: ignore[arg-type]
        return tick
    step = -1 if lte else 1
    edge = zero.start if lte else zero.stop - 1
    for stored, bits in bitmap.items():  # a few words: those with initialized ticks
        if bits and (stored - word) * step > 0 and (edge - stored) * step >= 0:
            edge = stored - step
    if edge == word:
        return tick
    return ((edge << 8) + 255) * spacing if lte else (edge << 8) * spacing


class Bitmap(dict):
    """Tick bitmap words held: those stored, and every word in `zero` (a span read and found
    empty, kept as a range rather than thousands of zeros) that is not stored."""

    def __init__(self, words=(), zero: range = range(0)):
        super().__init__(words)
        self.zero = zero

    def __contains__(self, word) -> bool:
        return dict.__contains__(self, word) or word in self.zero

    def __missing__(self, word: int) -> int:
        if word in self.zero:
            return 0
        raise KeyError(word)

    def get(self, word, default=None):
        return self[word] if word in self else default  # noqa: SIM401 (dict.get skips __missing__)
