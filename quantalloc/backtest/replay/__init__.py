"""Replays of option books on real prices: positions, prices (chain or model), costs, the loop."""
