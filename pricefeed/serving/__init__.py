"""The serving layer: the lookup ladder, the quote memo, demand, tiers and client quotas."""
