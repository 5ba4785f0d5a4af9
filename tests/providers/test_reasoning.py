"""Sans-IO tests of ``reasoning=`` and ``cache=`` (issue 15 §3-4): option checking, the level <->
budget tables, the request body each codec builds for every value, reasoning read back as
thinking, and the usage figures (cache reads and writes, reasoning tokens) of the recorded
fixtures.

Expected bodies and figures are written out by hand from docs/wire.md and the fixtures.
"""
import json
from typing import Any, Dict, List

import pytest

from llmunified._options import make_options
from llmunified._reasoning import CacheSpec, budget_for, check_cache, check_reasoning, effort_for
from llmunified._registry import PROVIDERS, resolve_config
from llmunified._types import Message, TextPart, ThinkingPart, Tool, ToolCall, Usage, assistant, system, tool_result, user
from llmunified.errors import ValidationError
from llmunified.providers import codec_for
from llmunified.testing._dialects.anthropic import check_messages
from llmunified.testing._dialects.openai import check_chat
from tests.providers.recordings import bound, load, vcr, vcr_body

WEATHER = Tool("get_weather", "Weather.", {"type": "object", "properties": {"city": {"type": "string"}}})


def codec(provider: str, model: str = "test-model", **settings: Any):
    config = resolve_config(PROVIDERS[provider], api_key="sk-test-key", environ={}, settings=settings or None)
    return codec_for(config, model)


def body(provider: str, messages: Any = None, model: str = "test-model", stream: bool = False,
         settings: Any = None, **options: Any) -> Dict[str, Any]:
    msgs = messages if messages is not None else [user("Hi")]
    request = codec(provider, model, **(settings or {})).chat_request(msgs, make_options({}, options), stream)
    return json.loads(request.body)


# -- the options -------------------------------------------------------------------------------

@pytest.mark.parametrize("value, checked", [
    ("minimal", "minimal"), ("low", "low"), ("medium", "medium"), ("high", "high"), ("HIGH", "high"),
    (" Medium ", "medium"), (1, 1), (4096, 4096), (False, False), (None, None)])
def test_reasoning_values(value, checked):
    assert check_reasoning(value) == checked
    options = make_options({}, {"reasoning": value})
    assert options.reasoning == checked


@pytest.mark.parametrize("value, words", [
    (True, "does not say how much"), ("extreme", "not an effort level"), ("none", "not an effort level"),
    (0, "positive"), (-5, "positive"), (1.5, "got float"), (["high"], "got list"), ({"effort": "low"}, "got dict"),
    (b"high", "got bytes")])
def test_reasoning_wrong_values_are_typed_errors(value, words):
    with pytest.raises(ValidationError, match="reasoning") as info:
        make_options({}, {"reasoning": value})
    assert words in str(info.value)
    with pytest.raises(ValidationError, match="reasoning"):
        make_options({"reasoning": value}, {})  # a client default is checked alike


def test_reasoning_call_value_over_the_client_default():
    assert make_options({"reasoning": "high"}, {}).reasoning == "high"
    assert make_options({"reasoning": "high"}, {"reasoning": 2048}).reasoning == 2048
    assert make_options({"reasoning": "high"}, {"reasoning": False}).reasoning is False
    assert make_options({"reasoning": "high"}, {"reasoning": None}).reasoning is None  # unset: provider default


@pytest.mark.parametrize("budget, level", [(1, "low"), (1024, "low"), (4096, "low"), (4097, "medium"),
                                           (8192, "medium"), (16384, "medium"), (16385, "high"), (10 ** 6, "high")])
def test_budget_to_level_table(budget, level):
    assert effort_for(budget) == level


def test_level_to_budget_table():
    assert [budget_for(level) for level in ("minimal", "low", "medium", "high")] == [1024, 2048, 8192, 24576]
    assert budget_for(3000) == 3000
    assert effort_for("minimal") == "minimal"
    # every level's budget maps back to the level (minimal aside: it is never chosen for a budget)
    assert [effort_for(budget_for(level)) for level in ("low", "medium", "high")] == ["low", "medium", "high"]


