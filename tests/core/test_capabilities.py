"""Capabilities checked before the call (issue 15 §2), sans-IO: where the flags come from, the
option checks and drops, each conversation transform, the structured-output mechanism, bad
input. The behaviour over the wire is in tests/_sync/test_capabilities.py."""
import copy
import logging
from dataclasses import dataclass
from typing import List

import pytest

import llmunified as llm
from llmunified import _models
from llmunified._capabilities import (ALIASES, FIRST_TURN_TEXT, FLAGS, LAST_TURN_TEXT, Capabilities, check_flags,
                                      check_profile, conversation_steps, prepare, resolve, structured_via)
from llmunified._endpoint import Endpoint
from llmunified._options import make_options
from llmunified._types import ImagePart, Message, TextPart, ToolCall, ToolResult
from llmunified.errors import UnsupportedParameterError, ValidationError

WEATHER = llm.Tool("get_weather", "Weather.", {"type": "object", "properties": {"city": {"type": "string"}}})


@pytest.fixture(autouse=True)
def fresh_registry(monkeypatch):
    monkeypatch.delenv(_models.ENV, raising=False)
    _models._reset()
    yield
    _models._reset()


def endpoint(model="openai/test-model", **defaults):
    return Endpoint(model, api_key="k", base_url="http://127.0.0.1:9/v1", defaults=defaults)


def caps_of(model="openai/test-model", **flags):
    return endpoint(model, capabilities=flags).capabilities()


def plan(model="openai/test-model", flags=None, **options):
    return endpoint(model, capabilities=flags or {}).plan(options)


def reshape(messages, model="openai/test-model", drop=False, **flags):
    p = plan(model, flags, drop_unsupported=drop) if drop else plan(model, flags)
    assert p.reshape is not None, "no transform for these flags"
    return p.reshape(list(messages))


def wire(messages):
    return [(m.role, m.content if isinstance(m.content, str) else m.parts) for m in messages]


# -- where the flags come from -----------------------------------------------------------------

def test_an_unknown_model_knows_nothing_but_its_providers_defaults():
    caps = endpoint("openai/no-such-model").capabilities()
    assert caps.model == "openai/no-such-model"
    # OpenAI's host profile (ProviderInfo.details), nothing about the model
    assert caps.known() == {"json_schema": True, "strict_tools": True, "developer_role": True,
                            "streaming_usage": True, "max_tokens_field": "max_completion_tokens"}
    assert endpoint("ollama/x").capabilities().known() == {"tool_choice_required": False}  # the protocol's
    assert endpoint("lmstudio/x").capabilities().known() == {"developer_role": False}  # the host's
    assert endpoint("deepseek/x").capabilities().structured_output == "json"


def test_an_unknown_model_is_never_blocked():
    p = plan("openai/no-such-model", temperature=1.5, max_tokens=10 ** 6, tools=[WEATHER], tool_choice="required",
             reasoning="high", parallel_tool_calls=True)
    assert p.reshape is None
    assert (p.options.temperature, p.options.max_tokens, p.options.reasoning) == (1.5, 10 ** 6, "high")


def test_registry_facts_come_over_the_provider_defaults():
    caps = endpoint("openai/o3-mini").capabilities()
    assert caps.temperature is False and caps.reasoning is True and caps.max_output == 100000
    claude = endpoint("anthropic/claude-sonnet-4-5").capabilities()
    assert (claude.first_assistant, claude.empty_content, claude.last_assistant) == (False, False, True)
    assert claude.structured_output == "tool" and claude.multiple_choices is False
    # and register_model's entries are read too (per registry entry profiles)
    llm.register_model("vllm/my-llama", tools=True, structured_output="prompt", repeating_roles=False,
                       strict_tools=False, max_tokens_field="max_tokens")
    mine = endpoint("vllm/my-llama").capabilities()
    assert (mine.structured_output, mine.repeating_roles, mine.strict_tools) == ("prompt", False, False)
    assert mine.developer_role is False  # the host's default stays


