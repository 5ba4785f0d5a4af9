"""Token counters (llmunified/_tokens.py): the estimate per family, the tiktoken path (with a
fake ``tiktoken`` module, never the real one), user functions, and choosing a counter.

Expected counts are worked out by hand from the documented constants:
tokens = ceil(per_message + chars / chars_per_token + extra UTF-8 bytes * non_ascii + ...).
"""
import sys
import types

import pytest

from llmunified._history import History
from llmunified._tokens import (FAMILIES, EstimateCounter, FunctionCounter, TiktokenCounter, TokenCounter,
                                as_counter, counter_for, encoding_for, family_for, prompt_overhead,
                                tiktoken_available, tools_tokens)
from llmunified._types import (ImagePart, Message, TextPart, ThinkingPart, Tool, ToolCall, assistant, system,
                               tool_result, user)
from llmunified.errors import ConfigurationError, ValidationError

HELLO = "Hello world, how are you?"  # 25 characters


@pytest.fixture
def no_tiktoken(monkeypatch):
    """Make ``import tiktoken`` fail, whatever is installed."""
    monkeypatch.setitem(sys.modules, "tiktoken", None)


class FakeEncoding:
    """A stand-in tokenizer: one token per whitespace-separated word."""

    def __init__(self, name, log):
        self.name = name
        self.log = log

    def encode_ordinary(self, text):
        self.log.append(("encode", text))
        return text.split()

    def encode(self, text, **kw):  # pragma: no cover - the counter must use encode_ordinary
        raise AssertionError("encode() refuses special tokens by default; use encode_ordinary")


def make_fake_tiktoken(known=None, fail=None):
    log = []
    mod = types.ModuleType("tiktoken")
    known = known or {}

    def get_encoding(name):
        log.append(("get_encoding", name))
        if fail:
            raise fail
        return FakeEncoding(name, log)

    def encoding_for_model(model):
        log.append(("encoding_for_model", model))
        if model not in known:
            raise KeyError(f"Could not automatically map {model} to a tokeniser.")
        return get_encoding(known[model])

    mod.get_encoding = get_encoding
    mod.encoding_for_model = encoding_for_model
    mod.log = log
    return mod


@pytest.fixture
def fake_tiktoken(monkeypatch):
    mod = make_fake_tiktoken(known={"gpt-4o-mini": "o200k_base", "gpt-4": "cl100k_base"})
    monkeypatch.setitem(sys.modules, "tiktoken", mod)
    return mod


# -- the estimate -----------------------------------------------------------------------------

def test_estimate_is_labelled():
    for fam in FAMILIES:
        c = EstimateCounter(fam)
        assert c.estimated is True
        assert c.name == "estimate:" + fam
        assert isinstance(c, TokenCounter)
        assert fam in repr(c)


def test_family_aliases_and_unknown():
    assert EstimateCounter("ollama").family is FAMILIES["llama"]
    assert EstimateCounter("claude").family is FAMILIES["anthropic"]
    with pytest.raises(ConfigurationError, match="unknown token-estimate family 'gemini'.*openai"):
        EstimateCounter("gemini")
    with pytest.raises(ConfigurationError):
        EstimateCounter(None)
    with pytest.raises(ConfigurationError, match="thinking"):
        EstimateCounter("openai", thinking="some")


@pytest.mark.parametrize("family, expected", [
    ("openai", 10),     # 3 + 25/4 = 9.25
    ("anthropic", 11),  # 3 + 25/3.5 = 10.14
    ("llama", 13),      # 5 + 25/3.5 = 12.14
    ("deepseek", 11),   # 3 + 25*0.3 = 10.5
    ("default", 12),    # 4 + 25/3.5 = 11.14
])
def test_plain_text(family, expected):
    assert EstimateCounter(family).count(user(HELLO)) == expected


def test_empty_message_costs_the_framing():
    assert EstimateCounter("openai").count(user("")) == 3
    assert EstimateCounter("llama").count(assistant([])) == 5


def test_name_adds_tokens():
    # 3 + 1 (name) + 5/4 ("alice") + 25/4 = 11.5
    assert EstimateCounter("openai").count(Message("user", HELLO, name="alice")) == 12


def test_non_ascii_costs_more():
    c = EstimateCounter("openai")
    # 4 CJK characters: 4/4 + 4 * 2 extra bytes * 0.375 = 4, + 3 framing
    assert c.count(user("你好世界")) == 7
    # 4 Cyrillic characters: 4/4 + 4 * 1 * 0.375 = 2.5, + 3
    assert c.count(user("мама")) == 6
    # DeepSeek: a Chinese character ~ 0.6 token: 4*0.3 + 8*0.15 = 2.4, + 3
    assert EstimateCounter("deepseek").count(user("你好世界")) == 6
    # a lone surrogate must not crash the count
    assert c.count(user("a\ud800b")) > 3


