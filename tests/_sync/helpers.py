"""Shared pieces of the behaviour tests (generated into tests/_async/helpers.py).

What differs between wire protocols is a row of :data:`EXPECT`, not a branch in a test: a new
provider adds its name to :data:`PROVIDERS` and one :class:`Expect` row.
"""
import asyncio
import os
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

import llmunified as llm
from llmunified._twin import io
from llmunified import errors

PROVIDERS = ["openai", "anthropic", "ollama", "lmstudio", "gemini", "vertex", "vertex-claude", "cohere", "azure"]
SECRET = "sk-test-SECRET-0123456789"

WEATHER = llm.Tool("get_weather", "Current weather for a city.", {
    "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    "required": ["city"]})


class Expect:
    """How one provider's wire carries what the behaviour tests check."""

    def __init__(self, *, key_header: Tuple[str, str],
                 sampling: Callable[[Dict[str, Any]], Tuple[Any, Any, Any, Any]],
                 tool_result_role: str, request_ids: bool, typed_stream_errors: bool,
                 thinking_text: bool, signed_thinking: bool, structured_by_tool: bool,
                 structured_request: Callable[[Dict[str, Any]], Tuple[Optional[str], Dict[str, Any]]],
                 broken_arguments_error: str, image: Callable[[], llm.ImagePart],
                 system: Callable[[Dict[str, Any]], Optional[str]],
                 turns: Callable[[Dict[str, Any]], List[Tuple[str, str]]],
                 tool_schemas: Callable[[Dict[str, Any]], List[Dict[str, Any]]],
                 extra: Tuple[Dict[str, Any], Callable[[Dict[str, Any]], Any], Any],
                 token_header: Optional[Tuple[str, str]] = None,
                 reasoning_wire: Callable[[Dict[str, Any]], Any] = lambda b: None,
                 reasoning_sent: Optional[Dict[Any, Any]] = None,
                 cache_marks: Callable[[Dict[str, Any]], List[str]] = lambda b: [],
                 usage_reports: Tuple[bool, bool, bool] = (True, True, True)) -> None:
        #: (header, value prefix) carrying the key
        self.key_header = key_header
        #: (header, value prefix) carrying a token from an ``api_key`` callable (default: the key's)
        self.token_header = token_header or key_header
        #: (temperature, max tokens, top_p, stop) read from a request body
        self.sampling = sampling
        #: the role a tool result message goes back with
        self.tool_result_role = tool_result_role
        #: the emulated provider sends request ids
        self.request_ids = request_ids
        #: an error event inside a 200 stream has a type the library maps to a class
        self.typed_stream_errors = typed_stream_errors
        #: thinking text travels on this wire
        self.thinking_text = thinking_text
        #: thinking carries a signature that must go back unchanged
        self.signed_thinking = signed_thinking
        #: structured output comes back as a forced tool call (else as text)
        self.structured_by_tool = structured_by_tool
        #: (the output's name where the wire carries one, the JSON Schema) of a structured-output
        #: request, read from its body
        self.structured_request = structured_request
        #: what the model is told when its tool arguments are not even a JSON object
        self.broken_arguments_error = broken_arguments_error
        #: an image this provider accepts in a user turn
        self.image = image
        #: the system prompt as sent when it travels outside the turns (None otherwise)
        self.system = system
        #: (wire role, text) of each turn sent
        self.turns = turns
        #: the JSON Schema of each tool declared in a request
        self.tool_schemas = tool_schemas
        #: (an ``extra`` the provider accepts, how to read it back from the body, what it reads)
        self.extra = extra
        #: the reasoning control as read from a request body (None when nothing was sent)
        self.reasoning_wire = reasoning_wire
        #: what ``reasoning_wire`` reads for each ``reasoning=`` value of the tests (None: unset)
        self.reasoning_sent = reasoning_sent or {}
        #: where a request body carries explicit prompt-cache breakpoints ([] on wires without them)
        self.cache_marks = cache_marks
        #: (cache read, cache write, reasoning tokens): the usage figures this wire reports
        self.usage_reports = usage_reports


def _openai_sampling(body: Dict[str, Any]) -> Tuple[Any, Any, Any, Any]:
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    return body["temperature"], limit, body["top_p"], body["stop"]


def _openai_structured(body: Dict[str, Any]) -> Tuple[Optional[str], Dict[str, Any]]:
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    return fmt["json_schema"]["name"], fmt["json_schema"]["schema"]


def _anthropic_structured(body: Dict[str, Any]) -> Tuple[Optional[str], Dict[str, Any]]:
    assert body["tool_choice"]["type"] == "tool"
    return body["tool_choice"]["name"], body["tools"][-1]["input_schema"]


def _gemini_structured(body: Dict[str, Any]) -> Tuple[Optional[str], Dict[str, Any]]:
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    return None, config.get("responseJsonSchema") or config["responseSchema"]


def _text_of(content: Any) -> str:
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if isinstance(b, dict))
    return content or ""


def _message_turns(body: Dict[str, Any]) -> List[Tuple[str, str]]:
    return [(m["role"], _text_of(m.get("content"))) for m in body["messages"]]


def _gemini_turns(body: Dict[str, Any]) -> List[Tuple[str, str]]:
    return [(c["role"], _text_of(c.get("parts"))) for c in body["contents"]]


def _gemini_system(body: Dict[str, Any]) -> Optional[str]:
    system = body.get("systemInstruction")
    return _text_of(system.get("parts")) if system else None


def _gemini_tool_schemas(body: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [d.get("parametersJsonSchema") or d["parameters"] for t in body["tools"]
            for d in t.get("functionDeclarations", ())]


_CUSTOM = ({"custom_field": {"a": 1}}, lambda b: b["custom_field"], {"a": 1})


def _anthropic_system(body: Dict[str, Any]) -> Optional[str]:
    # a string, or text blocks (one carrying cache_control with cache=...)
    return _text_of(body["system"]) if body.get("system") is not None else None


def _anthropic_cache_marks(body: Dict[str, Any]) -> List[str]:
    marks = ["system" for b in body.get("system") or () if isinstance(b, dict) and b.get("cache_control")]
    marks += ["tools[%d]" % i for i, t in enumerate(body.get("tools") or ()) if t.get("cache_control")]
    for i, m in enumerate(body["messages"]):
        if isinstance(m["content"], list):
            marks += ["messages[%d]" % i for b in m["content"] if b.get("cache_control")]
    return marks


def _url_image() -> llm.ImagePart:
    return llm.ImagePart(url="https://example.com/cat.png")


_OPENAI = Expect(
    key_header=("authorization", "Bearer "), sampling=_openai_sampling,
    tool_result_role="tool", request_ids=True, typed_stream_errors=False, thinking_text=False,
    signed_thinking=False, structured_by_tool=False, structured_request=_openai_structured,
    broken_arguments_error="not a valid JSON object", image=_url_image, system=lambda b: None,
    turns=_message_turns, tool_schemas=lambda b: [t["function"]["parameters"] for t in b["tools"]], extra=_CUSTOM)

EXPECT: Dict[str, Expect] = {
    "openai": _OPENAI,
    # Azure OpenAI: a key in api-key, a callable's Entra ID token as a bearer; request ids are
    # apim-request-id uuids (tests/_sync/test_azure.py checks them)
    "azure": Expect(**dict(vars(_OPENAI), key_header=("api-key", ""), token_header=("authorization", "Bearer "),
                           request_ids=False)),
    "lmstudio": _OPENAI,
    "anthropic": Expect(
        key_header=("x-api-key", ""),
        sampling=lambda b: (b["temperature"], b["max_tokens"], b["top_p"], b["stop_sequences"]),
        tool_result_role="user", request_ids=True, typed_stream_errors=True, thinking_text=True,
        signed_thinking=True, structured_by_tool=True, structured_request=_anthropic_structured,
        # Anthropic's wire carries arguments as an object: there is no broken JSON text to report
        broken_arguments_error="'city' is a required property", image=_url_image,
        system=_anthropic_system, turns=_message_turns,
        tool_schemas=lambda b: [t["input_schema"] for t in b["tools"]], extra=_CUSTOM),
    "ollama": Expect(
        key_header=("authorization", "Bearer "),
        sampling=lambda b: (b["options"]["temperature"], b["options"]["num_predict"], b["options"]["top_p"],
                            b["options"]["stop"]),
        tool_result_role="tool", request_ids=False, typed_stream_errors=False, thinking_text=True,
        signed_thinking=False, structured_by_tool=False, structured_request=lambda b: (None, b["format"]),
        broken_arguments_error="not a valid JSON object",
        # Ollama takes images as base64 only, no URLs
        image=lambda: llm.ImagePart(data="iVBORw0KGgo=", media_type="image/png"), system=lambda b: None,
        turns=_message_turns, tool_schemas=lambda b: [t["function"]["parameters"] for t in b["tools"]],
        extra=_CUSTOM),
    "gemini": Expect(
        key_header=("x-goog-api-key", ""),
        sampling=lambda b: (b["generationConfig"]["temperature"], b["generationConfig"]["maxOutputTokens"],
                            b["generationConfig"]["topP"], b["generationConfig"]["stopSequences"]),
        tool_result_role="user", request_ids=False, typed_stream_errors=False, thinking_text=True,
        signed_thinking=True, structured_by_tool=False, structured_request=_gemini_structured,
        # Gemini's wire carries arguments as an object: there is no broken JSON text to report
        broken_arguments_error="'city' is a required property",
        image=lambda: llm.ImagePart(data="iVBORw0KGgo=", media_type="image/png"), system=_gemini_system,
        turns=_gemini_turns, tool_schemas=_gemini_tool_schemas,
        # Gemini refuses unknown fields: an extra it knows, merged into generationConfig
        extra=({"generationConfig": {"topK": 7}}, lambda b: (b["generationConfig"]["topK"],
                                                             b["generationConfig"]["temperature"]), (7, 0.3))),
}
# Cohere v2: OpenAI-like messages, its own names for sampling, tools and structured output
EXPECT["cohere"] = Expect(
    key_header=("authorization", "Bearer "),
    sampling=lambda b: (b["temperature"], b["max_tokens"], b["p"], b["stop_sequences"]),
    tool_result_role="tool", request_ids=True, typed_stream_errors=False, thinking_text=True,
    signed_thinking=False, structured_by_tool=False,
    structured_request=lambda b: (None, b["response_format"]["json_schema"]),
    broken_arguments_error="not a valid JSON object", image=_url_image, system=lambda b: None,
    turns=_message_turns, tool_schemas=lambda b: [t["function"]["parameters"] for t in b["tools"]],
    # Cohere refuses unknown fields (422): an extra it knows
    extra=({"k": 7}, lambda b: (b["k"], b["temperature"]), (7, 0.3)))
# Vertex AI: Gemini and Claude models behind Google Cloud's bearer token, same bodies otherwise
EXPECT["vertex"] = Expect(**dict(vars(EXPECT["gemini"]), key_header=("authorization", "Bearer "), token_header=None))
# (Google's front end answers some errors itself, without Anthropic's request ids)
EXPECT["vertex-claude"] = Expect(**dict(vars(EXPECT["anthropic"]), key_header=("authorization", "Bearer "),
                                        token_header=None, request_ids=False))

# How reasoning= and cache= travel (issue 15 §3-4): the reasoning values the tests use, and what
# each wire carries for them (test-model names: Gemini gets budgets, Ollama an on/off switch).
_EFFORT = dict(reasoning_wire=lambda b: b.get("reasoning_effort"),
               reasoning_sent={"minimal": "minimal", "high": "high", 4096: "low", 20000: "high", False: None,
                               None: None})
_THINKING = dict(reasoning_wire=lambda b: (b.get("thinking"), b["max_tokens"]),
                 reasoning_sent={"minimal": ({"type": "enabled", "budget_tokens": 1024}, 1024 + 4096),
                                 "high": ({"type": "enabled", "budget_tokens": 24576}, 24576 + 4096),
                                 4096: ({"type": "enabled", "budget_tokens": 4096}, 4096 + 4096),
                                 20000: ({"type": "enabled", "budget_tokens": 20000}, 20000 + 4096),
                                 False: ({"type": "disabled"}, 4096), None: (None, 4096)},
                 cache_marks=_anthropic_cache_marks)
_THINKING_CONFIG = dict(
    reasoning_wire=lambda b: b.get("generationConfig", {}).get("thinkingConfig"),
    reasoning_sent={"minimal": {"thinkingBudget": 1024, "includeThoughts": True},
                    "high": {"thinkingBudget": 24576, "includeThoughts": True},
                    4096: {"thinkingBudget": 4096, "includeThoughts": True},
                    20000: {"thinkingBudget": 20000, "includeThoughts": True},
                    False: {"thinkingBudget": 0}, None: None},
    usage_reports=(True, False, True))
_ROWS = {
    "openai": _EFFORT, "azure": _EFFORT, "lmstudio": _EFFORT,
    "anthropic": _THINKING, "vertex-claude": _THINKING,
    "gemini": _THINKING_CONFIG, "vertex": _THINKING_CONFIG,
    "ollama": dict(reasoning_wire=lambda b: b.get("think"),
                   reasoning_sent={"minimal": True, "high": True, 4096: True, 20000: True, False: False,
                                   None: None},
                   usage_reports=(False, False, False)),
    "cohere": dict(reasoning_wire=lambda b: b.get("thinking"),
                   reasoning_sent={"minimal": {"type": "enabled", "token_budget": 1024},
                                   "high": {"type": "enabled", "token_budget": 24576},
                                   4096: {"type": "enabled", "token_budget": 4096},
                                   20000: {"type": "enabled", "token_budget": 20000},
                                   False: {"type": "disabled"}, None: None},
                   usage_reports=(True, False, False)),
}
EXPECT = {name: Expect(**dict(vars(row), **_ROWS.get(name, {}))) for name, row in EXPECT.items()}
assert set(EXPECT) == set(PROVIDERS)


@pytest.fixture(params=PROVIDERS)
def provider(request):
    return request.param


def expect(provider: str) -> Expect:
    return EXPECT[provider]


def settings(emulator, provider, **extra):
    """Client keyword arguments that point a client at the emulator."""
    values = {"base_url": emulator.url_for(provider_name(provider)), "api_key": SECRET, "max_retries": 0}
    values.update(provider_settings(provider))
    values.update(extra)
    return values


def provider_settings(provider):
    """The provider's own Client settings a test needs (Vertex's project)."""
    return {"project": "test-project"} if provider_name(provider) == "vertex" else {}


def provider_name(provider):
    """The library's provider name of a test provider (``vertex-claude`` is ``vertex``)."""
    return provider.partition("-")[0]


def model(provider):
    """``vertex-claude`` is the vertex provider with a Claude model (the publisher follows the name)."""
    return "vertex/claude-test-model" if provider == "vertex-claude" else provider + "/test-model"


def sent_roles(provider: str, body: Dict[str, Any]) -> List[str]:
    return [role for role, _ in expect(provider).turns(body)]


def stream_error_class(provider: str, typed: Optional[type]) -> type:
    """The error class an in-stream error of a typed kind surfaces as on this provider."""
    return typed if typed is not None and expect(provider).typed_stream_errors else errors.APIError


def without_asyncio_debug() -> Any:
    """The async twin runs its tests in asyncio's debug mode, whose bookkeeping of every
    coroutine would dominate a run of thousands of calls (time and memory): off for it, and the
    loop returned to turn it on again (None in the sync twin, which has no loop)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    loop.set_debug(False)
    return loop


def running_loop() -> Any:
    """The running event loop (the async twin's tests run in one), or None (the sync twin's)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


@io
def settled_requests(emulator: Any, quiet: float = 0.2, timeout: float = 5.0) -> int:
    """How many requests ``emulator`` recorded, once no new one has arrived for ``quiet``
    seconds: a request a client sent just before it stopped is recorded a moment later by the
    emulator's handler thread, so counting at once can miss it on a loaded machine."""
    deadline = time.monotonic() + timeout
    count = len(emulator.requests)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = len(emulator.requests)
        if now == count:
            break
        count = now
    return count


@io
def open_fds_settle(target: int, timeout: float = 5.0) -> int:
    """The number of this process's open file descriptors (``/proc/self/fd``), once it is down
    to ``target`` or ``timeout`` seconds have passed: a socket closed by the client is closed on
    the emulator's side a moment later (its handler thread), and the async twin's transports
    close on the loop's next turns."""
    deadline = time.monotonic() + timeout
    while True:
        count = len(os.listdir("/proc/self/fd"))
        if count <= target or time.monotonic() >= deadline:
            return count
        time.sleep(0.02)
