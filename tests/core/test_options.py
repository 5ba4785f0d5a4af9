"""make_options, to_messages, to_tool (llmunified/_options.py)."""
import copy

import pytest

from llmunified._options import OPTION_NAMES, Options, deep_merge, make_options, to_messages, to_tool
from llmunified._types import ImagePart, Message, TextPart, ThinkingPart, Tool, ToolCall, ToolResult
from llmunified.errors import LLMError, ValidationError

WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def raises_validation(match=None):
    return pytest.raises(ValidationError, match=match)


def test_validation_error_is_a_value_error_and_llm_error():
    assert issubclass(ValidationError, ValueError)
    assert issubclass(ValidationError, LLMError)


# -- make_options ----------------------------------------------------------------------------

def test_empty_gives_defaults():
    o = make_options({}, {})
    assert o == Options()
    assert o.extra == {}


def test_call_overrides_defaults():
    defaults = {"temperature": 0.2, "max_tokens": 100, "stop": ["x"], "seed": 1}
    o = make_options(defaults, {"temperature": 1.5, "stop": "END"})
    assert (o.temperature, o.max_tokens, o.stop, o.seed) == (1.5, 100, ["END"], 1)


def test_extra_deep_merged_and_inputs_untouched():
    defaults = {"extra": {"a": {"b": 1, "c": 2}, "keep": True, "list": [1]}}
    call = {"extra": {"a": {"c": 3, "d": {"e": 4}}, "list": [2], "new": None}}
    before = copy.deepcopy((defaults, call))
    o = make_options(defaults, call)
    assert o.extra == {"a": {"b": 1, "c": 3, "d": {"e": 4}}, "keep": True, "list": [2], "new": None}
    assert (defaults, call) == before


def test_extra_from_call_only_or_defaults_only():
    assert make_options({}, {"extra": {"x": 1}}).extra == {"x": 1}
    assert make_options({"extra": {"x": 1}}, {}).extra == {"x": 1}
    assert make_options({"extra": {"x": 1}}, {"temperature": 1}).extra == {"x": 1}


def test_empty_extra_in_call_keeps_default_extra():
    assert make_options({"extra": {"x": 1}}, {"extra": {}}).extra == {"x": 1}


def test_deep_merge():
    assert deep_merge({"a": {"b": 1}}, {"a": {"c": 2}}) == {"a": {"b": 1, "c": 2}}
    assert deep_merge({"a": {"b": 1}}, {"a": 5}) == {"a": 5}
    assert deep_merge({"a": 5}, {"a": {"b": 1}}) == {"a": {"b": 1}}


def test_unknown_option_lists_known_and_mentions_extra():
    with raises_validation() as exc:
        make_options({}, {"temprature": 0.5, "reasoning_effort": "low"})
    msg = str(exc.value)
    assert "reasoning_effort" in msg and "temprature" in msg
    for name in OPTION_NAMES:
        assert name in msg
    assert "extra" in msg
    # also from the defaults
    with raises_validation("bogus"):
        make_options({"bogus": 1}, {})


@pytest.mark.parametrize("value", [0, 0.0, 1, 2, 2.0, 0.7])
def test_temperature_ok(value):
    assert make_options({}, {"temperature": value}).temperature == value


@pytest.mark.parametrize("value", [-0.1, 2.01, 100, float("nan"), "0.5", True, [1], {"v": 1}])
def test_temperature_bad(value):
    with raises_validation("temperature"):
        make_options({}, {"temperature": value})


@pytest.mark.parametrize("value", [-0.1, 1.5, "1", False])
def test_top_p_bad(value):
    with raises_validation("top_p"):
        make_options({}, {"top_p": value})


@pytest.mark.parametrize("value", [0, -1, True, False, 1.5, 10.0, "100"])
def test_max_tokens_bad(value):
    with raises_validation("max_tokens"):
        make_options({}, {"max_tokens": value})


def test_max_tokens_ok():
    assert make_options({}, {"max_tokens": 1}).max_tokens == 1
    assert make_options({"max_tokens": 5}, {}).max_tokens == 5


@pytest.mark.parametrize("value", [1.5, "7", True])
def test_seed_bad(value):
    with raises_validation("seed"):
        make_options({}, {"seed": value})


@pytest.mark.parametrize("value", [0, -1, 0.0001, 86401, "10"])
def test_timeout_bad(value):
    with raises_validation("timeout"):
        make_options({}, {"timeout": value})