@pytest.mark.parametrize("value, spec", [
    (True, CacheSpec(("tools", "system", "conversation"))),
    ("system", CacheSpec(("system",))),
    (["conversation", "tools"], CacheSpec(("tools", "conversation"))),
    (("system",), CacheSpec(("system",))),
    ({"key": "user-42"}, CacheSpec(("tools", "system", "conversation"), "user-42")),
    ({"breakpoints": [], "key": "k"}, CacheSpec((), "k")),
    ({"breakpoints": "conversation", "ttl": "1h"}, CacheSpec(("conversation",), None, "1h")),
    (False, None), (None, None)])
def test_cache_values(value, spec):
    assert check_cache(value) == spec
    assert make_options({}, {"cache": value}).cache == spec


@pytest.mark.parametrize("value, words", [
    ("my-key", "cache={'key': 'my-key'}"), (1, "cache takes"), (["system", 3], "breakpoints must be"),
    ({"key": 5}, "non-empty string"), ({"key": ""}, "non-empty string"), ({"ttl": "24h"}, "'5m' or '1h'"),
    ({"keys": "x"}, "unknown key 'keys'"), ({"breakpoints": ["everything"]}, "unknown cache breakpoint")])
def test_cache_wrong_values_are_typed_errors(value, words):
    with pytest.raises(ValidationError, match="cache") as info:
        make_options({}, {"cache": value})
    assert words in str(info.value)


# -- OpenAI and compatible hosts ---------------------------------------------------------------

EFFORT_HOSTS = ["openai", "lmstudio", "together", "vllm"]


@pytest.mark.parametrize("provider", EFFORT_HOSTS)
@pytest.mark.parametrize("value, sent", [("minimal", "minimal"), ("low", "low"), ("medium", "medium"),
                                         ("high", "high"), (1024, "low"), (8192, "medium"), (30000, "high")])
def test_openai_reasoning_effort(provider, value, sent):
    b = body(provider, reasoning=value)
    assert b["reasoning_effort"] == sent
    assert "thinking" not in b and "reasoning" not in b
    assert check_chat(b, None) == []


@pytest.mark.parametrize("provider", EFFORT_HOSTS + ["groq"])
def test_openai_reasoning_false_and_unset_send_nothing(provider):
    for options in ({"reasoning": False}, {}):
        b = body(provider, **options)
        assert not {"reasoning_effort", "reasoning", "thinking"} & set(b)


def test_azure_takes_reasoning_effort_like_openai():
    config = resolve_config(PROVIDERS["azure"], api_key="k", base_url="https://res.openai.azure.com", environ={})
    request = codec_for(config, "my-deployment").chat_request([user("Hi")], make_options({}, {"reasoning": 20000}),
                                                              False)
    b = json.loads(request.body)
    assert b["reasoning_effort"] == "high"
    request = codec_for(config, "my-deployment").chat_request([user("Hi")], make_options({}, {"cache": {"key": "k"}}),
                                                              False)
    assert "prompt_cache_key" not in json.loads(request.body)


@pytest.mark.parametrize("value, sent", [("minimal", "low"), ("low", "low"), ("high", "high"), (2000, "low"),
                                         (10000, "medium")])
def test_groq_reasoning_effort_has_no_minimal(value, sent):
    b = body("groq", reasoning=value)
    assert b["reasoning_effort"] == sent
    assert "reasoning_format" not in b


@pytest.mark.parametrize("value, thinking, effort", [
    ("minimal", "enabled", "minimal"), ("high", "enabled", "high"), (3000, "enabled", "low"),
    (False, "disabled", None)])
def test_deepseek_thinking_switch_and_effort(value, thinking, effort):
    b = body("deepseek", reasoning=value)
    assert b["thinking"] == {"type": thinking}
    assert b.get("reasoning_effort") == effort
    assert check_chat(b, None) == []


