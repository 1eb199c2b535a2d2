"""`tokenoptimizer.wrap(client)`: record every call of an OpenAI or Anthropic client.

The official SDKs send every API request through one method of the client,
`request(cast_to, options, *, stream, stream_cls)`; the resources (`client.chat.completions`,
`client.responses`, `client.messages`, their `.stream()`, `.parse()` and `with_raw_response`
helpers) all end there. `wrap` replaces that method *on the given instance* (the class and other
clients are untouched) with one that records the calls worth recording and passes everything
else straight through. The object returned is the client itself, so its type, attributes and
behaviour stay the SDK's; the request is never changed, results are returned as they are (streams
are the same objects, observed as they are read) and exceptions are re-raised untouched.

`client.with_options(...)` / `client.copy(...)` return wrapped copies too.

Which provider a call is recorded under: `AzureOpenAI` is `azure`, `AnthropicBedrock` is `bedrock`,
`AnthropicVertex` is `google`; an OpenAI client pointed at a known OpenAI-compatible host (Groq,
Together, Mistral, DeepSeek, xAI, OpenRouter, …) is that provider; any other base URL is recorded
as `openai` (or `anthropic`) unless `wrap(client, provider=...)` says otherwise.
"""

from __future__ import annotations

import asyncio
import inspect
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from tokenoptimizer.sdk.calls import Call

C = TypeVar("C")

_MARK = "_tokenoptimizer_wrap"

# path -> (api, request_type); the API names are the server's (`pricing.usage`).
_OPENAI_PATHS = {
    "/chat/completions": ("chat", "chat"),
    "/responses": ("responses", "chat"),
    "/embeddings": ("embeddings", "embedding"),
    "/completions": ("completions", "completion"),
}
_ANTHROPIC_PATHS = {"/v1/messages": ("messages", "chat")}

_OPENAI_COMPATIBLE_HOSTS = {
    "api.groq.com": "groq",
    "api.together.xyz": "together",
    "api.together.ai": "together",
    "api.fireworks.ai": "fireworks",
    "openrouter.ai": "openrouter",
    "api.mistral.ai": "mistral",
    "api.deepseek.com": "deepseek",
    "api.x.ai": "xai",
    "api.cerebras.ai": "cerebras",
    "api.perplexity.ai": "perplexity",
    "api.moonshot.ai": "moonshotai",
    "generativelanguage.googleapis.com": "google",
}


@dataclass(frozen=True, slots=True)
class WrapOptions:
    """How one wrapped client records."""

    provider: str
    paths: Mapping[str, tuple[str, str]]
    guard: bool | None


def wrap(client: C, *, guard: bool | None = None, provider: str | None = None) -> C:
    """Record every call the client makes; return the same client.

    Supports `openai.OpenAI`, `AsyncOpenAI`, `AzureOpenAI`, `AsyncAzureOpenAI` (chat completions,
    responses, embeddings, completions; streaming included) and `anthropic.Anthropic`,
    `AsyncAnthropic`, `AnthropicBedrock`, `AnthropicVertex` (messages; streaming included).

    Args:
        client: The provider SDK's client.
        guard: Reserve each call's worst-case cost first and raise `tokenoptimizer.BudgetExceeded`
            when a hard budget would be broken; default: as configured (`configure(guard=...)`).
        provider: Record calls under this provider instead of the detected one.

    Returns:
        `client` itself, now recording.

    Raises:
        TypeError: `client` is not a supported SDK client.
    """
    family = _family(client)
    if family is None:
        raise TypeError(
            f"tokenoptimizer.wrap() supports openai and anthropic clients, not {type(client).__name__}; "
            "record other calls with tokenoptimizer.track(...)"
        )
    options = WrapOptions(
        provider=(provider or _detect_provider(client, family)).lower(),
        paths=_OPENAI_PATHS if family == "openai" else _ANTHROPIC_PATHS,
        guard=guard,
    )
    existing = client.__dict__.get(_MARK)
    client.__dict__[_MARK] = options
    if existing is not None:  # wrapped already: new options, still one recording per call
        return client
    # The replacements hold the client weakly: a closure holding it would make a reference cycle
    # and delay closing a dropped client's connections until the garbage collector runs.
    target = weakref.ref(client)
    request = type(client).request  # type: ignore[attr-defined]
    if inspect.iscoroutinefunction(request):
        client.request = _async_request(target, request)  # type: ignore[attr-defined]
    else:
        client.request = _sync_request(target, request)  # type: ignore[attr-defined]
    for name in ("copy", "with_options"):
        if callable(getattr(type(client), name, None)):
            setattr(client, name, _wrapping_copy(target, getattr(type(client), name)))
    return client