def test_stop_forms():
    assert make_options({}, {"stop": "END"}).stop == ["END"]
    assert make_options({}, {"stop": ("a", "b")}).stop == ["a", "b"]
    assert make_options({}, {"stop": ["a"]}).stop == ["a"]
    assert make_options({}, {"stop": []}).stop == []


@pytest.mark.parametrize("value", [5, ["a", 1], {"a": 1}, b"x"])
def test_stop_bad(value):
    with raises_validation("stop"):
        make_options({}, {"stop": value})


@pytest.mark.parametrize("value", [[1], "x", 5])
def test_extra_not_a_dict(value):
    with raises_validation("extra"):
        make_options({}, {"extra": value})


def test_extra_not_a_dict_with_default_extra():
    with raises_validation("extra"):
        make_options({"extra": {"a": 1}}, {"extra": [1]})


def test_tools_coerced_and_unique():
    o = make_options({}, {"tools": [{"name": "a", "parameters": WEATHER}, Tool("b")],
                          "tool_choice": "a"})
    assert [t.name for t in o.tools] == ["a", "b"]
    assert all(isinstance(t, Tool) for t in o.tools)
    assert o.tool_choice == "a"


def test_tool_names_duplicate():
    with raises_validation("repeated: a"):
        make_options({}, {"tools": [Tool("a"), {"name": "a"}, Tool("b")]})


@pytest.mark.parametrize("tools", [5, Tool("a")])
def test_tools_not_a_list(tools):
    with raises_validation("tools"):
        make_options({}, {"tools": tools})


@pytest.mark.parametrize("choice", ["auto", "none", "required"])
def test_tool_choice_keywords(choice):
    assert make_options({}, {"tool_choice": choice}).tool_choice == choice


@pytest.mark.parametrize("call", [
    {"tool_choice": "get_weather"},                                   # no tools at all
    {"tool_choice": "other", "tools": [Tool("get_weather")]},         # unknown name
    {"tool_choice": "", "tools": [Tool("get_weather")]},
    {"tool_choice": {"type": "function", "function": {"name": "get_weather"}}, "tools": [Tool("get_weather")]},
])
def test_tool_choice_bad(call):
    with raises_validation("tool_choice"):
        make_options({}, call)


def test_tool_choice_name_from_default_tools():
    o = make_options({"tools": [Tool("get_weather")]}, {"tool_choice": "get_weather"})
    assert o.tool_choice == "get_weather"


# -- to_messages -----------------------------------------------------------------------------

def test_str_and_message():
    assert to_messages("hi") == [Message("user", "hi")]
    m = Message("system", "be brief")
    assert to_messages(m) == [m]
    assert to_messages([m, "q"]) == [m, Message("user", "q")]
    assert to_messages(("q",)) == [Message("user", "q")]


def test_openai_user_with_text_and_image_url():
    msgs = to_messages([{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}},
        {"type": "image_url", "image_url": "data:image/png;base64,iVBORw0KGgo="},
    ]}])
    assert len(msgs) == 1
    m = msgs[0]
    assert m.role == "user"
    assert m.content == [TextPart("What is this?"),
                         ImagePart(url="https://example.com/cat.png", detail="low"),
                         ImagePart(data="iVBORw0KGgo=", media_type="image/png")]


def test_openai_system_and_plain_dicts():
    msgs = to_messages({"role": "system", "content": "rules", "name": "boss"})
    assert msgs == [Message("system", "rules", name="boss")]
    assert to_messages([{"role": "assistant", "content": None}]) == [Message("assistant", "")]


def test_openai_assistant_with_tool_calls():
    m = to_messages({"role": "assistant", "content": "Let me check.", "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
        {"id": "call_2", "type": "function", "function": {"name": "noop", "arguments": ""}},
        {"id": "call_3", "type": "function", "function": {"name": "obj", "arguments": {"x": 1}}},
    ]})[0]
    assert m.role == "assistant"
    assert m.text == "Let me check."
    calls = m.tool_calls
    assert [(c.id, c.name, c.arguments) for c in calls] == [
        ("call_1", "get_weather", {"city": "Paris"}), ("call_2", "noop", {}), ("call_3", "obj", {"x": 1})]
    assert calls[0].raw_arguments == '{"city": "Paris"}'
    assert calls[0].arguments_json() == '{"city": "Paris"}'
    assert calls[2].raw_arguments is None


