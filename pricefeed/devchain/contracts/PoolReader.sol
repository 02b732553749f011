// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice pricefeed's reader of Uniswap V3 pool state, run as an eth_call with no target:
/// the constructor reads each pool through its own public getters and returns the result as
/// the call's output, so nothing is deployed and any node can run it. One call reads what
/// would otherwise take three dependent multicalls: price, tick and liquidity; the bitmap
/// words around the tick; the ticks those words mark.
/// Output: abi.encode(bytes[]) with, per pool, nothing (not a readable pool) or
/// abi.encode(abi.encode(sqrtPriceX96, tick, liquidity, fee, tickSpacing),
///            abi.encode(low, high, words, bitmaps, ticks, liquidityGross, liquidityNet)):
/// every word from low to high was read, and those not in `words` are zero.
contract PoolReader {
    int24 private constant MIN_TICK = -887272;
    int24 private constant MAX_TICK = 887272;
    uint256 private constant PER_POOL = 1_000_000; // gas kept back for each pool still to read

    struct Reading {
        address pool;
        int24 spacing;
        uint256 reserve; // gas kept back for the pools still to read
        int256 first; // the first word of the core: those within `side` of the tick's word
        int256 low; // every word from low to high is read
        int256 high;
    }

    constructor(address[] memory pools, int16 wordsEachSide) {
        bytes[] memory out = new bytes[](pools.length);
        for (uint256 i = 0; i < pools.length; ++i) {
            out[i] = readPool(pools[i], wordsEachSide, (pools.length - i) * PER_POOL);
        }
        bytes memory encoded = abi.encode(out);
        assembly {
            return(add(encoded, 32), mload(encoded))
        }
    }

    function readPool(address pool, int16 wordsEachSide, uint256 reserve)
        private
        view
        returns (bytes memory)
    {
        (bool ok, bytes memory slot0) = pool.staticcall(abi.encodeWithSignature("slot0()"));
        if (!ok || slot0.length < 64 || pool.code.length == 0) {
            return "";
        }
        (uint160 sqrtPriceX96, int24 tick) = abi.decode(slot0, (uint160, int24));
        int24 spacing = abi.decode(get(pool, abi.encodeWithSignature("tickSpacing()")), (int24));
        bytes memory head = abi.encode(
            sqrtPriceX96,
            tick,
            abi.decode(get(pool, abi.encodeWithSignature("liquidity()")), (uint128)),
            abi.decode(get(pool, abi.encodeWithSignature("fee()")), (uint24)),
            spacing
        );
        Reading memory r = Reading(pool, spacing, reserve, 0, 0, 0);
        return abi.encode(head, readLiquidity(r, compress(tick, spacing), uint256(int256(wordsEachSide))));
    }

    function readLiquidity(Reading memory r, int256 compressed, uint256 side)
        private
        view
        returns (bytes memory)
    {
        (int16[] memory words, uint256[] memory bitmaps) = readWords(r, compressed, side);
        (int24[] memory ticks, uint128[] memory gross, int128[] memory net) =
            readTicks(r, words, bitmaps);
        return abi.encode(r.low, r.high, words, bitmaps, ticks, gross, net);
    }

    /// The nonzero words from `r.low` to `r.high`: the words within `side` of the tick's
    /// word, widened in each direction with no initialized tick in it to the first word that
    /// has one (or the end of the tick range), while more than the reserve of gas is left for
    /// the pools still to read. Every word from low to high not returned is zero.
    function readWords(Reading memory r, int256 compressed, uint256 side)
        private
        view
        returns (int16[] memory, uint256[] memory)
    {
        (uint256[] memory core, bool below, bool above) = readCore(r.pool, compressed, side);
        r.first = (compressed >> 8) - int256(side);
        r.low = r.first;
        r.high = r.first + int256(core.length) - 1;
        if (!below) {
            r.low = widen(r, r.low, compress(MIN_TICK, r.spacing) >> 8, -1);
        }
        if (!above) {
            r.high = widen(r, r.high, compress(MAX_TICK, r.spacing) >> 8, 1);
        }
        return collect(r, core);
    }

    /// The words within `side` of the tick's word, and whether they hold an initialized tick
    /// at or below the tick (for a swap down) and above it (for a swap up).
    function readCore(address pool, int256 compressed, uint256 side)
        private
        view
        returns (uint256[] memory core, bool below, bool above)
    {
        int256 center = compressed >> 8;
        core = new uint256[](2 * side + 1);
        for (uint256 j = 0; j < core.length; ++j) {
            core[j] = bitmap(pool, center - int256(side) + int256(j));
            below = below || (j < side && core[j] != 0);
            above = above || (j > side && core[j] != 0);
        }
        uint256 bit = uint256(compressed - (center << 8));
        uint256 atOrBelow = bit == 255 ? type(uint256).max : (1 << (bit + 1)) - 1;
        below = below || core[side] & atOrBelow != 0;
        above = above || core[side] & ~atOrBelow != 0;
    }

    /// From `edge` on by `step` to the first word with an initialized tick, or to `end`, or as
    /// far as the gas above the reserve reaches; every word passed over is zero.
    function widen(Reading memory r, int256 edge, int256 end, int256 step)
        private
        view
        returns (int256)
    {
        while (edge != end && gasleft() > r.reserve) {
            edge += step;
            if (bitmap(r.pool, edge) != 0) {
                break;
            }
        }
        return edge;
    }

    /// The nonzero words: those of the core, and the words the widening stopped at.
    function collect(Reading memory r, uint256[] memory core)
        private
        view
        returns (int16[] memory words, uint256[] memory bitmaps)
    {
        uint256 lowBits = r.low < r.first ? bitmap(r.pool, r.low) : 0;
        uint256 highBits = r.high >= r.first + int256(core.length) ? bitmap(r.pool, r.high) : 0;
        uint256 n = (lowBits != 0 ? 1 : 0) + (highBits != 0 ? 1 : 0);
        for (uint256 j = 0; j < core.length; ++j) {
            n += core[j] != 0 ? 1 : 0;
        }
        words = new int16[](n);
        bitmaps = new uint256[](n);
        uint256 k;
        if (lowBits != 0) {
            (words[k], bitmaps[k]) = (int16(r.low), lowBits);
            k++;
        }
        for (uint256 j = 0; j < core.length; ++j) {
            if (core[j] != 0) {
                (words[k], bitmaps[k]) = (int16(r.first + int256(j)), core[j]);
                k++;
            }
        }
        if (highBits != 0) {
            (words[k], bitmaps[k]) = (int16(r.high), highBits);
        }
    }

    function compress(int24 tick, int24 spacing) private pure returns (int256 compressed) {
        compressed = int256(tick / spacing);
        if (tick < 0 && tick % spacing != 0) {
            compressed--; // toward negative infinity, as TickBitmap does
        }
    }

    /// tickBitmap(word) through scratch space: the widening reads thousands of words, and
    /// memory allocated for each call would never be freed.
    function bitmap(address pool, int256 word) private view returns (uint256 bits) {
        assembly ("memory-safe") {
            mstore(0, shl(224, 0x5339c296)) // tickBitmap(int16)
            mstore(4, word)
            if iszero(and(staticcall(gas(), pool, 0, 36, 0, 32), eq(returndatasize(), 32))) {
                revert(0, 0)
            }
            bits := mload(0)
        }
    }

    /// The liquidity of every tick the words mark.
    function readTicks(Reading memory r, int16[] memory words, uint256[] memory bitmaps)
        private
        view
        returns (int24[] memory ticks, uint128[] memory gross, int128[] memory net)
    {
        uint256 count;
        for (uint256 j = 0; j < bitmaps.length; ++j) {
            for (uint256 bits = bitmaps[j]; bits != 0; bits &= bits - 1) {
                count++;
            }
        }
        ticks = new int24[](count);
        gross = new uint128[](count);
        net = new int128[](count);
        uint256 k;
        for (uint256 j = 0; j < words.length; ++j) {
            for (uint256 b = 0; b < 256; ++b) {
                if (bitmaps[j] >> b & 1 == 0) {
                    continue;
                }
                ticks[k] = int24((int256(words[j]) * 256 + int256(b)) * r.spacing);
                (gross[k], net[k]) = abi.decode(
                    get(r.pool, abi.encodeWithSignature("ticks(int24)", ticks[k])), (uint128, int128)
                );
                k++;
            }
        }
    }

    function get(address target, bytes memory data) private view returns (bytes memory result) {
        bool ok;
        (ok, result) = target.staticcall(data);
        require(ok && result.length >= 32, "PoolReader: getter failed");
    }
}