def test_parts_add_up():
    c = EstimateCounter("openai")
    parts = user([TextPart("abcd" * 5), TextPart("abcd")])  # 24 chars
    assert c.count(parts) == 3 + 6


def test_images_have_a_fixed_cost():
    url = ImagePart(url="https://example.com/a.png")
    assert EstimateCounter("openai").count(user([url])) == 3 + 765
    assert EstimateCounter("openai").count(user([ImagePart(url="https://e/a.png", detail="low")])) == 3 + 85
    assert EstimateCounter("anthropic").count(user([url])) == 3 + 1600
    assert EstimateCounter("llama").count(user([url])) == 5 + 576
    assert EstimateCounter("default").count(user([url, url])) == 4 + 2000
    data = ImagePart(data="iVBORw0KGgo" * 1000, media_type="image/png")
    assert EstimateCounter("openai").count(user([data])) == 3 + 765  # by reference, not by size


def test_tool_calls_and_results():
    c = EstimateCounter("openai")
    call = ToolCall("call_1", "get_weather", {"city": "Paris"})  # args JSON {"city":"Paris"}: 16 chars
    # 3 + 8 + 11/4 (name) + 16/(4*0.8)=5 -> 18.75
    assert c.count(assistant("", tool_calls=[call])) == 19
    # raw_arguments as sent by the provider are what is counted
    raw = ToolCall("call_1", "get_weather", {"city": "Paris"}, raw_arguments='{"city": "Paris"}')  # 17 chars
    assert c.count(assistant("", tool_calls=[raw])) == 20  # 3 + 8 + 2.75 + 5.3125
    # a tool result pays the message framing itself (one wire message per result)
    # 3 + 8 + 4/3.2 ("22C.") = 12.25
    assert c.count(tool_result("call_1", "22C.")) == 13
    # JSON content is serialised compactly: {"t":22} = 8 chars -> 2.5
    assert c.count(tool_result("call_1", {"t": 22})) == 14
    two = Message("tool", [tool_result("a", "x").content[0], tool_result("b", "y").content[0]])
    assert c.count(two) == 2 * 11 + 1  # 2 * (3 + 8 + 1/3.2)


def test_unserialisable_tool_content_still_counts():
    loop = []
    loop.append(loop)
    assert EstimateCounter("openai").count(tool_result("c", loop)) > 11
    assert EstimateCounter("openai").count(tool_result("c", {1, 2})) > 11


def test_thinking_counts_only_where_it_is_sent_back():
    signed = ThinkingPart("x" * 35, signature="sig")
    unsigned = ThinkingPart("x" * 35)
    redacted = ThinkingPart("", redacted=True, data="d" * 70)
    msg = lambda p: assistant([p, TextPart("")])  # noqa: E731
    # OpenAI codec never sends reasoning back
    assert EstimateCounter("openai").count(msg(signed)) == 3
    # Anthropic: signed and redacted blocks go back, unsigned ones are dropped by the codec
    assert EstimateCounter("anthropic").count(msg(signed)) == 3 + 10
    assert EstimateCounter("anthropic").count(msg(unsigned)) == 3
    assert EstimateCounter("anthropic").count(msg(redacted)) == 3 + 20
    # Ollama sends the text of every block
    assert EstimateCounter("llama").count(msg(unsigned)) == 5 + 10
    assert EstimateCounter("llama").count(msg(redacted)) == 5
    # override
    assert EstimateCounter("openai", thinking="all").count(msg(unsigned)) == 3 + 9


def test_count_text():
    assert EstimateCounter("openai").count_text("abcdefgh") == 2
    assert EstimateCounter("openai").count_text("") == 0


def test_longer_text_never_costs_less():
    c = EstimateCounter("anthropic")
    counts = [c.count(user("word " * n)) for n in range(200)]
    assert counts == sorted(counts)


# -- tools and request overhead -----------------------------------------------------------------

WEATHER = Tool("get_weather", "Weather for a city", {"type": "object", "properties": {"city": {"type": "string"}}})