def test_openai_assistant_tool_calls_without_content():
    m = to_messages({"role": "assistant", "content": None, "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]})[0]
    assert m.content == [ToolCall("c", "f", {})]
    assert m.text == ""


def test_openai_tool_message():
    m = to_messages({"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 21}', "name": "get_weather"})[0]
    assert m.role == "tool"
    assert m.content == [ToolResult("call_1", '{"temp": 21}', name="get_weather")]
    m = to_messages({"role": "tool", "tool_call_id": "c", "content": [{"type": "text", "text": "a"},
                                                                      {"type": "text", "text": "b"}]})[0]
    assert m.content[0].content == "ab"
    m = to_messages({"role": "tool", "tool_call_id": "c", "content": None})[0]
    assert m.content[0].content == ""


def test_roundtrip_of_thinking_and_image_parts():
    m = to_messages({"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm", "signature": "s"},
                                                      {"type": "text", "text": "ok"}]})[0]
    assert m.content == [ThinkingPart("hmm", signature="s"), TextPart("ok")]
    m = to_messages({"role": "user", "content": [{"type": "image", "data": "AAAA", "media_type": "image/jpeg"}]})[0]
    assert m.content == [ImagePart(data="AAAA", media_type="image/jpeg")]


@pytest.mark.parametrize("bad, match", [
    ({"role": "wizard", "content": "hi"}, "role"),
    ({"content": "hi"}, "role"),
    ({"role": "tool", "content": "42"}, "tool_call_id"),
    ({"role": "user", "content": [{"type": "image_url", "image_url": {}}]}, "url"),
    ({"role": "user", "content": [{"type": "image_url"}]}, "image_url"),
    ({"role": "user", "content": ["just a string"]}, "parts"),
    ({"role": "user", "content": [{"type": "audio", "data": "x"}]}, "audio"),
    ({"role": "user", "content": 42}, "content"),
    ({"role": "user", "content": [{"type": "text", "text": 5}]}, "TextPart"),
    ({"role": "user", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{}"}}]}, "assistant"),
    ({"role": "assistant", "tool_calls": [{"id": "c7", "function": {"name": "f", "arguments": "{oops"}}]},
     "c7.*not valid JSON"),
    ({"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "[1, 2]"}}]},
     "dict"),
    ({"role": "assistant", "tool_calls": [{"id": "c", "function": {"arguments": "{}"}}]}, "name"),
])
def test_invalid_dicts(bad, match):
    with raises_validation(match):
        to_messages([bad])


@pytest.mark.parametrize("bad", [[], (), None, 42, b"hi", [42], [None]])
def test_invalid_inputs(bad):
    with raises_validation():
        to_messages(bad)


def test_empty_list_message_is_helpful():
    with raises_validation("empty"):
        to_messages([])


@pytest.mark.parametrize("bad", [
    {"role": "assistant", "tool_calls": ["call_1"]},
    {"role": "assistant", "tool_calls": [{"id": "c", "function": "get_weather"}]},
])
def test_tool_call_entries_of_wrong_type(bad):
    with raises_validation():
        to_messages([bad])


def test_image_url_not_a_string():
    with raises_validation():
        to_messages({"role": "user", "content": [{"type": "image_url", "image_url": {"url": 5}}]})


# -- to_tool ---------------------------------------------------------------------------------

def test_to_tool_openai_form():
    t = to_tool({"type": "function", "function": {"name": "get_weather", "description": "Weather",
                                                  "parameters": WEATHER}})
    assert t == Tool("get_weather", "Weather", WEATHER)


def test_to_tool_plain_and_anthropic_forms():
    assert to_tool({"name": "get_weather", "description": "Weather", "parameters": WEATHER}) == \
        Tool("get_weather", "Weather", WEATHER)
    assert to_tool({"name": "get_weather", "input_schema": WEATHER}) == Tool("get_weather", "", WEATHER)
    t = to_tool({"name": "ping"})
    assert t == Tool("ping", "", {"type": "object", "properties": {}})


def test_to_tool_copies_parameters():
    params = {"type": "object", "properties": {}}
    t = to_tool({"name": "x", "parameters": params})
    assert t.parameters == params and t.parameters is not params


def test_to_tool_passthrough_and_decorated_function():
    tool = Tool("a", "A")
    assert to_tool(tool) is tool

    def fn():
        pass
    fn.__llm_tool__ = tool
    assert to_tool(fn) is tool


@pytest.mark.parametrize("bad", [
    {"description": "no name"}, {"type": "function", "function": {"description": "no name"}},
    {"type": "function"}, "get_weather", 5, None, lambda: None,
])
def test_to_tool_bad(bad):
    with raises_validation("tool"):
        to_tool(bad)


@pytest.mark.parametrize("params", [5, "not a schema", [["type", "object"]]])
def test_to_tool_parameters_not_a_dict(params):
    with raises_validation("parameters"):
        to_tool({"name": "x", "parameters": params})
