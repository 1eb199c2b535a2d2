"""TokenOptimizer: know, control and cut what your LLM calls cost.

This module is the SDK's public surface; it imports nothing of the server (an import-linter
contract checks it). Quick start::

    import tokenoptimizer
    from openai import OpenAI

    tokenoptimizer.configure(api_key="tko_...", base_url="http://127.0.0.1:8000")
    client = tokenoptimizer.wrap(OpenAI())
    with tokenoptimizer.context(feature="search", user="u1"):
        client.chat.completions.create(model="gpt-4o-mini", messages=[...])

See docs/sdk.md.
"""

from tokenoptimizer._version import __version__
from tokenoptimizer.sdk.api import aflush, configure, estimate, flush, shutdown
from tokenoptimizer.sdk.attribution import context
from tokenoptimizer.sdk.guard import BudgetExceeded
from tokenoptimizer.sdk.track import track
from tokenoptimizer.sdk.wrap import unwrap, wrap

__all__ = [
    "BudgetExceeded",
    "__version__",
    "aflush",
    "configure",
    "context",
    "estimate",
    "flush",
    "shutdown",
    "track",
    "unwrap",
    "wrap",
]
