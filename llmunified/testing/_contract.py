"""Request checks: the emulator answers a request that the real service would refuse with the
real service's error status and shape. Each check returns a list of :class:`Violation`; the
first one is what the client gets back, all of them are recorded on the request.

The messages imitate the real APIs' wording where it is known (WIRE.md and the recordings)
and otherwise say plainly what is wrong.
"""
import re
from typing import Any, Dict, List, Mapping, Optional, Set

_OPENAI_ROLES = ("system", "developer", "user", "assistant", "tool")
_OPENAI_PART_TYPES = ("text", "image_url", "input_audio", "file", "refusal")
_ANTHROPIC_ROLES = ("user", "assistant")
_OLLAMA_ROLES = ("system", "user", "assistant", "tool")
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class Violation:
    """One broken rule: HTTP status plus the message/param/code/type to report."""

    __slots__ = ("status", "message", "param", "code", "type")

    def __init__(self, status: int, message: str, param: Optional[str] = None,
                 code: Optional[str] = None, type_: Optional[str] = None) -> None:
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.type = type_

    def __repr__(self) -> str:
        return "Violation(%d, %r)" % (self.status, self.message)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --------------------------------------------------------------------------------------------
# OpenAI
# --------------------------------------------------------------------------------------------

def openai_auth(headers: Mapping[str, str]) -> List[Violation]:
    auth = (headers.get("authorization") or "").strip()
    if not auth:
        return [Violation(
            401,
            "You didn't provide an API key. You need to provide your API key in an "
            "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            code=None, type_="invalid_request_error")]
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return [Violation(
            401,
            "Malformed Authorization header: expected 'Authorization: Bearer YOUR_KEY'.",
            code="invalid_api_key", type_="invalid_request_error")]
    return []


def _oai(message: str, param: Optional[str] = None, code: Optional[str] = None) -> Violation:
    return Violation(400, message, param, code, "invalid_request_error")


def _oai_missing(param: str) -> Violation:
    return _oai("Missing required parameter: '%s'." % param, param, "missing_required_parameter")


def _oai_type(param: str, expected: str, value: Any) -> Violation:
    return _oai("Invalid type for '%s': expected %s, but got %s instead."
                % (param, expected, _type_name(value)), param, "invalid_type")


def _oai_value(param: str, value: Any, supported: List[str]) -> Violation:
    quoted = ["'%s'" % s for s in supported]
    listing = ", ".join(quoted[:-1]) + ", and " + quoted[-1] if len(quoted) > 2 else " and ".join(quoted)
    return _oai("Invalid value: '%s'. Supported values are: %s." % (value, listing), param,
                "invalid_value")


def openai_chat(body: Any, json_error: Optional[str]) -> List[Violation]:
    if json_error is not None:
        return [_oai("We could not parse the JSON body of your request. (HINT: This likely means "
                     "you aren't using your HTTP library correctly. The OpenAI API expects a JSON "
                     "payload, but what was sent was not valid JSON. Parser said: %s)" % json_error)]
    if not isinstance(body, dict):
        return [_oai_type("body", "an object", body)]
    out: List[Violation] = []
    model = body.get("model")
    if not isinstance(model, str) or not model:
        out.append(_oai("you must provide a model parameter", "model"))
    out.extend(_openai_messages(body))
    out.extend(_openai_tools(body))
    stream = body.get("stream")
    if "stream" in body and stream is not None and not isinstance(stream, bool):
        out.append(_oai_type("stream", "a boolean", stream))
    if body.get("stream_options") is not None and stream is not True:
        out.append(_oai("The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                        "stream_options"))
    fmt = body.get("response_format")
    if fmt is not None:
        if not isinstance(fmt, dict):
            out.append(_oai_type("response_format", "an object", fmt))
        elif fmt.get("type") not in ("text", "json_object", "json_schema"):
            out.append(_oai_value("response_format.type", fmt.get("type"),
                                  ["text", "json_object", "json_schema"]))
        elif fmt.get("type") == "json_schema":
            schema = fmt.get("json_schema")
            if not isinstance(schema, dict):
                out.append(_oai_missing("response_format.json_schema"))
            elif not isinstance(schema.get("name"), str) or not schema.get("name"):
                out.append(_oai_missing("response_format.json_schema.name"))
    return out


def _openai_messages(body: Dict[str, Any]) -> List[Violation]:
    if "messages" not in body:
        return [_oai_missing("messages")]
    messages = body["messages"]
    if not isinstance(messages, list):
        return [_oai_type("messages", "an array", messages)]
    if not messages:
        return [_oai("Invalid 'messages': empty array. Expected an array with minimum length 1, "
                     "but got an empty array instead.", "messages", "empty_array")]
    out: List[Violation] = []
    open_calls: Optional[Dict[str, Any]] = None  # ids of the last assistant tool_calls -> index
    answered: Set[str] = set()
    open_at = -1

    def close_run() -> None:
        if open_calls is not None:
            missing = [cid for cid in open_calls if cid not in answered]
            if missing:
                out.append(_oai(
                    "An assistant message with 'tool_calls' must be followed by tool messages "
                    "responding to each 'tool_call_id'. The following tool_call_ids did not have "
                    "response messages: %s" % ", ".join(missing), "messages.[%d].role" % open_at))

    for i, msg in enumerate(messages):
        where = "messages[%d]" % i
        if not isinstance(msg, dict):
            out.append(_oai_type(where, "an object", msg))
            continue
        role = msg.get("role")
        if "role" not in msg:
            out.append(_oai_missing(where + ".role"))
            continue
        if role not in _OPENAI_ROLES:
            out.append(_oai_value(where + ".role", role, list(_OPENAI_ROLES)))
            continue
        if role != "tool":
            close_run()
            open_calls = None
        content = msg.get("content")
        if role in ("system", "developer", "user", "tool"):
            if "content" not in msg:
                out.append(_oai_missing(where + ".content"))
            elif not isinstance(content, (str, list)):
                out.append(_oai_type(where + ".content",
                                     "one of a string or array of objects", content))
            elif isinstance(content, list):
                out.extend(_openai_parts(where + ".content", content, role))
        if role == "assistant":
            calls = msg.get("tool_calls")
            if calls is not None and not isinstance(calls, list):
                out.append(_oai_type(where + ".tool_calls", "an array", calls))
                calls = None
            if content is None and not calls and msg.get("function_call") is None:
                out.append(_oai("Invalid value for 'content': expected a string, got null.",
                                where + ".content"))
            elif content is not None and not isinstance(content, (str, list)):
                out.append(_oai_type(where + ".content",
                                     "one of a string or array of objects", content))
            if calls:
                ids = _openai_tool_calls(where, calls, out)
                open_calls = dict.fromkeys(ids)
                answered = set()
                open_at = i
        elif role == "tool":
            call_id = msg.get("tool_call_id")
            if not isinstance(call_id, str) or not call_id:
                out.append(_oai("Missing parameter 'tool_call_id': messages with role 'tool' "
                                "must have a 'tool_call_id'.", where + ".tool_call_id"))
            elif open_calls is None:
                out.append(_oai("Invalid parameter: messages with role 'tool' must be a response "
                                "to a preceding message with 'tool_calls'.", where + ".role"))
            elif call_id not in open_calls:
                out.append(_oai("Invalid parameter: 'tool_call_id' of '%s' not found in "
                                "'tool_calls' of previous message." % call_id,
                                where + ".tool_call_id"))
            else:
                answered.add(call_id)
    close_run()
    return out


def _openai_parts(where: str, parts: List[Any], role: str) -> List[Violation]:
    out: List[Violation] = []
    allowed = list(_OPENAI_PART_TYPES) if role == "user" else ["text"]
    for j, part in enumerate(parts):
        at = "%s[%d]" % (where, j)
        if not isinstance(part, dict):
            out.append(_oai_type(at, "an object", part))
        elif "type" not in part:
            out.append(_oai_missing(at + ".type"))
        elif part["type"] not in allowed:
            out.append(_oai_value(at + ".type", part["type"], allowed))
        elif part["type"] == "text" and not isinstance(part.get("text"), str):
            out.append(_oai_missing(at + ".text"))
        elif part["type"] == "image_url":
            image = part.get("image_url")
            if not isinstance(image, dict) or not isinstance(image.get("url"), str):
                out.append(_oai_missing(at + ".image_url.url"))
    return out


def _openai_tool_calls(where: str, calls: List[Any], out: List[Violation]) -> List[str]:
    ids = []
    for j, call in enumerate(calls):
        at = "%s.tool_calls[%d]" % (where, j)
        if not isinstance(call, dict):
            out.append(_oai_type(at, "an object", call))
            continue
        if not isinstance(call.get("id"), str) or not call.get("id"):
            out.append(_oai_missing(at + ".id"))
        else:
            ids.append(call["id"])
        if call.get("type") != "function":
            if "type" not in call:
                out.append(_oai_missing(at + ".type"))
            else:
                out.append(_oai_value(at + ".type", call.get("type"), ["function"]))
        fn = call.get("function")
        if not isinstance(fn, dict):
            out.append(_oai_missing(at + ".function"))
            continue
        if not isinstance(fn.get("name"), str) or not fn.get("name"):
            out.append(_oai_missing(at + ".function.name"))
        if "arguments" not in fn:
            out.append(_oai_missing(at + ".function.arguments"))
        elif not isinstance(fn["arguments"], str):
            out.append(_oai_type(at + ".function.arguments", "a string", fn["arguments"]))
    return ids


def _openai_tools(body: Dict[str, Any]) -> List[Violation]:
    out: List[Violation] = []
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            return [_oai_type("tools", "an array", tools)]
        for i, tool in enumerate(tools):
            at = "tools[%d]" % i
            if not isinstance(tool, dict):
                out.append(_oai_type(at, "an object", tool))
                continue
            if "type" not in tool:
                out.append(_oai_missing(at + ".type"))
                continue
            if tool["type"] != "function":
                out.append(_oai_value(at + ".type", tool["type"], ["function", "custom"]))
                continue
            fn = tool.get("function")
            if not isinstance(fn, dict):
                out.append(_oai_missing(at + ".function"))
                continue
            name = fn.get("name")
            if not isinstance(name, str) or not name:
                out.append(_oai_missing(at + ".function.name"))
            elif not _TOOL_NAME.match(name):
                out.append(_oai("Invalid '%s.function.name': string does not match pattern. "
                                "Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'."
                                % at, at + ".function.name", "invalid_value"))
            params = fn.get("parameters")
            if params is not None and not isinstance(params, dict):
                out.append(_oai_type(at + ".function.parameters", "an object", params))
    choice = body.get("tool_choice")
    if choice is not None:
        if not tools:
            out.append(_oai("Invalid value for 'tool_choice': 'tool_choice' is only allowed when "
                            "'tools' are specified.", "tool_choice"))
        elif isinstance(choice, str):
            if choice not in ("none", "auto", "required"):
                out.append(_oai_value("tool_choice", choice, ["none", "auto", "required"]))
        elif isinstance(choice, dict):
            if choice.get("type") == "function":
                fn = choice.get("function")
                if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
                    out.append(_oai_missing("tool_choice.function.name"))
            elif choice.get("type") != "allowed_tools":
                out.append(_oai_value("tool_choice.type", choice.get("type"),
                                      ["function", "allowed_tools"]))
        else:
            out.append(_oai_type("tool_choice", "one of a string or object", choice))
    return out


# --------------------------------------------------------------------------------------------
# Anthropic
# --------------------------------------------------------------------------------------------

def _ant(message: str, status: int = 400, type_: str = "invalid_request_error") -> Violation:
    return Violation(status, message, type_=type_)


def anthropic_headers(headers: Mapping[str, str], require_auth: bool) -> List[Violation]:
    if require_auth:
        key = (headers.get("x-api-key") or "").strip()
        auth = (headers.get("authorization") or "").strip()
        bearer = auth.lower().startswith("bearer ") and auth[7:].strip()
        if not key and not bearer:
            return [_ant("x-api-key header is required", 401, "authentication_error")]
    if not (headers.get("anthropic-version") or "").strip():
        return [_ant("anthropic-version: header is required")]
    return []


def anthropic_messages(body: Any, json_error: Optional[str]) -> List[Violation]:
    if json_error is not None:
        return [_ant("There was an error parsing the body of your request: %s" % json_error)]
    if not isinstance(body, dict):
        return [_ant("body: Input should be a valid dictionary")]
    out: List[Violation] = []
    if not isinstance(body.get("model"), str) or not body.get("model"):
        out.append(_ant("model: Field required" if "model" not in body
                        else "model: Input should be a valid string"))
    max_tokens = body.get("max_tokens")
    if "max_tokens" not in body:
        out.append(_ant("max_tokens: Field required"))
    elif not _is_int(max_tokens):
        out.append(_ant("max_tokens: Input should be a valid integer"))
    elif max_tokens < 1:
        out.append(_ant("max_tokens: Input should be greater than or equal to 1"))
    out.extend(_anthropic_message_list(body))
    system = body.get("system")
    if system is not None and not isinstance(system, (str, list)):
        out.append(_ant("system: Input should be a valid string or a list of text blocks"))
    elif isinstance(system, list):
        for j, block in enumerate(system):
            if not isinstance(block, dict) or block.get("type") != "text" \
                    or not isinstance(block.get("text"), str):
                out.append(_ant("system.%d: Input should be a text block "
                                "({\"type\": \"text\", \"text\": ...})" % j))
    out.extend(_anthropic_tools(body))
    temperature = body.get("temperature")
    if temperature is not None:
        if not isinstance(temperature, (int, float)) or isinstance(temperature, bool):
            out.append(_ant("temperature: Input should be a valid number"))
        elif not 0 <= temperature <= 1:
            out.append(_ant("temperature: Input should be less than or equal to 1"
                            if temperature > 1 else
                            "temperature: Input should be greater than or equal to 0"))
    thinking = body.get("thinking")
    if thinking is not None:
        if not isinstance(thinking, dict) or thinking.get("type") not in (
                "enabled", "disabled", "adaptive"):
            out.append(_ant("thinking: Input tag '%s' found using 'type' does not match any of "
                            "the expected tags: 'enabled', 'disabled', 'adaptive'"
                            % (thinking.get("type") if isinstance(thinking, dict) else thinking)))
        elif thinking["type"] == "enabled":
            budget = thinking.get("budget_tokens")
            if not _is_int(budget):
                out.append(_ant("thinking.enabled.budget_tokens: Field required"
                                if budget is None else
                                "thinking.enabled.budget_tokens: Input should be a valid integer"))
            elif budget < 1024:
                out.append(_ant("thinking.enabled.budget_tokens: Input should be greater than "
                                "or equal to 1024"))
            elif _is_int(max_tokens) and max_tokens <= budget:
                out.append(_ant("`max_tokens` must be greater than `thinking.budget_tokens`."))
    if "stream" in body and not isinstance(body["stream"], bool):
        out.append(_ant("stream: Input should be a valid boolean"))
    return out


def _anthropic_message_list(body: Dict[str, Any]) -> List[Violation]:
    if "messages" not in body:
        return [_ant("messages: Field required")]
    messages = body["messages"]
    if not isinstance(messages, list):
        return [_ant("messages: Input should be a valid list")]
    if not messages:
        return [_ant("messages: at least one message is required")]
    out: List[Violation] = []
    prev_tool_ids: Optional[List[str]] = None  # tool_use ids of the previous assistant message
    for i, msg in enumerate(messages):
        where = "messages.%d" % i
        if not isinstance(msg, dict):
            out.append(_ant(where + ": Input should be a valid dictionary"))
            prev_tool_ids = None
            continue
        role = msg.get("role")
        if role == "system":
            out.append(_ant(where + ".role: Unexpected role \"system\". The Messages API accepts "
                            "a top-level `system` parameter, not \"system\" as an input message "
                            "role."))
            prev_tool_ids = None
            continue
        if role not in _ANTHROPIC_ROLES:
            out.append(_ant(where + ".role: Input should be 'user' or 'assistant'"))
            prev_tool_ids = None
            continue
        if i == 0 and role != "user":
            out.append(_ant(where + ".role: first message must use the \"user\" role"))
        if "content" not in msg:
            out.append(_ant(where + ".content: Field required"))
            prev_tool_ids = None
            continue
        content = msg["content"]
        last = i == len(messages) - 1
        if isinstance(content, str):
            if not content and not (last and role == "assistant"):
                out.append(_ant(where + ": all messages must have non-empty content except for "
                                "the optional final assistant message"))
            blocks: List[Any] = []
        elif isinstance(content, list):
            blocks = content
            if not blocks and not (last and role == "assistant"):
                out.append(_ant(where + ": all messages must have non-empty content except for "
                                "the optional final assistant message"))
        else:
            out.append(_ant(where + ".content: Input should be a valid list"))
            prev_tool_ids = None
            continue

        results: List[str] = []
        tool_ids: List[str] = []
        for j, block in enumerate(blocks):
            at = "%s.content.%d" % (where, j)
            if not isinstance(block, dict):
                out.append(_ant(at + ": Input should be a valid dictionary"))
                continue
            kind = block.get("type")
            if "type" not in block:
                out.append(_ant(at + ".type: Field required"))
            elif kind == "text":
                if not isinstance(block.get("text"), str):
                    out.append(_ant(at + ".text.text: Field required"))
            elif kind == "tool_use":
                if role != "assistant":
                    out.append(_ant(at + ": `tool_use` blocks can only be in `assistant` "
                                    "messages"))
                for key in ("id", "name"):
                    if not isinstance(block.get(key), str) or not block.get(key):
                        out.append(_ant(at + ".tool_use.%s: Field required" % key))
                if "input" not in block:
                    out.append(_ant(at + ".tool_use.input: Field required"))
                elif not isinstance(block["input"], dict):
                    out.append(_ant(at + ".tool_use.input: Input should be a valid dictionary"))
                if isinstance(block.get("id"), str):
                    tool_ids.append(block["id"])
            elif kind == "tool_result":
                if role != "user":
                    out.append(_ant(at + ": `tool_result` blocks can only be in `user` messages"))
                tid = block.get("tool_use_id")
                if not isinstance(tid, str) or not tid:
                    out.append(_ant(at + ".tool_result.tool_use_id: Field required"))
                    continue
                results.append(tid)
                if prev_tool_ids is None or tid not in prev_tool_ids:
                    out.append(_ant(
                        at + ": unexpected `tool_use_id` found in `tool_result` blocks: %s. "
                        "Each `tool_result` block must have a corresponding `tool_use` block in "
                        "the previous message." % tid))
                rc = block.get("content")
                if rc is not None and not isinstance(rc, (str, list)):
                    out.append(_ant(at + ".tool_result.content: Input should be a valid list"))
            elif kind == "thinking":
                if role != "assistant":
                    out.append(_ant(at + ": `thinking` blocks can only be in `assistant` messages"))
                if not isinstance(block.get("thinking"), str):
                    out.append(_ant(at + ".thinking.thinking: Field required"))
                if not isinstance(block.get("signature"), str) or not block.get("signature"):
                    out.append(_ant(at + ".thinking.signature: Field required"))
            elif kind == "redacted_thinking":
                if not isinstance(block.get("data"), str):
                    out.append(_ant(at + ".redacted_thinking.data: Field required"))
            elif kind == "image":
                source = block.get("source")
                if not isinstance(source, dict) or source.get("type") not in (
                        "base64", "url", "file"):
                    out.append(_ant(at + ".image.source: Input should be a valid dictionary "
                                    "with type 'base64', 'url' or 'file'"))
        if prev_tool_ids:
            missing = [t for t in prev_tool_ids if t not in results]
            if missing:
                out.append(_ant(
                    "messages.%d: `tool_use` ids were found without `tool_result` blocks "
                    "immediately after: %s. Each `tool_use` block must have a corresponding "
                    "`tool_result` block in the next message." % (i - 1, ", ".join(missing))))
        prev_tool_ids = tool_ids if role == "assistant" else None
    return out


def _anthropic_tools(body: Dict[str, Any]) -> List[Violation]:
    out: List[Violation] = []
    tools = body.get("tools")
    names: List[str] = []
    if tools is not None:
        if not isinstance(tools, list):
            return [_ant("tools: Input should be a valid list")]
        for i, tool in enumerate(tools):
            at = "tools.%d" % i
            if not isinstance(tool, dict):
                out.append(_ant(at + ": Input should be a valid dictionary"))
                continue
            if tool.get("type") not in (None, "custom"):
                # A server tool (web_search_..., bash_..., ...): only a name is needed.
                if not isinstance(tool.get("name"), str):
                    out.append(_ant(at + ".name: Field required"))
                continue
            name = tool.get("name")
            if not isinstance(name, str) or not name:
                out.append(_ant(at + ".custom.name: Field required"))
            elif not _TOOL_NAME.match(name):
                out.append(_ant(at + ".custom.name: String should match pattern "
                                "'^[a-zA-Z0-9_-]{1,64}$'"))
            else:
                names.append(name)
            schema = tool.get("input_schema")
            if "input_schema" not in tool:
                out.append(_ant(at + ".custom.input_schema: Field required"))
            elif not isinstance(schema, dict):
                out.append(_ant(at + ".custom.input_schema: Input should be a valid dictionary"))
            elif schema.get("type") != "object":
                out.append(_ant(at + ".custom.input_schema.type: Input should be 'object'"))
    choice = body.get("tool_choice")
    if choice is not None:
        if not isinstance(choice, dict):
            out.append(_ant("tool_choice: Input should be a valid dictionary"))
        elif choice.get("type") not in ("auto", "any", "tool", "none"):
            out.append(_ant("tool_choice: Input tag '%s' found using 'type' does not match any of "
                            "the expected tags: 'auto', 'any', 'tool', 'none'"
                            % choice.get("type")))
        elif choice["type"] == "tool" and not isinstance(choice.get("name"), str):
            out.append(_ant("tool_choice.tool.name: Field required"))
    return out


# --------------------------------------------------------------------------------------------
# Ollama
# --------------------------------------------------------------------------------------------

def _oll(message: str, status: int = 400) -> Violation:
    return Violation(status, message)


def _go_unmarshal(value: Any, field: str, go_type: str) -> Violation:
    kind = {"array": "array", "object": "object", "string": "string", "number": "number",
            "boolean": "bool", "null": "null"}.get(_type_name(value), _type_name(value))
    return _oll("json: cannot unmarshal %s into Go struct field %s of type %s"
                % (kind, field, go_type))


def ollama_chat(body: Any, json_error: Optional[str]) -> List[Violation]:
    if json_error is not None:
        return [_oll("invalid JSON in request body: %s" % json_error)]
    if not isinstance(body, dict):
        return [_go_unmarshal(body, "ChatRequest", "api.ChatRequest")]
    out: List[Violation] = []
    if not isinstance(body.get("model"), str) or not body.get("model"):
        out.append(_oll("model is required"))
    if "messages" not in body or body["messages"] is None:
        out.append(_oll("messages is required"))
    elif not isinstance(body["messages"], list):
        out.append(_go_unmarshal(body["messages"], "ChatRequest.messages", "[]api.Message"))
    else:
        for i, msg in enumerate(body["messages"]):
            if not isinstance(msg, dict):
                out.append(_go_unmarshal(msg, "ChatRequest.messages", "api.Message"))
                continue
            role = msg.get("role")
            if role not in _OLLAMA_ROLES:
                out.append(_oll("invalid role %r in messages[%d]: expected one of system, user, "
                                "assistant, tool" % (role, i)))
            content = msg.get("content")
            if content is not None and not isinstance(content, str):
                out.append(_go_unmarshal(content, "Message.messages.content", "string"))
            images = msg.get("images")
            if images is not None and (not isinstance(images, list)
                                       or not all(isinstance(x, str) for x in images)):
                out.append(_go_unmarshal(images, "Message.messages.images", "[]api.ImageData"))
            elif images and any(x.startswith("data:") for x in images):
                out.append(_oll("illegal base64 data in messages[%d].images: send the raw base64 "
                                "without a data: URL prefix" % i))
            calls = msg.get("tool_calls")
            if calls is not None:
                if not isinstance(calls, list):
                    out.append(_go_unmarshal(calls, "Message.messages.tool_calls",
                                             "[]api.ToolCall"))
                    continue
                for call in calls:
                    fn = call.get("function") if isinstance(call, dict) else None
                    if not isinstance(fn, dict):
                        out.append(_go_unmarshal(fn, "ToolCall.messages.tool_calls.function",
                                                 "api.ToolCallFunction"))
                        continue
                    args = fn.get("arguments")
                    if args is not None and not isinstance(args, dict):
                        out.append(_go_unmarshal(
                            args, "ToolCallFunction.messages.tool_calls.function.arguments",
                            "api.ToolCallFunctionArguments"))
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            out.append(_go_unmarshal(tools, "ChatRequest.tools", "api.Tools"))
        else:
            for i, tool in enumerate(tools):
                fn = tool.get("function") if isinstance(tool, dict) else None
                if not isinstance(tool, dict) or tool.get("type") != "function":
                    out.append(_oll("tools[%d]: type must be \"function\"" % i))
                elif not isinstance(fn, dict) or not isinstance(fn.get("name"), str) \
                        or not fn.get("name"):
                    out.append(_oll("tools[%d]: function.name is required" % i))
    if "stream" in body and body["stream"] is not None and not isinstance(body["stream"], bool):
        out.append(_go_unmarshal(body["stream"], "ChatRequest.stream", "bool"))
    fmt = body.get("format")
    if fmt is not None and not isinstance(fmt, (str, dict)):
        out.append(_oll("invalid format: expected \"json\" or a JSON schema object"))
    elif isinstance(fmt, str) and fmt not in ("", "json"):
        out.append(_oll("invalid format: %r; expected \"json\" or a JSON schema object" % fmt))
    options = body.get("options")
    if options is not None and not isinstance(options, dict):
        out.append(_go_unmarshal(options, "ChatRequest.options", "map[string]interface {}"))
    think = body.get("think")
    if think is not None and not isinstance(think, bool) and think not in ("low", "medium", "high"):
        out.append(_oll("invalid think value: %r (expected true, false, \"low\", \"medium\" or "
                        "\"high\")" % (think,)))
    return out
