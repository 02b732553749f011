// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice pricefeed's own batch caller for the devchain. It exposes the same `aggregate3`
/// ABI as Multicall3, so one quoter code path serves the devchain and public chains.
contract Aggregator {
    struct Call3 {
        address target;
        bool allowFailure;
        bytes callData;
    }

    struct Result {
        bool success;
        bytes returnData;
    }

    function aggregate3(Call3[] calldata calls) external payable returns (Result[] memory results) {
        results = new Result[](calls.length);
        for (uint256 i = 0; i < calls.length; ++i) {
            (bool ok, bytes memory data) = calls[i].target.call(calls[i].callData);
            require(ok || calls[i].allowFailure, "Aggregator: call failed");
            results[i] = Result(ok, data);
        }
    }
}
