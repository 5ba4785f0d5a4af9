"""A fake LLM server for tests: the wire formats of every provider the library speaks, on 127.0.0.1.

The emulator is a real HTTP/1.1 server (keep-alive, chunked streaming) that answers chat
requests with replies you script. The same script works for every provider: each reply is
rendered in the wire format of the endpoint that asked for it. Every request is recorded and
checked against the real API's rules; a request the real service would refuse gets the real
service's 400/401 error shape, with a message saying what is wrong.

Using it in your own pytest tests (the ``llm_emulator`` fixture comes with the package)::

    import llmunified as llm
    from llmunified.testing import ToolCallSpec

    def test_my_weather_bot(llm_emulator):
        llm_emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})])
        llm_emulator.reply(text="Sunny in Paris.", usage=(40, 7))
        client = llm.Client("openai/any-model", base_url=llm_emulator.url_for("openai"),
                            api_key="test")
        assert my_bot(client, "Weather in Paris?") == "Sunny in Paris."  # your code under test
        assert llm_emulator.requests[1].json["messages"][-1]["role"] == "tool"
        assert all(not r.violations for r in llm_emulator.requests)

Any HTTP client works the same way (``requests``, the official SDKs, ...): point it at
``emu.url_for(provider)`` with any API key.

Without pytest: ``with Emulator() as emu: ...`` or ``emu = Emulator().start(); ...;
emu.stop()``.

Endpoints:
    OpenAI (and LM Studio / any OpenAI-compatible client): ``POST /v1/chat/completions``,
    ``GET /v1/models``; use ``emu.url_for("openai")`` (``base_url + "/v1"``).
    Anthropic: ``POST /v1/messages``, ``GET /v1/models`` (with an ``anthropic-version``
    header); use ``emu.url_for("anthropic")``.
    Ollama: ``POST /api/chat`` (streams unless ``"stream": false``), ``GET /api/tags``,
    ``GET /api/version``, and model management: ``POST /api/pull`` and ``/api/create`` (NDJSON
    progress; a queued Reply scripts a failure: ``status``/``error``, ``stream_error`` half way,
    ``break_after``), ``/api/show``, ``DELETE /api/delete``, ``/api/copy``, ``GET /api/ps``, over
    the emulator's own ``models["ollama"]`` (a chat request loads its model); use
    ``emu.url_for("ollama")``.
    Google Gemini: ``POST /v1beta/models/{model}:generateContent`` and
    ``:streamGenerateContent`` (SSE with ``?alt=sse``, else a JSON array), ``GET /v1beta/models``
    (an ``x-goog-api-key`` header or ``?key=``); use ``emu.url_for("gemini")`` (the host root).
    Google Vertex AI (``/v1/`` or ``/v1beta1/``, then
    ``projects/{project}/locations/{location}/publishers/...``): ``google/models/{model}:
    generateContent`` and ``:streamGenerateContent`` (Gemini's format, as above; with
    ``toolConfig.functionCallingConfig.streamFunctionCallArguments: true`` a streamed function
    call's arguments come as ``partialArgs`` pieces), and ``anthropic/models/{model}:rawPredict``
    and ``:streamRawPredict`` (Anthropic's Messages, with ``"anthropic_version":
    "vertex-2023-10-16"`` and without ``model`` in the body; ``"stream": true`` for the
    streaming method only); an ``Authorization: Bearer`` token (any; never ``x-api-key`` or an
    ``anthropic-version`` header); use ``emu.url_for("vertex")`` (the host root).
    Azure OpenAI: ``POST /openai/deployments/{deployment}/chat/completions?api-version=...``
    and ``POST /openai/v1/chat/completions`` (the deployment as ``model``), ``GET /openai/models``;
    an ``api-key`` header or an ``Authorization: Bearer`` token, never both; replies carry
    ``prompt_filter_results`` and ``content_filter_results`` (a stream starts with a chunk holding
    only the prompt's filter results), ``apim-request-id`` headers, and
    ``Reply(prompt_blocked="violence")`` is Azure's 400 ``content_filter``; use
    ``emu.url_for("azure")`` (the resource endpoint).
    Cohere v2: ``POST /v2/chat`` (SSE when ``"stream": true``), ``GET /v1/models`` (with an
    ``X-Client-Name`` header); ``Reply(plan=...)`` is the ``tool_plan``, ``Reply(citations=[...])``
    the citations; unknown fields are Cohere's 422; use ``emu.url_for("cohere")`` (the host root).

Providers are dialects:
    Each wire format is one module in ``llmunified/testing/_dialects/`` (``openai.py``,
    ``anthropic.py``, ``ollama.py``, ``gemini.py``, ...): a ``Dialect`` subclass (interface in ``_base.py``) that
    owns the provider's routes, request contract, headers, error shapes and the rendering of
    a :class:`Reply`. The HTTP server (``_server.py``) knows no provider by name; it routes
    each request to a dialect and writes what the dialect answers. To add a provider:

    1. Write ``_dialects/<provider>.py`` with ``class Foo(Dialect)``: set ``name``,
       ``routes`` (``Route("POST", "/v1beta/models/{model}:{action}", "chat")``; the
       ``{...}`` placeholders land in ``request.params``, the query string in
       ``request.query_params``, and ``ctx.model(reply)`` falls back to ``params["model"]``),
       ``default_models``, ``base_path`` (for ``url_for``), the content types and error
       tables; override what differs from the base class: ``check_headers``/``check_body``,
       ``is_stream``, ``base_headers``/``error_headers``, ``error_body``, ``render``,
       ``events``; ``models_body``/``serve`` for endpoints other than ``chat``; ``claims``
       and ``path_prefixes`` where paths are shared with another provider or unknown.
    2. Add ``Foo()`` to ``DIALECTS`` in ``_dialects/__init__.py`` (the first dialect,
       OpenAI, stays the fallback for unknown paths and names).
    3. Test it in ``tests/testing/test_emulator.py``.

    A test may also bring its own: ``Emulator(dialects=[*DIALECTS, Foo()])``.

Scripting:
    ``emu.reply(**fields)`` / ``emu.queue(Reply(...), ...)`` queue answers, served first in,
    first out, to the next chat requests (requests rejected by the contract checks do not
    consume one). A queued item may also be a callable ``request -> Reply``. With an empty
    queue the answer is ``Emulator(default_reply=...)``, by default an echo:
    ``"You said: <last user message>"``.

    :class:`Reply` covers text, thinking (with an Anthropic signature), tool calls, the finish
    reason (unified: ``stop|length|tool_calls|content_filter``), usage (``(input, output)``
    plus ``cache_read``, ``cache_write``, ``reasoning_tokens``), HTTP errors (``status``,
    ``error``, ``error_type``, ``error_code``, ``headers`` such as ``retry-after``), raw bodies
    (``body``, ``content_type``) and stream faults (``chunk_size``, ``delay``, ``break_after``,
    ``stream_error``, ``repeat_chunks``).

    A rate-limited model: ``Emulator(default_reply=RateLimit(requests=5, window=1.0))`` answers
    5 requests a second and 429 (with ``Retry-After``) beyond; ``n`` / Gemini's
    ``candidateCount`` get that many answers (answer ``i`` > 0's text ends ``" (answer i+1)"``).

Observing:
    ``emu.requests`` / ``emu.last_request`` (:class:`RecordedRequest`: method, path, headers,
    body, json, provider, violations, status, reply), ``emu.aborted_streams`` and
    ``emu.wait_for_aborted(n)``, ``emu.connections_opened``, ``emu.pending_replies``,
    ``emu.reset()``. To see a client abandon a stream, give the reply a ``delay`` so the
    emulator is still writing when the client leaves (a body that fits in the socket buffers
    is already "sent" by then).

Wire details (modelled on real recordings):
    * Streams use ``Transfer-Encoding: chunked``; plain answers use ``Content-Length``.
    * OpenAI: ``data: {chunk}`` events, a ``choices: []`` usage chunk only when
      ``stream_options.include_usage`` is true, ``data: [DONE]``; errors inside a stream are
      ``data: {"error": {...}}``. Headers: ``x-request-id: req_<n>``, ``x-ratelimit-*``.
    * Anthropic: ``event:``/``data:`` pairs (``message_start``, ``content_block_*``,
      ``ping``, ``message_delta``, ``message_stop``), data JSON padded with spaces like the
      real service; errors inside a stream are ``event: error``. Header ``request-id: req_<n>``
      and, on errors, ``x-should-retry``.
    * Ollama: NDJSON (``application/x-ndjson``), tool calls whole in one line, a final line
      with ``done: true``, ``done_reason`` and the token counts; errors are ``{"error": ...}``.
    * Embeddings (OpenAI, Azure, Ollama, Gemini, Vertex, Cohere): deterministic vectors,
      :func:`embedding_vector` of each input's text (8 values unless the request asks for
      another size), base64 when asked; a queued reply with an error status answers the next
      embeddings request instead (``testing._embeddings``).
"""
from ._embeddings import vector as embedding_vector
from ._emulator import Emulator
from ._ratelimit import RateLimit
from ._reply import Reply, ToolCallSpec
from ._request import Headers, RecordedRequest

__all__ = ["Emulator", "Reply", "ToolCallSpec", "RecordedRequest", "Headers", "embedding_vector", "RateLimit"]