def test_profile_then_capabilities_come_last_and_none_resets_a_flag():
    caps = endpoint("openai/gpt-4o-mini", profile="basic", capabilities={"strict_tools": True}).capabilities()
    assert caps.json_schema is False and caps.developer_role is False  # the profile over the registry
    assert caps.max_tokens_field == "max_tokens" and caps.streaming_usage is False
    assert caps.strict_tools is True  # capabilities= over the profile
    assert caps.vision is True  # the registry where neither says
    reset = endpoint("anthropic/x", capabilities={"first_assistant": None}).capabilities()
    assert reset.first_assistant is None and reset.empty_content is False


def test_a_provider_name_is_a_profile():
    caps = endpoint("openai/qwen", profile="vllm").capabilities()
    assert caps.developer_role is False and caps.max_tokens_field == "max_completion_tokens"  # openai's detail
    assert check_profile("deepseek")["json_schema"] is False
    assert check_profile("Anthropic")["first_assistant"] is False  # the protocol's flags too
    assert check_profile({"supports_system": False}) == {"system_role": False}


def test_martian_names_are_accepted():
    got = check_flags({"supports_system": False, "supports_multiple_system": False,
                       "supports_repeating_roles": False, "supports_first_assistant": False,
                       "supports_last_assistant": False, "supports_empty_content": False,
                       "supports_tool_choice_required": False, "supports_n": False})
    assert got == {"system_role": False, "multiple_system": False, "repeating_roles": False,
                   "first_assistant": False, "last_assistant": False, "empty_content": False,
                   "tool_choice_required": False, "multiple_choices": False}
    assert set(ALIASES.values()) <= set(FLAGS)


@pytest.mark.parametrize("bad, match", [
    ("json_schema", "must be a dict of capability flags"),
    (["json_schema"], "must be a dict of capability flags"),
    ({"json_shema": False}, r"unknown capability flag 'json_shema' \(did you mean 'json_schema'\?\)"),
    ({"tools": "yes"}, "tools must be True, False or None"),
    ({"tools": 1}, "tools must be True, False or None"),
    ({"max_output": 0}, "max_output must be a positive int"),
    ({"max_output": True}, "max_output must be a positive int"),
    ({"structured_output": "xml"}, "structured_output must be one of"),
    ({"max_tokens_field": "max_new_tokens"}, "max_tokens_field must be one of"),
])
def test_bad_capabilities_are_a_clear_validation_error(bad, match):
    with pytest.raises(ValidationError, match=match):
        endpoint(capabilities=bad)


@pytest.mark.parametrize("bad, match", [
    (3, "profile must be a profile's name"),
    (True, "profile must be a profile's name"),
    ("nope", "unknown profile 'nope'"),
    ({"developer": False}, "profile: unknown capability flag 'developer'"),
])
def test_bad_profiles_are_a_clear_validation_error(bad, match):
    with pytest.raises(ValidationError, match=match):
        endpoint(profile=bad)


def test_drop_unsupported_must_be_a_bool():
    with pytest.raises(ValidationError, match="drop_unsupported must be True or False"):
        make_options({"drop_unsupported": "yes"}, {})


def test_resolving_reads_no_registry_at_construction():
    _models._reset()
    e = endpoint("openai/gpt-4o-mini", profile="basic")
    assert _models._registry is None and e._caps is None
    e.capabilities()
    assert _models._registry is not None


# -- options the model cannot take ---------------------------------------------------------------

@pytest.mark.parametrize("flags, options, option", [
    ({"tools": False}, {"tools": [WEATHER]}, "tools"),
    ({"tool_choice_required": False}, {"tools": [WEATHER], "tool_choice": "required"}, "tool_choice='required'"),
    ({"parallel_tools": False}, {"tools": [WEATHER], "parallel_tool_calls": True}, "parallel_tool_calls=True"),
    ({"temperature": False}, {"temperature": 0.2}, "temperature"),
    ({"max_output": 100}, {"max_tokens": 101}, "max_tokens=101"),
    ({"reasoning": False}, {"reasoning": "high"}, "reasoning='high'"),
    ({"reasoning": False}, {"reasoning": 2048}, "reasoning=2048"),
    ({"temperature_with_reasoning": False}, {"reasoning": "low", "temperature": 0.2}, "temperature"),
])
def test_an_option_the_model_cannot_take_is_refused_naming_model_option_and_why(flags, options, option):
    with pytest.raises(UnsupportedParameterError) as info:
        plan("openai/test-model", flags, **options)
    err = info.value
    assert isinstance(err, ValidationError) and isinstance(err, ValueError)
    assert (err.model, err.option, err.provider) == ("openai/test-model", option, "openai")
    assert err.reason and err.reason in err.message
    assert "openai/test-model does not take " + option in str(err) and "drop_unsupported=True" in str(err)


