"""TokenOptimizer: know, control and cut what your LLM calls cost.

This module is the SDK's public surface; it imports nothing of the server.
"""

from tokenoptimizer._version import __version__

__all__ = ["__version__"]