@pytest.mark.parametrize("value, reasoning", [
    ("minimal", {"effort": "minimal"}), ("medium", {"effort": "medium"}), (3000, {"max_tokens": 3000}),
    (False, {"effort": "none"})])
def test_openrouter_reasoning_object(value, reasoning):
    b = body("openrouter", reasoning=value)
    assert b["reasoning"] == reasoning
    assert "reasoning_effort" not in b
    assert check_chat(b, None) == []


def test_extra_wins_over_reasoning():
    assert body("openai", reasoning="low", extra={"reasoning_effort": "xhigh"})["reasoning_effort"] == "xhigh"
    assert body("openrouter", reasoning="low", extra={"reasoning": {"exclude": True}})["reasoning"] == {
        "effort": "low", "exclude": True}
    assert body("anthropic", reasoning="low", extra={"thinking": {"budget_tokens": 3000}})["thinking"] == {
        "type": "enabled", "budget_tokens": 3000}
    assert body("gemini", reasoning="low", extra={"generationConfig": {"thinkingConfig": {"includeThoughts": False}}}
                )["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 2048, "includeThoughts": False}


def test_openai_cache_key_and_automatic_caching():
    assert "prompt_cache_key" not in body("openai", cache=True)  # OpenAI caches by itself: nothing to send
    b = body("openai", cache={"key": "user-42"})
    assert b["prompt_cache_key"] == "user-42"
    assert check_chat(b, None) == []
    for host in ("groq", "openrouter", "deepseek", "lmstudio"):  # no such field there: not sent
        assert "prompt_cache_key" not in body(host, cache={"key": "user-42"})
    # no cache_control anywhere on this wire
    assert "cache_control" not in json.dumps(body("openai", [system("S"), user("Hi")], tools=[WEATHER], cache=True))


def test_bad_reasoning_effort_is_a_contract_violation():
    [violation] = check_chat({"model": "m", "messages": [{"role": "user", "content": "Hi"}],
                              "reasoning_effort": "extreme"}, None)
    assert violation.status == 400 and violation.param == "reasoning_effort"
    [violation] = check_chat({"model": "m", "messages": [{"role": "user", "content": "Hi"}],
                              "reasoning": {"effort": "low", "max_tokens": 10}}, None)
    assert "Only one of" in violation.message


# -- OpenRouter's reasoning_details ------------------------------------------------------------

SIGNATURE = "sig-Et0BCkgIChACGAIq"


def openrouter_reply(details: List[Dict[str, Any]], reasoning: Any = None, content: str = "4") -> bytes:
    message: Dict[str, Any] = {"role": "assistant", "content": content, "reasoning": reasoning,
                               "reasoning_details": details}
    return json.dumps({"id": "gen-1", "model": "anthropic/claude-sonnet-4.5", "object": "chat.completion",
                       "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                       "usage": {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14,
                                 "completion_tokens_details": {"reasoning_tokens": 6}}}).encode()


def test_openrouter_reasoning_details_are_kept_and_sent_back():
    detail = {"type": "reasoning.text", "text": "Two and two.", "signature": SIGNATURE,
              "format": "anthropic-claude-v1", "index": 0}
    reply = bound(codec("openrouter"), "m").parse_chat(openrouter_reply([detail], "Two and two."), {})
    assert reply.thinking == "Two and two."
    [part] = [p for p in reply.message.content if isinstance(p, ThinkingPart)]
    assert part.signature == SIGNATURE
    assert reply.usage.reasoning_tokens == 6
    history = [user("2+2?"), reply.message, user("And 3+3?")]
    sent = body("openrouter", history)["messages"][1]
    assert sent == {"role": "assistant", "content": "4", "reasoning_details": [detail]}
    # other hosts get no reasoning_details (Groq refuses unknown assistant fields)
    for host in ("openai", "groq", "deepseek"):
        assert body(host, history)["messages"][1] == {"role": "assistant", "content": "4"}


