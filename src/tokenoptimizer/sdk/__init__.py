"""The Python SDK: wrappers, attribution context, manual tracking, the background sender.

Imported by `tokenoptimizer/__init__.py`, which is the public surface; the modules here are the
implementation. They import `httpx`, `pydantic` and the pure `pricing`/`tokens` packages only
(the latter lazily, as they load tokenizers and the price catalogue), never server code.
"""
