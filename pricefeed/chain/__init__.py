"""What the feed knows of each chain: pool state and the exact math that prices from it."""
