from pricefeed.chain.rpc.pool import Block, RpcPool

__all__ = ["Block", "RpcPool"]