def test_openrouter_details_text_without_the_plain_reasoning_text():
    details = [{"type": "reasoning.summary", "summary": "Adding.", "format": "openai-responses-v1", "index": 0},
               {"type": "reasoning.encrypted", "data": "gAAAA-opaque", "format": "openai-responses-v1", "index": 1}]
    reply = bound(codec("openrouter"), "m").parse_chat(openrouter_reply(details), {})
    assert reply.thinking == "Adding."
    assert reply.text == "4"
    sent = body("openrouter", [user("Q"), reply.message, user("Q2")])["messages"][1]
    assert sent["reasoning_details"] == details


def test_openrouter_encrypted_only_reasoning_gets_a_part_to_travel_on():
    details = [{"type": "reasoning.encrypted", "data": "gAAAA-opaque", "format": "openai-responses-v1", "index": 0}]
    reply = bound(codec("openrouter"), "m").parse_chat(openrouter_reply(details), {})
    assert reply.text == "4" and reply.thinking == ""
    assert body("openrouter", [user("Q"), reply.message, user("Q2")])["messages"][1]["reasoning_details"] == details
    # Anthropic leaves such an unsigned part out
    assert body("anthropic", [user("Q"), reply.message, user("Q2")])["messages"][1]["content"] == [
        {"type": "text", "text": "4"}]


def test_openrouter_recorded_stream_details_round_trip():
    inter = vcr("openai-compatible/openrouter_stream_reasoning.vcr.yaml")[0]
    decoder = bound(codec("openrouter"), "m").stream_decoder({})
    decoder.feed(vcr_body(inter))
    decoder.eof()
    reply = decoder.response()
    sent = body("openrouter", [user("What is 2+2?"), reply.message, user("And 3+3?")])["messages"][1]
    [detail] = sent["reasoning_details"]
    assert detail["type"] == "reasoning.text" and detail["format"] == "anthropic-claude-v1"
    assert detail["text"] == "This is a simple arithmetic question. 2+2 equals 4."
    assert detail["signature"].startswith("Et0BCkgIChACGAIqQA2s7h7tA7IG") and detail["signature"].endswith("YAQ==")


def test_openrouter_details_replay_in_a_long_conversation():
    detail = {"type": "reasoning.text", "text": "T", "signature": SIGNATURE, "index": 0}
    reply = bound(codec("openrouter"), "m").parse_chat(openrouter_reply([detail], "T"), {})
    history: List[Message] = []
    for i in range(20):
        history += [user(f"q{i}"), reply.message]
    history.append(user("last"))
    # the encoding of long conversations is kept between requests: each host keeps its own
    sent_openai = body("openai", history)["messages"]
    sent_router = body("openrouter", history)["messages"]
    assert all("reasoning_details" not in m for m in sent_openai)
    assert [m.get("reasoning_details") for m in sent_router if m["role"] == "assistant"] == [[detail]] * 20
    assert all("reasoning_details" not in m for m in body("openai", history)["messages"])


def test_reasoning_text_fields_read_as_thinking():
    def reply(provider: str, **fields: Any):
        message = dict({"role": "assistant", "content": "ok"}, **fields)
        raw = json.dumps({"id": "x", "model": "m", "choices": [{"index": 0, "message": message,
                                                                 "finish_reason": "stop"}]}).encode()
        return bound(codec(provider), "m").parse_chat(raw, {})

    assert reply("deepseek", reasoning_content="Let me see.").thinking == "Let me see."
    assert reply("groq", reasoning="Hmm.").thinking == "Hmm."
    assert reply("openrouter", reasoning="Think.").thinking == "Think."


# -- Anthropic (and Claude on Vertex AI) -------------------------------------------------------

ANTHROPIC_HOSTS = [("anthropic", "test-model", {}), ("vertex", "claude-test", {"project": "p"})]