def test_tools_tokens():
    c = EstimateCounter("openai")
    assert tools_tokens(c, []) == 0
    assert tools_tokens(c, None) == 0
    one = tools_tokens(c, [WEATHER])
    assert one > 10
    assert tools_tokens(c, [WEATHER, WEATHER]) > one
    # Anthropic's hidden tool-use system prompt
    assert tools_tokens(EstimateCounter("anthropic"), [WEATHER]) > 346
    assert tools_tokens(EstimateCounter("anthropic"), []) == 0


def test_prompt_overhead():
    assert prompt_overhead(EstimateCounter("openai")) == 3  # reply priming
    assert prompt_overhead(EstimateCounter("anthropic")) == 0
    assert prompt_overhead(EstimateCounter("openai"), [WEATHER]) == 3 + tools_tokens(EstimateCounter("openai"),
                                                                                   [WEATHER])
    assert prompt_overhead(FunctionCounter(lambda m: 1)) == 0
    assert prompt_overhead(FunctionCounter(lambda m: 1), [WEATHER]) == 1


# -- choosing a counter ---------------------------------------------------------------------------

@pytest.mark.parametrize("provider, model, family", [
    ("openai", "gpt-4o-mini", "openai"),
    ("openai", "o3-mini", "openai"),
    ("openai", "ft:gpt-4o-mini:acme::abc", "openai"),
    ("openai", "some-new-model", "openai"),
    ("openai", "llama3.1:8b", "llama"),          # an OpenAI-compatible local server
    ("anthropic", "claude-sonnet-4-5", "anthropic"),
    ("anthropic", None, "anthropic"),
    ("ollama", "llama3.2", "llama"),
    ("ollama", "qwen2.5:7b", "llama"),
    ("ollama", "gpt-oss:20b", "openai"),         # o200k_harmony: tiktoken's o200k fits
    ("lmstudio", "anything", "llama"),
    ("groq", "llama-3.3-70b-versatile", "llama"),
    ("together", "unknown", "llama"),
    ("openrouter", "openai/gpt-4o", "openai"),
    ("openrouter", "anthropic/claude-3.5-sonnet", "anthropic"),
    ("openrouter", "meta-llama/llama-3-70b-instruct", "llama"),
    ("openrouter", "deepseek/deepseek-chat", "deepseek"),
    ("deepseek", "deepseek-chat", "deepseek"),
    ("vllm", "mistralai/Mistral-7B-Instruct", "llama"),
    ("somewhere", "mystery", "default"),
    (None, None, "default"),
])
def test_family_for(provider, model, family):
    assert family_for(provider, model) == family


@pytest.mark.parametrize("model, encoding", [
    ("gpt-4o", "o200k_base"), ("gpt-4o-mini-2024-07-18", "o200k_base"), ("gpt-4.1-nano", "o200k_base"),
    ("gpt-5", "o200k_base"), ("o1", "o200k_base"), ("o3-mini", "o200k_base"), ("o4-mini", "o200k_base"),
    ("chatgpt-4o-latest", "o200k_base"), ("gpt-4", "cl100k_base"), ("gpt-4-turbo", "cl100k_base"),
    ("gpt-3.5-turbo", "cl100k_base"), ("text-embedding-3-small", "cl100k_base"),
    ("ft:gpt-3.5-turbo:acme::x", "cl100k_base"), ("openai/gpt-4", "cl100k_base"), ("future-model", "o200k_base"),
    (None, "o200k_base"),
])
def test_encoding_for(model, encoding):
    assert encoding_for(model) == encoding


def test_counter_for_without_tiktoken(no_tiktoken):
    assert tiktoken_available() is False
    c = counter_for("openai", "gpt-4o-mini")
    assert isinstance(c, EstimateCounter) and c.name == "estimate:openai" and c.thinking == "none"
    assert counter_for("anthropic", "claude-x").thinking == "signed"
    assert counter_for("ollama", "llama3").thinking == "all"
    assert counter_for("groq", "llama3").thinking == "none"  # OpenAI codec: reasoning is not sent
    assert counter_for("unknown-provider", "x").name == "estimate:default"


def test_counter_for_with_tiktoken(fake_tiktoken):
    assert tiktoken_available() is True
    c = counter_for("openai", "gpt-4o-mini")
    assert isinstance(c, TiktokenCounter)
    assert fake_tiktoken.log == []  # lazy: nothing loaded until needed
    assert c.estimated is False
    assert c.name == "tiktoken:o200k_base"
    assert isinstance(counter_for("anthropic", "claude-x"), EstimateCounter)  # tiktoken is for OpenAI models
    assert isinstance(counter_for("openrouter", "openai/gpt-4o"), TiktokenCounter)


