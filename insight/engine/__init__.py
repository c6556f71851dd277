"""The recommended-levels engine: pure Python and numpy, no Django.

The public interface lives in :mod:`insight.engine.api`; everything else in this package is
an implementation detail.
"""

from insight.engine.api import (
    BacktestBin,
    BacktestResult,
    BinInput,
    EngineSettings,
    Receipt,
    Recommendation,
    backtest,
    recommend,
    summarize,
)

__all__ = [
    "BacktestBin",
    "BacktestResult",
    "BinInput",
    "EngineSettings",
    "Receipt",
    "Recommendation",
    "backtest",
    "recommend",
    "summarize",
]