def test_what_the_model_can_take_passes():
    p = plan("openai/test-model", {"max_output": 100, "temperature": True, "reasoning": False},
             max_tokens=100, temperature=0.5, reasoning=False)
    assert (p.options.max_tokens, p.options.temperature, p.options.reasoning) == (100, 0.5, False)


def test_temperature_with_reasoning_only_together_and_only_other_than_1():
    flags = {"temperature_with_reasoning": False}
    assert plan("openai/test-model", flags, temperature=0.2).options.temperature == 0.2
    assert plan("openai/test-model", flags, temperature=1, reasoning="low").options.temperature == 1
    assert plan("openai/test-model", flags, temperature=0.2, reasoning=False).options.temperature == 0.2
    o = plan("anthropic/test-model", None, temperature=0.2, reasoning="low", drop_unsupported=True).options
    assert (o.temperature, o.reasoning) == (None, "low")
    # reasoning dropped first: the temperature then stays
    o = plan("openai/test-model", dict(flags, reasoning=False), temperature=0.2, reasoning="low",
             drop_unsupported=True).options
    assert (o.temperature, o.reasoning) == (0.2, None)


def test_drop_unsupported_drops_each_with_a_warning(caplog):
    caplog.set_level(logging.DEBUG, logger="llmunified")
    flags = {"temperature": False, "max_output": 100, "reasoning": False, "tool_choice_required": False,
             "parallel_tools": False}
    defaults = make_options({}, {})
    p = plan("openai/test-model", flags, temperature=0.3, max_tokens=5000, reasoning="low", tools=[WEATHER],
             tool_choice="required", parallel_tool_calls=True, drop_unsupported=True)
    o = p.options
    assert (o.temperature, o.max_tokens, o.reasoning, o.tool_choice, o.parallel_tool_calls) == (
        None, 100, None, None, None)
    assert o.tools and o.tools[0].name == "get_weather"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name == "llmunified"]
    assert len(warnings) == 5
    assert any("temperature dropped (drop_unsupported=True)" in w for w in warnings)
    assert any("max_tokens=5000 lowered to 100" in w for w in warnings)
    assert defaults.temperature is None  # nothing shared was changed


def test_dropping_tools_drops_what_goes_with_them():
    o = plan("openai/test-model", {"tools": False}, tools=[WEATHER], tool_choice="get_weather",
             parallel_tool_calls=False, drop_unsupported=True).options
    assert (o.tools, o.tool_choice, o.parallel_tool_calls) == (None, None, None)


def test_parallel_tool_calls_false_is_simply_not_sent_to_a_model_without_parallel_calls(caplog):
    caplog.set_level(logging.DEBUG, logger="llmunified")
    o = plan("openai/test-model", {"parallel_tools": False}, tools=[WEATHER], parallel_tool_calls=False).options
    assert o.parallel_tool_calls is None
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_the_callers_options_are_not_changed():
    e = endpoint(capabilities={"temperature": False}, temperature=0.5, drop_unsupported=True)
    before = copy.deepcopy(e._default_options)
    assert e.plan({}).options.temperature is None
    assert e._default_options == before and e._default_options.temperature == 0.5


def test_default_options_are_checked_once_and_reused():
    e = endpoint()
    e.chat("hi", {}, False)
    first = e._plan
    e.chat("hi", {}, False)
    assert e._plan is first and first.reshape is None


def test_a_refused_default_is_refused_on_every_call():
    e = endpoint(capabilities={"temperature": False}, temperature=0.5)
    for _ in range(2):
        with pytest.raises(UnsupportedParameterError):
            e.chat("hi", {}, False)
    assert e.chat("hi", {"temperature": None}, False).request is not None


# -- the conversation ------------------------------------------------------------------------

HISTORY = [llm.system("Be terse."), llm.user("Hi"), llm.assistant("Hello"), llm.user("Bye")]