def unwrap(client: C) -> C:
    """Stop recording a wrapped client's calls (copies made meanwhile stay wrapped)."""
    attributes = client.__dict__
    if attributes.pop(_MARK, None) is not None:
        for name in ("request", "copy", "with_options"):
            attributes.pop(name, None)
    return client


def _family(client: Any) -> str | None:
    for cls in type(client).__mro__:
        root = cls.__module__.split(".", 1)[0]
        if root in ("openai", "anthropic") and cls.__name__ in ("SyncAPIClient", "AsyncAPIClient"):
            return root
    return None


def _detect_provider(client: Any, family: str) -> str:
    names = {cls.__name__ for cls in type(client).__mro__}
    if family == "openai":
        if names & {"AzureOpenAI", "AsyncAzureOpenAI"}:
            return "azure"
    else:
        if names & {"AnthropicBedrock", "AsyncAnthropicBedrock"}:
            return "bedrock"
        if names & {"AnthropicVertex", "AsyncAnthropicVertex"}:
            return "google"
        return "anthropic"
    host = urlsplit(str(getattr(client, "base_url", ""))).hostname or ""
    return _OPENAI_COMPATIBLE_HOSTS.get(host, "openai")


def _endpoint(options: Any, paths: Mapping[str, tuple[str, str]]) -> tuple[str, str, str] | None:
    """(api, request_type, path) when the request is one the SDK records."""
    if getattr(options, "method", "").lower() != "post":
        return None
    url: str = options.url
    if "?" in url:
        url = url.split("?", 1)[0]
    found = paths.get(url)
    if found is None:
        # Azure puts deployments in the path: /deployments/<name>/chat/completions
        for path, value in paths.items():
            if url.endswith(path) and "/deployments/" in url:
                found = value
                break
        else:
            return None
    return found[0], found[1], url


def _start(client: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call | None:
    options = args[1] if len(args) > 1 else kwargs.get("options")
    wrap_options: WrapOptions | None = client.__dict__.get(_MARK)
    if wrap_options is None or options is None:
        return None
    endpoint = _endpoint(options, wrap_options.paths)
    if endpoint is None:
        return None
    body = options.json_data
    return Call(
        wrap_options.provider,
        endpoint[0],
        endpoint[1],
        endpoint[2],
        body if isinstance(body, Mapping) else {},
    )


Ref = Callable[[], Any]


def _sync_request(target: Ref, request: Any) -> Any:
    def wrapped_request(*args: Any, **kwargs: Any) -> Any:
        client = target()
        try:
            call = _start(client, args, kwargs)
        except Exception:
            call = None
        if call is None:
            return request(client, *args, **kwargs)
        if call.guarded(client.__dict__[_MARK].guard):
            call.reserve()  # may raise BudgetExceeded: the call is not made
        try:
            result = request(client, *args, **kwargs)
        except Exception as exc:
            call.failed(exc)
            raise
        return call.result(result)

    return wrapped_request


def _async_request(target: Ref, request: Any) -> Any:
    async def wrapped_request(*args: Any, **kwargs: Any) -> Any:
        client = target()
        try:
            call = _start(client, args, kwargs)
        except Exception:
            call = None
        if call is None:
            return await request(client, *args, **kwargs)
        if call.guarded(client.__dict__[_MARK].guard):
            await asyncio.to_thread(call.reserve)  # may raise BudgetExceeded
        try:
            result = await request(client, *args, **kwargs)
        except Exception as exc:
            call.failed(exc)
            raise
        return call.result(result)

    return wrapped_request


def _wrapping_copy(target: Ref, copy: Any) -> Any:
    def wrapped_copy(*args: Any, **kwargs: Any) -> Any:
        client = target()
        new = copy(client, *args, **kwargs)
        options: WrapOptions | None = client.__dict__.get(_MARK)
        if options is not None and new is not client:
            wrap(new, guard=options.guard, provider=options.provider)
        return new

    return wrapped_copy
