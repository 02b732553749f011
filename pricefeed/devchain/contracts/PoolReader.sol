// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice pricefeed's reader of Uniswap V3 pool state, run as an eth_call with no target:
/// the constructor reads each pool through its own public getters and returns the result as
/// the call's output, so nothing is deployed and any node can run it. One call reads what
/// would otherwise take three dependent multicalls: price, tick and liquidity; the bitmap
/// words around the tick; the ticks those words mark.
/// Output: abi.encode(bytes[]) with, per pool, nothing (not a readable pool) or
/// abi.encode(abi.encode(sqrtPriceX96, tick, liquidity, fee, tickSpacing),
///            abi.encode(words, bitmaps, ticks, liquidityGross, liquidityNet)).
contract PoolReader {
    int24 private constant MIN_TICK = -887272;
    int24 private constant MAX_TICK = 887272;
    uint256 private constant MAX_WIDEN = 32; // words: past them, a swap reads what it reaches

    constructor(address[] memory pools, int16 wordsEachSide) {
        bytes[] memory out = new bytes[](pools.length);
        for (uint256 i = 0; i < pools.length; ++i) {
            out[i] = readPool(pools[i], wordsEachSide);
        }
        bytes memory encoded = abi.encode(out);
        assembly {
            return(add(encoded, 32), mload(encoded))
        }
    }

    function readPool(address pool, int16 wordsEachSide) private view returns (bytes memory) {
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
        return abi.encode(head, readLiquidity(pool, tick, spacing, wordsEachSide));
    }

    function readLiquidity(address pool, int24 tick, int24 spacing, int16 eachSide)
        private
        view
        returns (bytes memory)
    {
        (int16[] memory words, uint256[] memory bitmaps) = readWords(pool, tick, spacing, eachSide);
        (int24[] memory ticks, uint128[] memory gross, int128[] memory net) =
            readTicks(pool, spacing, words, bitmaps);
        return abi.encode(words, bitmaps, ticks, gross, net);
    }

    /// The words within `eachSide` of the tick's word, widened in each direction with no
    /// initialized tick in it to the first word that has one (at most MAX_WIDEN words further,
    /// and not past the tick range), so that a swap through a thin or empty stretch finds its
    /// next tick in what was read.
    function readWords(address pool, int24 tick, int24 spacing, int16 eachSide)
        private
        view
        returns (int16[] memory words, uint256[] memory bitmaps)
    {
        int256 center = compress(tick, spacing) >> 8;
        int256 low = widen(pool, center, center - eachSide, compress(MIN_TICK, spacing) >> 8, -1);
        int256 high = widen(pool, center, center + eachSide, compress(MAX_TICK, spacing) >> 8, 1);
        uint256 n = uint256(high - low) + 1;
        words = new int16[](n);
        bitmaps = new uint256[](n);
        for (uint256 j = 0; j < n; ++j) {
            words[j] = int16(low + int256(j));
            bitmaps[j] = bitmap(pool, words[j]);
        }
    }

    function widen(address pool, int256 center, int256 edge, int256 end, int256 step)
        private
        view
        returns (int256)
    {
        for (int256 w = center; w != edge + step; w += step) {
            if (bitmap(pool, int16(w)) != 0) {
                return edge;
            }
        }
        for (uint256 i = 0; i < MAX_WIDEN && edge != end && bitmap(pool, int16(edge)) == 0; ++i) {
            edge += step;
        }
        return edge;
    }

    function compress(int24 tick, int24 spacing) private pure returns (int256 compressed) {
        compressed = int256(tick / spacing);
        if (tick < 0 && tick % spacing != 0) {
            compressed--; // toward negative infinity, as TickBitmap does
        }
    }

    function bitmap(address pool, int16 word) private view returns (uint256) {
        return abi.decode(get(pool, abi.encodeWithSignature("tickBitmap(int16)", word)), (uint256));
    }

    function readTicks(address pool, int24 spacing, int16[] memory words, uint256[] memory bitmaps)
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
                ticks[k] = int24((int256(words[j]) * 256 + int256(b)) * spacing);
                (gross[k], net[k]) = abi.decode(
                    get(pool, abi.encodeWithSignature("ticks(int24)", ticks[k])), (uint128, int128)
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