def test_no_transform_without_a_false_flag():
    e = endpoint("openai/test-model")
    assert conversation_steps(e.capabilities(), e.codec) == ()
    assert [s.__name__ for s in conversation_steps(caps_of(system_role=False, repeating_roles=False), e.codec)] == [
        "_fold_system", "_merge_repeats"]


def test_system_text_is_folded_into_the_first_user_turn(caplog):
    caplog.set_level(logging.DEBUG, logger="llmunified")
    history = [llm.system("Be terse."), llm.user("Hi"), llm.system("Use French."), llm.assistant("Salut")]
    kept = copy.deepcopy(history)
    got = reshape(history, system_role=False)
    assert wire(got) == [("user", "Be terse.\n\nUse French.\n\nHi"), ("assistant", "Salut")]
    assert history == kept  # the caller's messages are untouched
    assert "system text folded into the first user turn (system_role is False)" in caplog.text


def test_folded_system_text_leads_a_user_turn_of_parts_or_its_own():
    image = ImagePart(url="https://x/cat.png")
    got = reshape([Message("developer", "Rules."), llm.user([TextPart("Look"), image])], system_role=False)
    assert got[0].role == "user" and got[0].parts == [TextPart("Rules.\n\n"), TextPart("Look"), image]
    got = reshape([llm.system("Rules."), llm.assistant("I start.")], system_role=False)
    assert wire(got) == [("user", "Rules."), ("assistant", "I start.")]


def test_developer_is_sent_as_system_where_the_server_does_not_know_it():
    messages = [Message("developer", "Rules."), llm.user("Hi")]
    got = reshape(messages, "lmstudio/test-model")  # the host's default
    assert wire(got) == [("system", "Rules."), ("user", "Hi")]
    assert messages[0].role == "developer"
    assert plan("openai/test-model").reshape is None  # OpenAI takes the role
    # a protocol that maps developer itself needs no transform for it
    assert plan("anthropic/test-model", {"developer_role": False}).reshape.steps == plan("anthropic/test-model").reshape.steps


def test_several_system_messages_are_joined_where_only_one_is_allowed():
    got = reshape([llm.system("A"), llm.user("Hi"), llm.system("B"), llm.assistant("x")], multiple_system=False)
    assert wire(got) == [("system", "A\n\nB"), ("user", "Hi"), ("assistant", "x")]


def test_empty_turns_are_left_out_where_rejected():
    history = [llm.user("Hi"), llm.assistant(""), llm.user("   "), llm.assistant([TextPart("")]),
               llm.user("Again"), llm.assistant([ToolCall("c1", "get_weather", {})])]
    got = reshape(history, empty_content=False)
    assert [m.role for m in got] == ["user", "user", "assistant"]
    assert got[1].text == "Again" and got[2].tool_calls[0].id == "c1"
    with pytest.raises(UnsupportedParameterError, match="every turn of the conversation is empty") as info:
        reshape([llm.system("S"), llm.user("")], empty_content=False)
    assert info.value.option == "messages"


def test_consecutive_turns_of_one_role_are_merged_where_rejected():
    image = ImagePart(url="https://x/cat.png")
    results = [Message("tool", [ToolResult("c1", "sunny")]), Message("tool", [ToolResult("c2", "rain")])]
    history = [llm.user("Hi"), llm.user([TextPart("Look"), image]), llm.assistant("A"),
               llm.assistant([ToolCall("c1", "w", {}), ToolCall("c2", "w", {})])] + results + [llm.user("x")]
    got = reshape(history, repeating_roles=False)
    assert [m.role for m in got] == ["user", "assistant", "tool", "tool", "user"]  # tool results stay apart
    assert got[0].parts == [TextPart("Hi"), TextPart("\n\n"), TextPart("Look"), image]
    assert got[1].text == "A" and [c.id for c in got[1].tool_calls] == ["c1", "c2"]
    assert wire(reshape([llm.user("a"), llm.user("b")], repeating_roles=False)) == [("user", "a\n\nb")]


def test_a_conversation_starting_with_an_assistant_turn_gets_a_user_turn_first():
    got = reshape([llm.system("S"), llm.assistant("I start."), llm.user("Ok")], first_assistant=False)
    assert wire(got) == [("system", "S"), ("user", FIRST_TURN_TEXT), ("assistant", "I start."), ("user", "Ok")]
    same = [llm.user("Hi")]
    assert reshape(same, first_assistant=False) == same


