"""LangChain: a callback handler recording every LLM and chat-model call of a chain or agent.

Install the extra (`pip install tokenoptimizer[langchain]`) and pass the handler where LangChain
takes callbacks::

    from tokenoptimizer.integrations.langchain import TokenOptimizerCallbackHandler

    handler = TokenOptimizerCallbackHandler()
    chain.invoke({"question": q}, config={"callbacks": [handler], "metadata": {"feature": "qa"}})

Each model call becomes one event, recorded with `tokenoptimizer.track` (so it is batched and
sent like any other): tokens from the message's `usage_metadata` (LangChain's normalised counts,
cache reads/writes and reasoning included) or, for older integrations, `llm_output["token_usage"]`;
the model from the invocation parameters or the response; the provider from LangChain's
`ls_provider`; latency, time to first token when streaming, and errors.

The run's metadata becomes attribution and tags: `feature`, `user` (or `user_id`), `end_user`,
`team` set those fields; other scalar metadata become tags, with `langchain.run_name` and
`langchain.tags`. All calls of one chain or agent run share a `trace_id`: the id of the outermost
run. The enclosing `tokenoptimizer.context(...)` applies as for any call.

Record a model either with this handler or by wrapping its client (`tokenoptimizer.wrap`), not
both, or its calls are counted twice.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult

from tokenoptimizer.sdk.attribution import EMPTY, Attribution, attribution_var
from tokenoptimizer.sdk.track import track

__all__ = ["TokenOptimizerCallbackHandler"]

# LangChain's `ls_provider` names -> ours.
_PROVIDERS = {
    "google_genai": "google",
    "google_vertexai": "google",
    "google_anthropic_vertex": "google",
    "vertexai": "google",
    "mistralai": "mistral",
    "amazon_bedrock": "bedrock",
    "bedrock_converse": "bedrock",
    "azure_openai": "azure",
    "azure": "azure",
    "together": "together",
    "fireworks": "fireworks",
}
_ATTRIBUTION_KEYS = {
    "feature": "feature",
    "user": "user",
    "user_id": "user",
    "end_user": "end_user",
    "team": "team",
}
_MAX_METADATA_TAGS = 20


@dataclass(slots=True)
class _Run:
    ts: float
    started: float
    ctx: Attribution
    model: str | None
    provider: str | None
    name: str | None
    tags: list[str]
    metadata: Mapping[str, Any]
    request_type: str
    first_token: float | None = None


class TokenOptimizerCallbackHandler(BaseCallbackHandler):
    """Records each LLM / chat-model call of the runs it is given to (see the module docstring).

    Args:
        provider: Record every call under this provider instead of LangChain's `ls_provider`.
        feature: Feature of calls whose run metadata names none.
        tags: Tags added to every call.
    """

    run_inline = True  # cheap and thread-safe: no need for LangChain to hop to an executor
    raise_error = False

    def __init__(
        self,
        *,
        provider: str | None = None,
        feature: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.provider = provider
        self.feature = feature
        self.tags = {str(k): str(v) for k, v in (tags or {}).items()}
        self._runs: dict[UUID, _Run] = {}
        self._parents: dict[UUID, UUID | None] = {}

    # --- run tree (for trace ids) -------------------------------------------------------------

    def _enter(self, run_id: UUID, parent_run_id: UUID | None) -> None:
        self._parents[run_id] = parent_run_id

    def _leave(self, run_id: UUID) -> None:
        self._parents.pop(run_id, None)

    def _root(self, run_id: UUID) -> UUID:
        seen = 0
        while seen < 1000:  # a cycle would be a LangChain bug; do not loop forever on one
            parent = self._parents.get(run_id)
            if parent is None:
                return run_id
            run_id = parent
            seen += 1
        return run_id

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Note the run's place in the tree."""
        self._enter(run_id, parent_run_id)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """Forget the run."""
        self._leave(run_id)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """Forget the run."""
        self._leave(run_id)

    def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Note the run's place in the tree."""
        self._enter(run_id, parent_run_id)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """Forget the run."""
        self._leave(run_id)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """Forget the run."""
        self._leave(run_id)

    def on_retriever_start(
        self,
        serialized: dict[str, Any] | None,
        query: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Note the run's place in the tree."""
        self._enter(run_id, parent_run_id)

    def on_retriever_end(self, documents: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """Forget the run."""
        self._leave(run_id)

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """Forget the run."""
        self._leave(run_id)

    # --- model calls --------------------------------------------------------------------------

    def on_chat_model_start(
        self,
        serialized: dict[str, Any] | None,
        messages: list[list[Any]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """A chat model call starts."""
        self._start(serialized, run_id, parent_run_id, tags, metadata, kwargs, "chat")

    def on_llm_start(
        self,
        serialized: dict[str, Any] | None,
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """A (completion) LLM call starts."""
        self._start(serialized, run_id, parent_run_id, tags, metadata, kwargs, "completion")

    def on_llm_new_token(
        self, token: str | list[str | dict[str, Any]], *, run_id: UUID, **kwargs: Any
    ) -> None:
        """A streamed token: the first one gives the time to first token."""
        run = self._runs.get(run_id)
        if run is not None and run.first_token is None:
            run.first_token = time.perf_counter()

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        """The call ended: record it with its usage."""
        run = self._runs.pop(run_id, None)
        if run is None:
            return
        counts, served_model = _usage(response)
        self._record(run, run_id, "ok", None, counts, served_model)
        self._leave(run_id)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """The call failed: record an error event."""
        run = self._runs.pop(run_id, None)
        if run is None:
            return
        self._record(run, run_id, "error", type(error).__name__, {}, None)
        self._leave(run_id)

    def _start(
        self,
        serialized: Mapping[str, Any] | None,
        run_id: UUID,
        parent_run_id: UUID | None,
        tags: list[str] | None,
        metadata: Mapping[str, Any] | None,
        kwargs: Mapping[str, Any],
        request_type: str,
    ) -> None:
        self._enter(run_id, parent_run_id)
        metadata = metadata or {}
        params = kwargs.get("invocation_params") or {}
        model = _first_text(
            params.get("model"),
            params.get("model_name"),
            params.get("model_id"),
            metadata.get("ls_model_name"),
        )
        provider = self.provider or _provider(metadata.get("ls_provider"), params.get("_type"))
        name = kwargs.get("name") or (serialized or {}).get("name")
        self._runs[run_id] = _Run(
            ts=time.time(),
            started=time.perf_counter(),
            ctx=attribution_var.get(EMPTY),
            model=model,
            provider=provider,
            name=str(name) if name else None,
            tags=list(tags or []),
            metadata=metadata,
            request_type=request_type,
        )

    def _record(
        self,
        run: _Run,
        run_id: UUID,
        status: str,
        error_type: str | None,
        counts: Mapping[str, int],
        served_model: str | None,
    ) -> None:
        fields: dict[str, str] = {}
        tags = dict(self.tags)
        for key, value in run.metadata.items():
            if key.startswith(("ls_", "lc_")) or not isinstance(value, str | int | float | bool):
                continue
            if key in _ATTRIBUTION_KEYS:
                fields[_ATTRIBUTION_KEYS[key]] = str(value)
            elif len(tags) < _MAX_METADATA_TAGS:
                tags[key] = str(value)
        if run.name:
            tags["langchain.run_name"] = run.name
        if run.tags:
            tags["langchain.tags"] = ",".join(t for t in run.tags if not t.startswith("seq:step:"))[:200]
            if not tags["langchain.tags"]:
                del tags["langchain.tags"]
        latency = (time.perf_counter() - run.started) * 1000.0
        ttft = (run.first_token - run.started) * 1000.0 if run.first_token is not None else None
        token = attribution_var.set(run.ctx)
        try:
            track(
                provider=run.provider or "unknown",
                model=served_model or run.model or "unknown",
                input_tokens=counts.get("input_tokens", 0),
                output_tokens=counts.get("output_tokens", 0),
                cache_read_tokens=counts.get("cache_read_tokens", 0),
                cache_write_tokens=counts.get("cache_write_tokens", 0),
                reasoning_tokens=counts.get("reasoning_tokens", 0),
                latency_ms=latency,
                time_to_first_token_ms=ttft,
                status="ok" if status == "ok" else "error",
                error_type=error_type,
                feature=fields.get("feature") or (None if run.ctx.feature else self.feature),
                user=fields.get("user"),
                end_user=fields.get("end_user"),
                team=fields.get("team"),
                tags=tags,
                trace_id=run.ctx.trace_id or str(self._root(run_id)),
                request_type=run.request_type,
                ts=run.ts,
            )
        finally:
            attribution_var.reset(token)


def _first_text(*values: Any) -> str | None:
    for value in values:
        if isinstance(value, str) and value:
            return value
    return None


def _provider(ls_provider: Any, llm_type: Any) -> str | None:
    name = _first_text(ls_provider, llm_type)
    if name is None:
        return None
    name = name.lower()
    if name.startswith("openai") or name.endswith("-openai"):
        return "azure" if "azure" in name else "openai"
    if name.startswith("anthropic"):
        return "anthropic"
    return _PROVIDERS.get(name, name)


def _usage(response: LLMResult) -> tuple[dict[str, int], str | None]:
    """Token counts summed over the generations, and the model the response names."""
    counts = dict.fromkeys(
        ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens"), 0
    )
    found = False
    served: str | None = None
    for generations in response.generations:
        for generation in generations:
            message = getattr(generation, "message", None)
            if message is None:
                continue
            metadata = getattr(message, "response_metadata", None) or {}
            served = served or _first_text(metadata.get("model_name"), metadata.get("model"))
            usage = getattr(message, "usage_metadata", None)
            if not usage:
                continue
            found = True
            inputs = usage.get("input_token_details") or {}
            outputs = usage.get("output_token_details") or {}
            counts["input_tokens"] += int(usage.get("input_tokens") or 0)
            counts["output_tokens"] += int(usage.get("output_tokens") or 0)
            counts["cache_read_tokens"] += int(inputs.get("cache_read") or 0)
            counts["cache_write_tokens"] += int(inputs.get("cache_creation") or 0)
            counts["reasoning_tokens"] += int(outputs.get("reasoning") or 0)
    llm_output = response.llm_output or {}
    served = served or _first_text(llm_output.get("model_name"), llm_output.get("model"))
    if not found:
        legacy = llm_output.get("token_usage") or llm_output.get("usage") or {}
        if isinstance(legacy, Mapping):
            counts["input_tokens"] = int(legacy.get("prompt_tokens") or legacy.get("input_tokens") or 0)
            counts["output_tokens"] = int(legacy.get("completion_tokens") or legacy.get("output_tokens") or 0)
    return counts, served
