"""The local chain for tests, benchmarks and offline demos: anvil + real Uniswap bytecode."""
