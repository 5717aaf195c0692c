"""Trading strategies, one module each, run through :func:`quantalloc.backtest.run_strategy`."""