def test_tiktoken_counts(fake_tiktoken):
    c = TiktokenCounter("gpt-4o-mini")
    assert c.count(user("one two three")) == 3 + 3
    assert ("encoding_for_model", "gpt-4o-mini") in fake_tiktoken.log
    # special-token text is ordinary text (encode_ordinary)
    assert c.count(user("hi <|endoftext|>")) == 3 + 2
    assert c.count(Message("user", "a b", name="bob")) == 3 + 1 + 1 + 2
    call = ToolCall("c1", "get weather", {}, raw_arguments='{"a": 1}')  # name 2 words, args 2 words
    assert c.count(assistant("", tool_calls=[call])) == 3 + 8 + 2 + 2
    assert c.count(tool_result("c1", "sunny and warm")) == 3 + 8 + 3
    assert c.count(user([ImagePart(url="https://e/a.png")])) == 3 + 765
    assert c.count(assistant([ThinkingPart("lots of thought", signature="s"), TextPart("ok")])) == 3 + 1
    assert "gpt-4o-mini" in repr(c)


def test_tiktoken_model_unknown_to_tiktoken_uses_our_table(fake_tiktoken):
    c = TiktokenCounter("gpt-4-0613-preview-x")
    assert c.name == "tiktoken:cl100k_base"
    assert ("get_encoding", "cl100k_base") in fake_tiktoken.log
    c2 = TiktokenCounter(encoding="cl100k_base")
    assert c2.name == "tiktoken:cl100k_base"


def test_tiktoken_counts_once_per_message_in_history(fake_tiktoken):
    h = History(TiktokenCounter("gpt-4o"), [user("a b c"), assistant("d e")])
    assert h.token_count == 6 + 5
    encodes = [e for e in fake_tiktoken.log if e[0] == "encode"]
    assert len(encodes) == 2
    _ = h.token_count
    assert len([e for e in fake_tiktoken.log if e[0] == "encode"]) == 2
    sel = h.select(100)
    assert sel.estimated is False and h.correct(sel, 50) is None  # exact counts are not rescaled


def test_tiktoken_load_failure_falls_back(monkeypatch):
    mod = make_fake_tiktoken(fail=OSError("cannot download o200k_base.tiktoken"))
    monkeypatch.setitem(sys.modules, "tiktoken", mod)
    c = TiktokenCounter("gpt-4o")
    assert c.estimated is True
    assert "unavailable" in c.name
    assert "cannot download" in c.error
    assert c.count(user(HELLO)) == EstimateCounter("openai").count(user(HELLO))


def test_tiktoken_not_installed_falls_back(no_tiktoken):
    c = TiktokenCounter("gpt-4o")
    assert c.count(user(HELLO)) == 10
    assert c.estimated is True and "tiktoken" in c.error and c.name.startswith("estimate:openai")


def test_tiktoken_bad_thinking_mode():
    with pytest.raises(ConfigurationError):
        TiktokenCounter("gpt-4o", thinking="maybe")


def test_tiktoken_not_imported_by_the_package():
    import subprocess
    code = ("import sys, llmunified, llmunified._tokens as t, llmunified._history; "
            "t.counter_for('openai', 'gpt-4o'); assert 'tiktoken' not in sys.modules, 'imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- user functions -------------------------------------------------------------------------------

def test_function_counter():
    def my_count(message):
        return len(message.text)

    c = as_counter(my_count)
    assert isinstance(c, FunctionCounter)
    assert c.estimated is False and "my_count" in c.name
    assert c.count(user("abc")) == 3
    assert FunctionCounter(lambda m: 1.2).count(user("")) == 2
    assert FunctionCounter(my_count, estimated=True, name="mine").estimated is True
    assert "mine" in repr(FunctionCounter(my_count, name="mine"))


@pytest.mark.parametrize("bad", [-1, "3", None, True, float("nan"), float("inf"), [1]])
def test_function_counter_bad_results(bad):
    with pytest.raises(ValidationError, match="token counter"):
        FunctionCounter(lambda m: bad).count(user("x"))


def test_as_counter():
    est = EstimateCounter("openai")
    assert as_counter(est) is est
    assert isinstance(as_counter(None, "anthropic", "claude"), EstimateCounter)
    assert as_counter(None, "anthropic").name == "estimate:anthropic"
    with pytest.raises(ConfigurationError, match="token_counter"):
        as_counter(42)
    with pytest.raises(ConfigurationError):
        FunctionCounter("not callable")


def test_history_with_function_counter():
    h = History(as_counter(lambda m: 7), [system("s"), user("u")])
    assert h.token_count == 14 and h.estimated is False