@pytest.mark.parametrize("provider, model, settings", ANTHROPIC_HOSTS)
@pytest.mark.parametrize("value, thinking, max_tokens", [
    ("minimal", {"type": "enabled", "budget_tokens": 1024}, 1024 + 4096),
    ("low", {"type": "enabled", "budget_tokens": 2048}, 2048 + 4096),
    ("medium", {"type": "enabled", "budget_tokens": 8192}, 8192 + 4096),
    ("high", {"type": "enabled", "budget_tokens": 24576}, 24576 + 4096),
    (1024, {"type": "enabled", "budget_tokens": 1024}, 1024 + 4096),
    (50000, {"type": "enabled", "budget_tokens": 50000}, 50000 + 4096),
    (False, {"type": "disabled"}, 4096)])
def test_anthropic_thinking(provider, model, settings, value, thinking, max_tokens):
    b = body(provider, model=model, settings=settings, reasoning=value)
    assert b["thinking"] == thinking
    assert b["max_tokens"] == max_tokens
    assert check_messages(b if provider == "anthropic" else dict(b, model=model), None) == []


def test_anthropic_thinking_keeps_an_explicit_max_tokens_and_allowed_sampling():
    b = body("anthropic", reasoning="low", max_tokens=2049, temperature=1, top_p=0.95,
             tools=[WEATHER], tool_choice="auto", parallel_tool_calls=False)
    assert (b["max_tokens"], b["temperature"], b["top_p"]) == (2049, 1, 0.95)
    assert b["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    assert check_messages(b, None) == []
    # thinking off: none of the rules apply
    b = body("anthropic", reasoning=False, max_tokens=100, temperature=0.2, tool_choice="required", tools=[WEATHER])
    assert b["thinking"] == {"type": "disabled"} and check_messages(b, None) == []


@pytest.mark.parametrize("options, words", [
    (dict(reasoning=1023), "at least 1024"),
    (dict(reasoning="medium", max_tokens=8192), "max_tokens (8192) must be greater than the thinking budget (8192)"),
    (dict(reasoning="low", temperature=0.7), "no temperature other than 1"),
    (dict(reasoning="low", temperature=0), "no temperature other than 1"),
    (dict(reasoning="low", top_p=0.9), "top_p only from 0.95"),
    (dict(reasoning="low", tools=[WEATHER], tool_choice="required"), "forced tool"),
    (dict(reasoning="low", tools=[WEATHER], tool_choice="get_weather"), "forced tool"),
    (dict(reasoning="low", response_format={"type": "object", "properties": {"a": {"type": "string"}}}),
     "structured output"),
])
def test_anthropic_thinking_rules(options, words):
    with pytest.raises(ValidationError) as info:
        body("anthropic", **options)
    assert words in str(info.value)
    assert "reasoning=" in str(info.value)


def test_the_emulator_holds_thinking_to_the_api_rules():
    base = {"model": "m", "max_tokens": 5000, "messages": [{"role": "user", "content": "Hi"}],
            "thinking": {"type": "enabled", "budget_tokens": 2048}}
    assert check_messages(base, None) == []
    for extra, words in [({"temperature": 0.5}, "temperature"), ({"top_p": 0.5}, "top_p"), ({"top_k": 5}, "top_k"),
                         ({"tool_choice": {"type": "any"}}, "forces tool use")]:
        [violation] = check_messages(dict(base, **extra), None)
        assert words in violation.message


def marks(b: Dict[str, Any]) -> List[str]:
    out = ["top" for _ in [b] if b.get("cache_control")]
    out += ["system.%d" % i for i, blk in enumerate(b.get("system") or []) if isinstance(blk, dict)
            and blk.get("cache_control")]
    out += ["tools.%d" % i for i, t in enumerate(b.get("tools") or []) if t.get("cache_control")]
    for i, m in enumerate(b["messages"]):
        if isinstance(m["content"], list):
            out += ["messages.%d.%d" % (i, j) for j, blk in enumerate(m["content"]) if blk.get("cache_control")]
    return out


CONVERSATION = [system("A long system prompt."), user("Hi"), assistant("Hello"), user("Weather in Paris?")]


@pytest.mark.parametrize("provider, model, settings", ANTHROPIC_HOSTS)
def test_anthropic_cache_breakpoints(provider, model, settings):
    b = body(provider, CONVERSATION, model=model, settings=settings, tools=[WEATHER, WEATHER_2], cache=True)
    assert marks(b) == ["system.0", "tools.1", "messages.2.0"]
    assert b["system"] == [{"type": "text", "text": "A long system prompt.", "cache_control": {"type": "ephemeral"}}]
    assert b["messages"][2] == {"role": "user", "content": [
        {"type": "text", "text": "Weather in Paris?", "cache_control": {"type": "ephemeral"}}]}
    assert b["messages"][:2] == [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    assert check_messages(b if provider == "anthropic" else dict(b, model=model), None) == []


WEATHER_2 = Tool("get_time", "Time.", {"type": "object", "properties": {}})


@pytest.mark.parametrize("cache, expected", [
    ("system", ["system.0"]), ("tools", ["tools.0"]), ("conversation", ["messages.2.0"]),
    (["system", "conversation"], ["system.0", "messages.2.0"]), ({"breakpoints": []}, []),
    ({"key": "ignored-here"}, ["system.0", "tools.0", "messages.2.0"]), (False, [])])
def test_anthropic_cache_breakpoint_choice(cache, expected):
    b = body("anthropic", CONVERSATION, tools=[WEATHER], cache=cache)
    assert marks(b) == expected
    assert "prompt_cache_key" not in b


def test_anthropic_cache_ttl_and_the_structured_output_tool():
    b = body("anthropic", CONVERSATION, cache={"ttl": "1h"},
             response_format={"type": "object", "properties": {"a": {"type": "string"}}})
    assert b["tools"][-1]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}  # the output tool is last
    assert b["system"][0]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    assert check_messages(b, None) == []


def test_anthropic_cache_on_a_tool_result_turn_and_without_system_or_tools():
    call = ToolCall("toolu_1", "get_weather", {"city": "Paris"})
    history = [user("Weather?"), Message("assistant", [call]), tool_result("toolu_1", "sunny")]
    b = body("anthropic", history, cache=True)
    assert marks(b) == ["messages.2.0"]
    assert b["messages"][2]["content"][0]["type"] == "tool_result"
    assert "system" not in b and check_messages(b, None) == []


def test_anthropic_cache_never_marks_thinking_or_empty_text():
    prefill = Message("assistant", [ThinkingPart("hmm", signature="sig"), TextPart("The answer is")])
    b = body("anthropic", [user("Q"), prefill], cache=True)
    assert b["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "hmm", "signature": "sig"},
        {"type": "text", "text": "The answer is", "cache_control": {"type": "ephemeral"}}]
    b = body("anthropic", [user("Q"), assistant("")], cache=True)
    assert marks(b) == [] and check_messages(b, None) == []


def test_anthropic_cache_counts_the_callers_breakpoints():
    mine = {"type": "ephemeral"}
    extra = {"cache_control": mine,
             "system": [{"type": "text", "text": "a", "cache_control": mine},
                        {"type": "text", "text": "b", "cache_control": mine}]}
    b = body("anthropic", CONVERSATION, tools=[WEATHER], cache=True, extra=extra)
    # 3 of the caller's + ours: the tools' goes first, the latest turn's stays
    assert marks(b) == ["top", "system.0", "system.1", "messages.2.0"]
    assert check_messages(b, None) == []
    extra["tools"] = [{"name": "t", "input_schema": {"type": "object"}, "cache_control": mine}]
    b = body("anthropic", CONVERSATION, tools=[WEATHER], cache=True, extra=extra)
    assert marks(b) == ["top", "system.0", "system.1", "tools.0"]  # all four are the caller's
    # four of the caller's and none of ours would be five: the API's 400, which the emulator gives too
    b["messages"][2]["content"] = [{"type": "text", "text": "x", "cache_control": mine}]
    [violation] = check_messages(b, None)
    assert violation.message == "A maximum of 4 blocks with cache_control may be provided. Found 5."


def test_anthropic_cache_breakpoint_follows_a_long_conversation():
    c = codec("anthropic")
    options = make_options({}, {"cache": True})
    history = [system("S")]
    for i in range(40):
        history += [user(f"q{i}"), assistant(f"a{i}")]
    for turn in range(3):
        history.append(user(f"new{turn}"))
        b = json.loads(c.chat_request(history, options, False).body)
        last = len(b["messages"]) - 1
        assert marks(b) == ["system.0", "messages.%d.0" % last]
        history.append(assistant(f"answer{turn}"))
    # a request without cache= after them carries no breakpoint left over
    b = json.loads(c.chat_request(history, make_options({}, {}), False).body)
    assert marks(b) == [] and b["system"] == "S"
    # a conversation ending with a system message: the last turn is marked all the same
    history.append(system("Be brief now."))
    b = json.loads(c.chat_request(history, options, False).body)
    assert marks(b) == ["system.0", "messages.%d.0" % (len(b["messages"]) - 1)]
    assert b["system"][0]["text"] == "S\n\nBe brief now."


def test_the_emulator_checks_cache_control_shapes():
    base = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "Hi", "cache_control": {"type": "persistent"}}]}]}
    [violation] = check_messages(base, None)
    assert "Input should be 'ephemeral'" in violation.message
    base["messages"][0]["content"][0]["cache_control"] = {"type": "ephemeral", "ttl": "2h"}
    [violation] = check_messages(base, None)
    assert "'5m' or '1h'" in violation.message


