"""The LangChain callback handler: a chain and an agent-like run with a fake chat model that
reports token usage are recorded in the real server, with run metadata and one trace id per run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda

import tokenoptimizer
from tests.conftest import Tenant
from tests.sdk.conftest import LiveServer
from tokenoptimizer.integrations.langchain import TokenOptimizerCallbackHandler
from tokenoptimizer.testing import CapturedEvents

REPLY = "Paris is the capital"


class UsageReportingChatModel(BaseChatModel):
    """A fake chat model that answers REPLY and reports usage the way provider integrations do."""

    model: str = "gpt-4o-mini"
    fail: bool = False

    @property
    def _llm_type(self) -> str:
        return "usage-reporting-fake"

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return LangSmithParams(ls_provider="openai", ls_model_name=self.model, ls_model_type="chat")

    def _usage(self, messages: list[BaseMessage]) -> dict[str, Any]:
        words = sum(len(str(m.content).split()) for m in messages)
        return {
            "input_tokens": words + 100,
            "output_tokens": len(REPLY.split()) + 2,
            "total_tokens": words + 100 + len(REPLY.split()) + 2,
            "input_token_details": {"cache_read": 100},
            "output_token_details": {"reasoning": 2},
        }

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.fail:
            raise TimeoutError("the fake provider timed out")
        message = AIMessage(content=REPLY, usage_metadata=self._usage(messages))  # type: ignore[arg-type]
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        words = REPLY.split()
        for i, word in enumerate(words):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=word if i == 0 else " " + word))
            if run_manager:
                run_manager.on_llm_new_token(str(chunk.message.content), chunk=chunk)
            yield chunk
        yield ChatGenerationChunk(message=AIMessageChunk(content="", usage_metadata=self._usage(messages)))  # type: ignore[arg-type]


PROMPT = ChatPromptTemplate.from_messages([("system", "Answer briefly"), ("human", "{question}")])
QUESTION = "What is the capital of France?"  # 6 words + 2 of the system prompt


def test_a_chain_is_recorded(sdk: LiveServer, tenant: Tenant) -> None:
    handler = TokenOptimizerCallbackHandler(tags={"app": "demo"})
    chain = PROMPT | UsageReportingChatModel() | StrOutputParser()
    answer = chain.invoke(
        {"question": QUESTION},
        config={"callbacks": [handler], "metadata": {"feature": "qa", "user_id": "u7", "plan": "pro"}},
    )
    assert answer == REPLY
    assert tokenoptimizer.flush(10)
    [event] = sdk.events(tenant)
    assert (event["provider"], event["model"], event["request_type"]) == ("openai", "gpt-4o-mini", "chat")
    assert (event["feature"], event["user"]) == ("qa", "u7")
    assert (event["input_tokens"], event["cache_read_tokens"]) == (108, 100)
    assert (event["output_tokens"], event["reasoning_tokens"]) == (6, 2)
    assert event["cost_usd"] > 0 and event["price_source"] != "unknown"
    assert event["tags"] == {"app": "demo", "plan": "pro", "langchain.run_name": "UsageReportingChatModel"}
    assert event["trace_id"] and event["latency_ms"] > 0


def test_an_agent_run_shares_one_trace_and_streams_give_ttft(sdk: LiveServer, tenant: Tenant) -> None:
    model = UsageReportingChatModel()
    critic = UsageReportingChatModel(model="gpt-4o")

    def agent(question: str) -> str:
        draft = "".join(str(chunk.content) for chunk in model.stream(question))
        return str(critic.invoke(f"Check this answer: {draft}").content)

    handler = TokenOptimizerCallbackHandler()
    with tokenoptimizer.context(feature="agent", team="research"):
        RunnableLambda(agent).invoke(QUESTION, config={"callbacks": [handler], "tags": ["v2"]})
        RunnableLambda(agent).invoke(QUESTION, config={"callbacks": [handler]})
    assert tokenoptimizer.flush(10)
    events = sorted(sdk.events(tenant), key=lambda e: e["ts"])
    assert [e["model"] for e in events] == ["gpt-4o-mini", "gpt-4o"] * 2
    assert all((e["feature"], e["team"]) == ("agent", "research") for e in events)
    assert events[0]["trace_id"] == events[1]["trace_id"] != events[2]["trace_id"] == events[3]["trace_id"]
    streamed = events[0]
    assert 0 < streamed["time_to_first_token_ms"] <= streamed["latency_ms"]
    assert streamed["output_tokens"] == 6 and streamed["input_tokens"] == 106
    assert events[0]["tags"]["langchain.tags"] == "v2"


def test_failures_are_recorded_with_the_capture_fixture(tokenoptimizer_events: CapturedEvents) -> None:
    handler = TokenOptimizerCallbackHandler(feature="fallback")
    with pytest.raises(TimeoutError):
        UsageReportingChatModel(fail=True).invoke("hello", config={"callbacks": [handler]})
    [event] = tokenoptimizer_events.events
    assert (event["status"], event["error_type"], event["feature"]) == ("error", "TimeoutError", "fallback")
    assert tokenoptimizer_events.usage(event).input_tokens == 0
