"""The call of a bare prompt (``complete("...")`` with the client's default options) is built from
a template learnt on the first such call (llmunified._endpoint._PromptCall). It must give, for
every prompt and provider, exactly the request the full build gives, and stand aside wherever it
cannot (a credential that changes, empty prompts, text that cannot be encoded)."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import llmunified as llm
from llmunified._endpoint import Endpoint, _PromptCall

MODELS = ["openai/gpt-4o-mini", "azure/my-deployment", "anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-flash",
          "vertex/gemini-2.5-flash", "vertex/claude-sonnet-4-5", "ollama/llama3.2", "cohere/command-r",
          "openrouter/openai/gpt-4o", "groq/llama-3.1-8b-instant", "deepseek/deepseek-chat", "together/m",
          "vllm/m", "lmstudio/m", "openai/o3-mini"]
SETTINGS = {"azure": {"api_version": "2024-10-21"}, "vertex": {"project": "p", "location": "us-central1"}}


def endpoint(model, **defaults):
    provider = model.split("/", 1)[0]
    return Endpoint(model, api_key="sk-secret-test", base_url="http://127.0.0.1:9/v1",
                    defaults={**SETTINGS.get(provider, {}), **defaults})


def full(e, prompt, stream):
    """The request as the full build makes it (messages, plan, codec, body encoder)."""
    return e.planned_chat(prompt, e._plan or e.plan({}), stream)


def same(a, b):
    ra, rb = a.request, b.request
    assert (ra.method, ra.url, ra.headers, ra.body, ra.stream) == (rb.method, rb.url, rb.headers, rb.body, rb.stream)
    assert a.timeout == b.timeout and a.spec is b.spec


PROMPTS = st.text(min_size=1, max_size=60).filter(lambda s: not s.isspace())


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("stream", [False, True])
@settings(max_examples=40, deadline=None)
@given(first=PROMPTS, prompts=st.lists(PROMPTS, min_size=1, max_size=4))
def test_the_template_gives_exactly_the_full_request(model, stream, first, prompts):
    e = endpoint(model)
    same(e.chat(first, {}, stream), full(e, first, stream))
    assert isinstance(e._prompt_calls[stream], _PromptCall)  # learnt from the first
    for prompt in prompts + ['"quoted" \\ back\\slash', "tab\there\nnew\u2028line", "emoji \U0001f600 é ü", "\x00\x1f"]:
        same(e.chat(prompt, {}, stream), full(e, prompt, stream))


@pytest.mark.parametrize("defaults", [
    {"temperature": 0.3, "max_tokens": 55, "stop": ["END"]},
    {"seed": 7, "top_p": 0.5},
    {"tools": [llm.Tool("get_weather", "Weather.", {"type": "object", "properties": {"city": {"type": "string"}}})]},
    {"response_format": {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}},
    {"extra": {"metadata": {"k": "v"}, "messages_note": "x"}},
])
@pytest.mark.parametrize("model", ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-flash",
                                   "ollama/llama3.2", "cohere/command-r"])
def test_client_defaults_are_in_the_template(model, defaults):
    e = endpoint(model, **defaults)
    for prompt in ["one", "two \u00e9", "three"]:
        built = e.chat(prompt, {}, False)
        same(built, full(e, prompt, False))
    assert isinstance(e._prompt_calls[False], _PromptCall)
    if "response_format" in defaults:
        assert built.spec is not None


def test_each_call_gets_its_own_headers_dict():
    e = endpoint("openai/gpt-4o-mini")
    a, b = e.chat("hi", {}, False), e.chat("hi", {}, False)
    assert isinstance(e._prompt_calls[False], _PromptCall)
    a.request.headers["X-Added-By-A-Transport"] = "1"
    assert "X-Added-By-A-Transport" not in b.request.headers
    assert "X-Added-By-A-Transport" not in e.chat("hi", {}, False).request.headers


def test_a_callable_key_is_asked_on_every_call():
    tokens = iter(f"token-{i}" for i in range(100))
    e = Endpoint("openai/gpt-4o-mini", api_key=lambda: next(tokens), base_url="http://127.0.0.1:9/v1")
    seen = [e.chat("hi", {}, False).request.headers["Authorization"] for _ in range(3)]
    assert seen == ["Bearer token-0", "Bearer token-1", "Bearer token-2"]  # one token per call, none for a template
    assert e._prompt_calls[False] is False


def test_what_the_template_does_not_take_goes_the_full_way():
    e = endpoint("anthropic/claude-sonnet-4-5")
    e.chat("hi", {}, False)
    assert isinstance(e._prompt_calls[False], _PromptCall)
    # empty and blank turns (a model without empty turns refuses them: the full build says so)
    for prompt in ["", "   \n"]:
        with pytest.raises(llm.errors.LLMError) as fast:
            e.chat(prompt, {}, False)
        with pytest.raises(type(fast.value)):
            full(e, prompt, False)
    # a lone surrogate: the same error as the full build
    with pytest.raises(UnicodeEncodeError):
        e.chat("bad \ud800 text", {}, False)
    # options of the call's own, Messages, lists: the full build
    same(e.chat("hi", {"temperature": 0.1}, False), e.planned_chat("hi", e.plan({"temperature": 0.1}), False))
    same(e.chat([llm.user("hi")], {}, False), full(e, "hi", False))


def test_turned_off_it_is_never_learnt(monkeypatch):
    monkeypatch.setattr(Endpoint, "prompt_fast_path", False)
    e = endpoint("openai/gpt-4o-mini")
    same(e.chat("hi", {}, False), full(e, "hi", False))
    assert e._prompt_calls == [False, None]


def test_a_template_that_does_not_give_the_full_request_back_is_not_kept(monkeypatch):
    # a codec whose request depends on the prompt's text beyond its JSON string
    e = endpoint("openai/gpt-4o-mini")
    original = type(e.codec).chat_request

    def chat_request(self, messages, options, stream):
        request = original(self, messages, options, stream)
        request.headers["X-Length"] = str(len(messages[-1].content))
        return request

    monkeypatch.setattr(type(e.codec), "chat_request", chat_request)
    first = e.chat("hello", {}, False)
    assert e._prompt_calls[False] is False and first.request.headers["X-Length"] == "5"
    assert e.chat("hello world", {}, False).request.headers["X-Length"] == "11"