# -- Gemini (and Gemini on Vertex AI) ----------------------------------------------------------

@pytest.mark.parametrize("model, value, config", [
    ("gemini-2.5-flash", "minimal", {"thinkingBudget": 1024, "includeThoughts": True}),
    ("gemini-2.5-flash", "low", {"thinkingBudget": 2048, "includeThoughts": True}),
    ("gemini-2.5-flash", "medium", {"thinkingBudget": 8192, "includeThoughts": True}),
    ("gemini-2.5-flash", "high", {"thinkingBudget": 24576, "includeThoughts": True}),
    ("gemini-2.5-flash", 512, {"thinkingBudget": 512, "includeThoughts": True}),
    ("gemini-2.5-flash", False, {"thinkingBudget": 0}),
    ("gemini-2.5-pro", "high", {"thinkingBudget": 24576, "includeThoughts": True}),
    ("gemini-3-pro-preview", "low", {"thinkingLevel": "LOW", "includeThoughts": True}),
    ("gemini-3-flash-preview", "minimal", {"thinkingLevel": "MINIMAL", "includeThoughts": True}),
    ("gemini-3.1-pro", "high", {"thinkingLevel": "HIGH", "includeThoughts": True}),
    ("gemini-3-pro-preview", 3000, {"thinkingBudget": 3000, "includeThoughts": True}),
    ("test-model", "medium", {"thinkingBudget": 8192, "includeThoughts": True}),
])
def test_gemini_thinking_config(model, value, config):
    from llmunified.testing._dialects.gemini import check_generate

    b = body("gemini", model=model, reasoning=value)
    assert b["generationConfig"]["thinkingConfig"] == config
    assert check_generate(b, None) == []
    vb = body("vertex", model=model, settings={"project": "p"}, reasoning=value)
    assert vb["generationConfig"]["thinkingConfig"] == config