def test_a_conversation_ending_with_an_assistant_turn_is_refused_or_continued():
    history = [llm.user("Write a haiku"), llm.assistant("Autumn")]
    with pytest.raises(UnsupportedParameterError, match="ends with an assistant turn") as info:
        reshape(history, last_assistant=False)
    assert info.value.option == "messages"
    got = reshape(history, drop=True, last_assistant=False)
    assert wire(got)[-1] == ("user", LAST_TURN_TEXT) and len(history) == 2


def test_images_to_a_text_only_model_are_refused_or_dropped(caplog):
    history = [llm.user([TextPart("What is it?"), ImagePart(url="https://x/cat.png")])]
    with pytest.raises(UnsupportedParameterError, match=r"takes text only .* 1 image\(s\)") as info:
        reshape(history, vision=False)
    assert info.value.option == "images"
    caplog.set_level(logging.WARNING, logger="llmunified")
    got = reshape(history, drop=True, vision=False)
    assert wire(got) == [("user", "What is it?")]
    assert len(history[0].parts) == 2
    assert "images dropped (drop_unsupported=True)" in caplog.text
    assert reshape([llm.user("no image")], vision=False) is not None


def test_the_transforms_run_in_order_and_only_build_what_changed():
    history = [llm.system("S"), llm.assistant(""), llm.assistant("A"), llm.user("u")]
    got = reshape(history, system_role=False, empty_content=False, repeating_roles=False, first_assistant=False)
    assert wire(got) == [("user", "S"), ("assistant", "A"), ("user", "u")]
    untouched = [llm.user("Hi"), llm.assistant("Hello"), llm.user("Bye")]
    p = plan("openai/test-model", {"empty_content": False, "repeating_roles": False, "first_assistant": False,
                                   "last_assistant": False, "multiple_system": False})
    out = p.reshape(untouched)
    assert out is untouched  # nothing to change: the same list, nothing copied


def test_claude_takes_a_conversation_that_starts_with_an_assistant_turn():
    got = plan("anthropic/claude-sonnet-4-5").reshape([llm.assistant("Hi, I'm Claude."), llm.user("Hi")])
    assert [m.role for m in got] == ["user", "assistant", "user"]


# -- structured output ---------------------------------------------------------------------------

@pytest.mark.parametrize("flags, via", [
    ({}, "json_schema"),
    ({"json_schema": True}, "json_schema"),
    ({"json_schema": False}, "tool"),
    ({"json_schema": False, "tools": False}, "prompt"),
    ({"structured_output": "json"}, "json"),
    ({"structured_output": "prompt", "json_schema": True}, "prompt"),
    ({"structured_output": "tool", "tools": False}, "prompt"),
    ({"structured_output": "json_schema", "json_schema": False}, "tool"),
])
def test_structured_output_chooses_its_mechanism_from_the_flags(flags, via):
    assert structured_via(Capabilities("x/y", **flags)) == via


@dataclass
class City:
    name: str
    population: int


def test_the_codec_follows_the_chosen_mechanism():
    import json

    for flags, mode, prompt in (({}, "text", False), ({"json_schema": False}, "tool", False),
                                ({"structured_output": "json"}, "text", True),
                                ({"structured_output": "prompt"}, "text", True)):
        e = endpoint(capabilities=flags)
        job = e.extraction(City)
        assert (e.codec.structured_mode, e.codec.structured_prompt) == (mode, prompt), flags
        body = json.loads(e.chat("Biggest city?", {"response_format": job.spec}, False).request.body)
        assert ("response_format" in body) == (flags.get("structured_output") != "prompt" and mode == "text")
        instructions = [m for m in body["messages"] if "JSON Schema" in str(m.get("content"))]
        assert bool(instructions) == prompt
        if mode == "tool":
            assert body["tool_choice"] == {"type": "function", "function": {"name": "City"}}
            assert body["tools"][-1]["function"]["parameters"]["required"] == ["name", "population"]


def test_prompted_instructions_show_the_schema_the_reply_is_read_with():
    from llmunified._structured import output_spec, prompt_instructions

    spec = output_spec(List[City])
    assert '"value"' in prompt_instructions(spec, ("object-root",))
    assert '"value"' not in prompt_instructions(spec)