@pytest.mark.parametrize("model", ["gemini-2.5-pro", "gemini-3-pro-preview", "gemini-3-flash-preview"])
def test_gemini_models_that_always_think_refuse_false(model):
    with pytest.raises(ValidationError, match="cannot turn thinking off") as info:
        body("gemini", model=model, reasoning=False)
    assert "reasoning='low'" in str(info.value)


def test_gemini_cache_sends_nothing_and_reasoning_unset_sends_nothing():
    b = body("gemini", [system("S"), user("Hi")], tools=[WEATHER], cache=True)
    assert "thinkingConfig" not in json.dumps(b) and "cache" not in json.dumps(b).lower()


# -- Ollama, Cohere ----------------------------------------------------------------------------

@pytest.mark.parametrize("model, value, think", [
    ("gpt-oss:20b", "minimal", "low"), ("gpt-oss:20b", "low", "low"), ("gpt-oss:120b", "medium", "medium"),
    ("gpt-oss:20b", "high", "high"), ("gpt-oss:20b", 3000, "low"), ("gpt-oss:20b", 30000, "high"),
    ("gpt-oss:20b", False, False), ("qwen3:8b", "high", True), ("deepseek-r1", 4096, True), ("qwen3:8b", False, False)])
def test_ollama_think(model, value, think):
    from llmunified.testing._dialects.ollama import check_chat as check_ollama

    b = body("ollama", model=model, reasoning=value)
    assert b["think"] == think
    assert "think" not in b.get("options", {})  # a top-level field: inside options it does nothing
    assert check_ollama(b, None) == []
    assert "think" not in body("ollama", model=model, cache=True)


@pytest.mark.parametrize("value, thinking", [
    ("minimal", {"type": "enabled", "token_budget": 1024}), ("high", {"type": "enabled", "token_budget": 24576}),
    (3000, {"type": "enabled", "token_budget": 3000}), (False, {"type": "disabled"})])
def test_cohere_thinking(value, thinking):
    from llmunified.testing._dialects.cohere import check_chat as check_cohere

    b = body("cohere", reasoning=value)
    assert b["thinking"] == thinking
    assert check_cohere(b, None) == []
    assert body("cohere", cache=True) == body("cohere")


# -- usage: cache reads and writes, reasoning tokens, from the recordings ----------------------

def test_usage_of_the_recordings():
    anthropic = bound(codec("anthropic"), "m")
    [first, second] = vcr("anthropic/prompt_cache_read_write.vcr.yaml")
    assert anthropic.parse_chat(vcr_body(first), {}).usage == Usage(1114, 406, 1520, 1111, 0, 0)
    assert anthropic.parse_chat(vcr_body(second), {}).usage == Usage(1532, 33, 1565, 1111, 418, 0)

    openai = bound(codec("openai"), "m")
    write, read = vcr("openai/prompt_cache_cached_tokens.vcr.yaml")
    assert (openai.parse_chat(vcr_body(write), {}).usage.cache_write_tokens,
            openai.parse_chat(vcr_body(write), {}).usage.cache_read_tokens) == (4012, 0)
    assert (openai.parse_chat(vcr_body(read), {}).usage.cache_write_tokens,
            openai.parse_chat(vcr_body(read), {}).usage.cache_read_tokens) == (0, 4012)

    deepseek = bound(codec("deepseek"), "m").parse_chat(load("openai-compatible/deepseek_reasoner_reasoning_content.json"),
                                                         {})
    assert deepseek.usage == Usage(18, 345, 363, 0, 0, 315)
    assert deepseek.thinking.startswith("We are asked:")

    cohere = bound(codec("cohere"), "m").parse_chat(load("cohere/chat_thinking.json"), {})
    assert cohere.usage == Usage(1394, 582, 1976, 1344, 0, 0)
    assert cohere.thinking.startswith("Okay, so I need to figure out")


def test_gemini_thoughts_of_the_recording_are_reasoning_tokens():
    [inter] = vcr("gemini/thinking_config.vcr.yaml")
    # thoughtsTokenCount 275 is output too (candidatesTokenCount leaves it out)
    assert bound(codec("gemini"), "m").parse_chat(vcr_body(inter), {}).usage == Usage(15, 283, 298, 0, 0, 275)
