"""The ``llmunified`` command (also ``python -m llmunified``).

    llmunified demo [--emulator]          a short tour, against a local model or the emulator
    llmunified chat -m MODEL "prompt"     stream one reply (piped standard input is added)
    llmunified chat -m MODEL              interactive chat keeping history (also -i)
    llmunified chat --emulator            chat with the built-in emulator (no key, no network)
    llmunified providers                  the known providers and their environment variables
    llmunified models [-m PROVIDER]       the provider's models (id, context, size); --json
    llmunified models info MODEL          what the bundled registry knows about a model
    llmunified pull NAME                  download a model to the Ollama server, with a progress bar
    llmunified embed -m MODEL "text"...   embed texts: one JSON line {index, embedding} per input
    llmunified tokens -m MODEL "text"     count its prompt tokens, and say whether exactly (--json)
    llmunified batch submit FILE -m MODEL a provider batch job of a JSONL file of requests (status, results)
    llmunified emulator [--port N]        serve the emulator until Ctrl-C

Exit codes (scripts can rely on them; ``EXIT_CODES`` below):

    0    success
    1    the provider answered with an error (bad request, rate limit, server error, a broken
         stream...) or another failure at run time
    2    usage: an unknown option, a bad option value, nothing to send, an unreadable @file
    3    configuration: an unknown provider or malformed model name, a missing API key or
         setting, a bad base URL
    4    the provider refused the credentials (401 / 403)
    5    the provider does not know the model (404)
    6    the server could not be reached, or did not answer in time
    130  interrupted with Ctrl-C (outside an interactive session, where Ctrl-C only stops a reply)
    141  the output was closed early (``llmunified demo | head``)

Every user error ends with one line on stderr, never a traceback. Colour and the spinner are
used only on a terminal, never when ``NO_COLOR`` is set (https://no-color.org), ``TERM=dumb``
or ``--no-color``.

The terminal side uses the standard library only: ``readline`` (line editing, the history of
the session's lines, Tab completion of /commands) and ANSI escapes. It comes with every Python on
Linux and macOS, so the command adds no dependency and nothing to audit; on Windows, where
``readline`` is missing, input is plain ``input()``. The line history is kept in memory only:
prompts can be private, so nothing is written to the home directory.
"""
import argparse
import json
import os
import stat
import sys
import threading
import time
import urllib.request
from typing import Any, Dict, List, NoReturn, Optional, Sequence, TextIO, Tuple

__all__ = ["main", "EXIT_CODES", "exit_code_for", "find_local_model", "local_models"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_AUTH = 4
EXIT_NOT_FOUND = 5
EXIT_UNREACHABLE = 6
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

#: exit code -> what it means (the table in the module docstring and the README)
EXIT_CODES: Dict[int, str] = {
    EXIT_OK: "success",
    EXIT_FAILED: "the provider answered with an error, or another failure at run time",
    EXIT_USAGE: "usage: unknown option, bad option value, nothing to send, unreadable @file",
    EXIT_CONFIG: "configuration: unknown provider or model name, missing API key or setting, bad base URL",
    EXIT_AUTH: "the provider refused the credentials (401/403)",
    EXIT_NOT_FOUND: "the provider does not know the model (404)",
    EXIT_UNREACHABLE: "the server could not be reached or timed out",
    EXIT_INTERRUPTED: "interrupted with Ctrl-C",
    EXIT_BROKEN_PIPE: "the output was closed early",
}

PROG = "llmunified"
EMULATOR_MODEL = "openai/echo"  # chat --emulator without -m


class UsageError(Exception):
    """A mistake on the command line: reported in one line, exit code 2."""


# -- the terminal ----------------------------------------------------------------------------------

def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # closed, or not a real file
        return False


def colour_allowed(stream: Any, no_color: bool = False) -> bool:
    """Colour only on a terminal, and never with ``NO_COLOR`` set, ``TERM=dumb`` or ``--no-color``."""
    return (not no_color and _isatty(stream) and not os.environ.get("NO_COLOR")
            and os.environ.get("TERM") != "dumb")


class Term:
    """One output stream and what it can show: colour (ANSI), a spinner (only on a terminal)."""

    DIM, BOLD, RED, GREEN, YELLOW = "2", "1", "31", "32", "33"

    def __init__(self, stream: TextIO, no_color: bool = False) -> None:
        self.stream = stream
        self.tty = _isatty(stream) and os.environ.get("TERM") != "dumb"
        self.color = colour_allowed(stream, no_color)

    def style(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color and text else text

    def write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def line(self, text: str = "", code: Optional[str] = None) -> None:
        self.write((self.style(text, code) if code else text) + "\n")


class Spinner:
    """A spinner on a terminal while waiting for the first token; nothing elsewhere. ``stop``
    erases it and is safe to call twice (the main thread writes only after it returns)."""

    def __init__(self, term: Term) -> None:
        self.term = term
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        encoding = (getattr(term.stream, "encoding", None) or "").lower().replace("-", "")
        self.frames = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏" if encoding == "utf8" else "|/-\\"

    def start(self) -> "Spinner":
        if self.term.tty and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="llmunified-spinner", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        i = 0
        while not self._stop.wait(0.08 if i else 0.15):  # nothing for a fast first token
            try:
                self.term.write("\r" + self.term.style(self.frames[i % len(self.frames)], Term.DIM))
            except (OSError, ValueError):
                return
            i += 1
        if i:
            try:
                self.term.write("\r \r")
            except (OSError, ValueError):
                pass

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join()


# -- reading what the user gives -------------------------------------------------------------------

def read_at_file(value: str, what: str = "argument") -> str:
    """``@path`` -> the file's text (``@-`` is standard input); anything else as it is.
    ``@@text`` is the literal ``@text``."""
    if not value.startswith("@"):
        return value
    if value.startswith("@@"):
        return value[1:]
    path = value[1:]
    if not path:
        raise UsageError(f"{what} '@' names no file: write @path/to/file")
    try:
        if path == "-":
            return sys.stdin.read()
        with open(path, encoding="utf-8") as f:
            return f.read()
    except UnicodeDecodeError:
        raise UsageError(f"cannot read {value}: it is not UTF-8 text") from None
    except OSError as exc:
        raise UsageError(f"cannot read {value}: {exc.strerror or exc}") from None


def piped_stdin(stdin: Any) -> Optional[str]:
    """The text piped in (``cat file | llmunified chat ...``): read only when standard input is a
    pipe or a file, never from a terminal (nor /dev/null, a socket...)."""
    try:
        if _isatty(stdin):
            return None
        mode = os.fstat(stdin.fileno()).st_mode
    except (AttributeError, ValueError, OSError):
        return None
    if not (stat.S_ISFIFO(mode) or stat.S_ISREG(mode)):
        return None
    try:
        data = stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode("utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read standard input: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError("standard input is not UTF-8 text") from None


# -- errors ----------------------------------------------------------------------------------------

def exit_code_for(exc: BaseException) -> int:
    """The documented exit code for an error (see ``EXIT_CODES``)."""
    from . import errors

    if isinstance(exc, UsageError):
        return EXIT_USAGE
    if isinstance(exc, errors.ConfigurationError):
        return EXIT_CONFIG
    if isinstance(exc, errors.StreamError):  # reached, then broke: a failure, not "unreachable"
        return EXIT_FAILED
    if isinstance(exc, errors.ValidationError):
        return EXIT_USAGE
    if isinstance(exc, errors.AuthenticationError):  # PermissionDeniedError too
        return EXIT_AUTH
    if isinstance(exc, errors.NotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(exc, (errors.ConnectionError, errors.TimeoutError)):
        return EXIT_UNREACHABLE
    return EXIT_FAILED


def _for_the_command_line(message: str) -> str:
    """Library advice in command-line terms: ``pass api_key=... to the Client`` becomes
    ``pass --api-key``, a provider setting ``-o name=...``."""
    import re

    message = re.sub(r"\bapi_key=", "--api-key ", re.sub(r"\bbase_url=", "--base-url ", message))
    message = message.replace("--api-key ...", "--api-key KEY").replace("--base-url ...", "--base-url URL")
    message = re.sub(r"\b([a-z_]+)=\.\.\.", r"-o \1=...", message)
    return message.replace(" to the Client", "").replace(" to the client", "")


def error_line(exc: BaseException) -> str:
    """One line saying what went wrong (whitespace folded: never a multi-line body dump)."""
    from .errors import NotFoundError

    text = _for_the_command_line(str(exc))
    if isinstance(exc, NotFoundError):
        text += " (is the model name right? 'llmunified providers' lists the providers)"
    return " ".join(text.split())


def _report(exc: BaseException, err: Optional[Term] = None) -> int:
    err = err or Term(sys.stderr)
    err.line(f"{PROG}: error: " + error_line(exc), Term.RED)
    return exit_code_for(exc)


# -- demo ------------------------------------------------------------------------------------------

def _probe(url: str, timeout: float = 0.5, body: Optional[dict] = None) -> Optional[Any]:
    """GET (or POST ``body`` to) a local URL; the decoded JSON, or None when nothing useful answers."""
    try:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 - local probe only
            if resp.status != 200:
                return None
            return json.loads(resp.read())
    except Exception:  # connection refused, timeout, 404, not JSON: nobody useful there
        return None


_EMBEDDING_FAMILIES = ("bert", "nomic-bert", "jina-bert", "xlm-roberta", "clip")


def _looks_like_embedding(name: str, family: str = "") -> bool:
    lowered = name.lower()
    return ("embed" in lowered or "rerank" in lowered or "minilm" in lowered
            or family.lower() in _EMBEDDING_FAMILIES)


def _ollama_models(host: str) -> List[str]:
    """Chat-capable models of an Ollama, the ones that also take tools first. Ollama's
    ``/api/show`` lists a model's capabilities (``completion``, ``tools``, ``embedding``...);
    older servers without them are judged by name and family."""
    tags = _probe(host + "/api/tags")
    if not isinstance(tags, dict) or not isinstance(tags.get("models"), list):
        return []
    with_tools: List[str] = []
    others: List[str] = []
    for entry in tags["models"][:20]:
        if not isinstance(entry, dict):
            continue
        name = entry.get("name") or entry.get("model")
        if not isinstance(name, str) or not name:
            continue
        details: Dict[str, Any] = entry["details"] if isinstance(entry.get("details"), dict) else {}
        shown = _probe(host + "/api/show", body={"model": name})
        caps = shown.get("capabilities") if isinstance(shown, dict) else None
        if isinstance(caps, list):
            if "completion" not in caps:
                continue
            (with_tools if "tools" in caps else others).append(name)
        elif not _looks_like_embedding(name, str(details.get("family") or "")):
            others.append(name)
    return with_tools + others


def _lmstudio_models(base: str) -> List[str]:
    """Chat-capable models of an LM Studio: its ``/api/v0/models`` says each one's ``type``
    (``llm``, ``vlm``, ``embeddings``); else the OpenAI-style list, judged by name."""
    root = base[:-3] if base.endswith("/v1") else base
    native = _probe(root + "/api/v0/models")
    if isinstance(native, dict) and isinstance(native.get("data"), list):
        return [m["id"] for m in native["data"] if isinstance(m, dict) and isinstance(m.get("id"), str)
                and m.get("type") in ("llm", "vlm")]
    models = _probe(base + "/models")
    if isinstance(models, dict) and isinstance(models.get("data"), list):
        return [m["id"] for m in models["data"] if isinstance(m, dict) and isinstance(m.get("id"), str)
                and not _looks_like_embedding(m["id"])]
    return []


def local_models() -> Tuple[List[Tuple[str, str, str]], List[str]]:
    """``([(label, model, base_url), ...], notes)``: the chat models a local Ollama or LM Studio
    offers, best first, and why a server that answered offered none."""
    from .providers.ollama import normalise_host

    found: List[Tuple[str, str, str]] = []
    notes: List[str] = []
    host = os.environ.get("OLLAMA_HOST")
    ollama = normalise_host(host) if host else "http://localhost:11434"
    if _probe(ollama + "/api/tags") is not None:
        names = _ollama_models(ollama)
        found += [("local Ollama at " + ollama, "ollama/" + n, ollama) for n in names]
        if not names:
            notes.append(f"the Ollama at {ollama} has no chat model (pull one: ollama pull llama3.2)")
    lmstudio = os.environ.get("LMSTUDIO_BASE_URL", "http://localhost:1234/v1").rstrip("/")
    names = _lmstudio_models(lmstudio)
    found += [("local LM Studio at " + lmstudio, "lmstudio/" + n, lmstudio) for n in names]
    return found, notes


def find_local_model() -> Optional[Tuple[str, str, str]]:
    """(label, model, base_url) of the best local chat model, else None."""
    found, _ = local_models()
    return found[0] if found else None


def _weather_tool() -> Any:
    import llmunified as llm

    return llm.Tool("get_weather", "Current weather for a city.", {
        "type": "object", "properties": {"city": {"type": "string", "description": "City name"}},
        "required": ["city"]})


def _fake_weather(city: str) -> str:
    return json.dumps({"city": city, "temperature_c": 18, "sky": "clear"})


def _tool_round_trip(reply: Any) -> Optional[List[Any]]:
    import llmunified as llm

    if not reply.tool_calls:
        return None
    results = [llm.tool_result(c.id, _fake_weather(str(c.arguments.get("city", "?"))), name=c.name)
               for c in reply.tool_calls]
    return [reply.message] + results


def _demo_emulator() -> Any:
    from .testing import Emulator, Reply, ToolCallSpec

    emulator = Emulator().start()
    script = [
        Reply(text="Paris is the capital of France."),
        Reply(text="Once upon a time, a tiny model streamed its first story, token by token."),
        Reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})]),
        Reply(text="It is 18 degrees and clear in Paris."),
    ]
    emulator.queue(*(script + script))  # once for the sync tour, once for the async one
    return emulator


def demo(out: Optional[TextIO] = None, use_local: bool = True) -> int:
    """The tour: complete, stream, a tool-call round trip; sync then async. A local model that
    cannot chat sends the tour to the emulator with a one-line note, never a traceback."""
    out = out or sys.stdout
    import llmunified as llm
    from .errors import LLMError

    # The demo picks its own target: a test switch left in the environment must not redirect it.
    saved = os.environ.pop("LLMUNIFIED_EMULATOR", None)
    try:
        candidates, notes = local_models() if use_local else ([], [])
        for note in notes:
            print(f"note: {note}", file=out)
        if candidates:
            label, model, base_url = candidates[0]
            print(f"llmunified {llm.__version__} demo, using {label}", file=out)
            print(f"model: {model}\n", file=out)
            try:
                _tour_sync(model, base_url, None, out)
                _tour_async(model, base_url, None, out)
                print("\ndone.", file=out)
                return EXIT_OK
            except BrokenPipeError:
                raise
            except (LLMError, OSError, ValueError) as exc:  # a local server is outside our control
                print(f"\nnote: {model} could not chat ({error_line(exc)}); "
                      "running the tour on the built-in emulator instead\n", file=out)
            reason = "the local model failed"
        else:
            reason = "no local Ollama or LM Studio answered" if use_local and not notes else (
                "no local chat model" if use_local else "--emulator")
        emulator = _demo_emulator()
        try:
            print(f"llmunified {llm.__version__} demo, using the built-in emulator ({reason})", file=out)
            print("model: openai/demo-model\n", file=out)
            _tour_sync("openai/demo-model", emulator.url_for("openai"), "demo-key", out)
            _tour_async("openai/demo-model", emulator.url_for("openai"), "demo-key", out)
        finally:
            emulator.stop()
        print("\ndone.", file=out)
        return EXIT_OK
    finally:
        if saved is not None:
            os.environ["LLMUNIFIED_EMULATOR"] = saved


def _tour_sync(model: str, base_url: str, key: Optional[str], out: TextIO) -> None:
    import llmunified as llm
    from .errors import LLMError

    print("== sync (import llmunified) ==", file=out)
    with llm.Client(model, base_url=base_url, api_key=key, max_tokens=200, max_retries=0) as client:
        reply = client.complete("In one sentence: what is the capital of France?")
        print(f"complete -> {reply.text.strip()!r} [{reply.finish_reason}, {reply.usage.total_tokens} tokens]",
              file=out)
        print("stream   -> ", end="", file=out)
        with client.stream("Tell a two-sentence story about a tiny model.") as stream:
            for event in stream:
                if event.type == "text":
                    print(event.text, end="", file=out, flush=True)
        print(f" [{stream.response.finish_reason}]", file=out)
        question = [llm.user("What's the weather in Paris? Use the tool.")]
        try:
            first = client.complete(question, tools=[_weather_tool()])
        except LLMError as exc:  # e.g. a local model without tool support
            print(f"tools    -> this model cannot use tools here ({error_line(exc)})", file=out)
            return
        follow = _tool_round_trip(first)
        if follow is None:
            print(f"tools    -> the model answered without calling the tool: {first.text.strip()[:80]!r}", file=out)
        else:
            call = first.tool_calls[0]
            final = client.complete(question + follow, tools=[_weather_tool()])
            print(f"tools    -> called {call.name}({call.arguments}); then: {final.text.strip()!r}", file=out)


def _tour_async(model: str, base_url: str, key: Optional[str], out: TextIO) -> None:
    import asyncio

    import llmunified_async as allm
    from .errors import LLMError

    async def tour() -> None:
        print("\n== async (import llmunified_async) ==", file=out)
        async with allm.Client(model, base_url=base_url, api_key=key, max_tokens=200, max_retries=0) as client:
            reply = await client.complete("In one sentence: what is the capital of France?")
            print(f"complete -> {reply.text.strip()!r}", file=out)
            print("stream   -> ", end="", file=out)
            async with client.stream("Tell a two-sentence story about a tiny model.") as stream:
                async for event in stream:
                    if event.type == "text":
                        print(event.text, end="", file=out, flush=True)
            print(f" [{stream.response.finish_reason}]", file=out)
            question = [allm.user("What's the weather in Paris? Use the tool.")]
            try:
                first = await client.complete(question, tools=[_weather_tool()])
            except LLMError as exc:
                print(f"tools    -> this model cannot use tools here ({error_line(exc)})", file=out)
                return
            follow = _tool_round_trip(first)
            if follow is None:
                print("tools    -> the model answered without calling the tool", file=out)
            else:
                final = await client.complete(question + follow, tools=[_weather_tool()])
                print(f"tools    -> called {first.tool_calls[0].name}; then: {final.text.strip()!r}", file=out)

    asyncio.run(tour())


# -- chat ------------------------------------------------------------------------------------------

COMMANDS = ("/system", "/model", "/save", "/load", "/clear", "/usage", "/thinking", "/history", "/help",
            "/exit", "/quit", "/bye")

HELP = """\
/system [TEXT]      show the system prompt, or set it (the conversation stays)
/model [NAME]       show the model, or switch to provider/model (the conversation stays)
/save PATH          save the conversation (JSON, ChatSession's format)
/load PATH          continue a conversation saved with /save
/clear              forget the conversation (the system prompt stays)
/usage [on|off]     tokens (and cost) so far; on/off: the line after each reply
/thinking [on|off]  show the model's thinking (dimmed), or hide it
/history            the conversation so far
/exit               quit (also /quit, /bye, Ctrl-D)
Ctrl-C stops a reply: what it had written is shown but not kept, and the conversation
goes on as it was before that message (press Up to send it again).
Several lines: start with \"\"\" and end with \"\"\", or end a line with \\ to go on.
A message that starts with / : write it with // (//etc/hosts sends /etc/hosts)."""


def _format_cost(cost: Any) -> Optional[str]:
    total = getattr(cost, "total", None)
    if total is None:
        return None
    try:
        value = float(total)
    except (TypeError, ValueError):
        return None
    digits = "%.6f" % value if value < 0.01 else "%.4f" % value
    digits = digits.rstrip("0")
    if digits.endswith("."):
        digits += "00"
    currency = getattr(cost, "currency", None) or "USD"
    approx = "~" if getattr(cost, "estimated", False) else ""  # priced from estimated token counts
    return approx + ("$" + digits if currency.upper() == "USD" else f"{digits} {currency}")


class Totals:
    """Usage added up over a session (cost only while every reply's cost was known)."""

    def __init__(self) -> None:
        self.replies = 0
        self.input = self.output = self.reasoning = 0
        self.estimated = False
        self.cost: Optional[float] = 0.0
        self.currency: Optional[str] = None
        self.unknown_cost = 0

    def add(self, response: Any) -> None:
        usage = response.usage
        self.replies += 1
        self.input += usage.input_tokens
        self.output += usage.output_tokens
        self.reasoning += usage.reasoning_tokens
        self.estimated = self.estimated or usage.estimated
        cost = getattr(response, "cost", None)  # Response.cost, where the library knows prices
        total = getattr(cost, "total", None)
        if total is None:
            self.unknown_cost += 1
        elif self.cost is not None:
            currency = getattr(cost, "currency", None) or "USD"
            if self.currency not in (None, currency):
                self.cost = None  # mixed currencies: no single sum
            else:
                self.currency = currency
                self.cost += float(total)

    def describe(self) -> str:
        approx = "~" if self.estimated else ""
        text = (f"{self.replies} repl{'y' if self.replies == 1 else 'ies'}: {approx}{self.input} in + "
                f"{approx}{self.output} out = {approx}{self.input + self.output} tokens")
        if self.reasoning:
            text += f" ({self.reasoning} reasoning)"
        if self.cost is not None and self.currency is not None:
            shown = _format_cost(_Cost(self.cost, self.currency))
            text += f", cost {shown}" + (f" (+ {self.unknown_cost} of unknown cost)" if self.unknown_cost else "")
        elif self.replies:
            text += ", cost unknown"
        return text


class _Cost:
    def __init__(self, total: float, currency: str) -> None:
        self.total, self.currency = total, currency


def usage_line(response: Any, seconds: float) -> str:
    """``12 in + 34 out = 46 tokens, cost $0.0001, 1.2 s`` (``~`` marks estimates)."""
    usage = response.usage
    approx = "~" if usage.estimated else ""
    text = (f"{approx}{usage.input_tokens} in + {approx}{usage.output_tokens} out = "
            f"{approx}{usage.input_tokens + usage.output_tokens} tokens")
    if usage.reasoning_tokens:
        text += f" ({usage.reasoning_tokens} reasoning)"
    if usage.cache_read_tokens:
        text += f", {usage.cache_read_tokens} cached"
    cost = _format_cost(getattr(response, "cost", None))  # Response.cost when the library has prices
    if cost is not None:
        text += f", cost {cost}"
    return text + f", {seconds:.1f} s"


def _emulator_reply(request: Any) -> Any:
    """What ``chat --emulator`` answers: an echo, with a little thinking, streamed at a readable pace."""
    from .testing import Reply

    dialect = getattr(request, "_dialect", None)
    said = dialect.last_user_text(request.json) if dialect is not None else ""
    words = len(said.split())
    return Reply(thinking=f"The user wrote {words} word{'s' if words != 1 else ''}; the emulator repeats them.",
                 text=f"You said: {said}", delay=0.02)


class Chat:
    """One chat: a ChatSession, the terminal, and the display settings."""

    def __init__(self, model: str, client_args: Dict[str, Any], system: Optional[str], out: Term, err: Term,
                 show_thinking: bool, show_usage: bool, usage_to: Optional[Term] = None, tools: Any = None,
                 auto_approve: bool = False, answers: Any = None) -> None:
        self.model = model
        self.client_args = client_args
        self.out = out
        self.err = err
        self.show_thinking = show_thinking
        self.show_usage = show_usage
        self.usage_to = usage_to or out
        self.totals = Totals()
        self.client = self._client(model, client_args)
        # --tool: the session runs them, asking y/n first (on ``answers``, the chat's input)
        # unless --yes
        self.tools = list(tools) if tools else None
        self.auto_approve = auto_approve
        self.answers = answers
        self._spinner: Optional[Spinner] = None
        import llmunified as llm

        self.session = llm.ChatSession(self.client, system=system, tools=self.tools)

    def approve(self, call: Any) -> Any:
        """``--tool`` without ``--yes``: ask before a tool runs (no answer, e.g. end of input: no)."""
        import llmunified as llm

        if self._spinner is not None:
            self._spinner.stop()
        arguments = json.dumps(call.arguments, ensure_ascii=False)
        self.err.write(self.err.style(f"run {call.name}({arguments})? [y/N] ", Term.YELLOW))
        stream = self.answers if self.answers is not None else sys.stdin
        line = input() if stream is sys.stdin and _isatty(stream) else stream.readline()
        if not _isatty(stream):
            self.err.write((line.strip() or "(no answer)") + "\n")  # not echoed: show what was read
        if not line.strip().lower().startswith("y"):
            return llm.deny("the user declined to run this tool")
        return True

    @staticmethod
    def _client(model: str, client_args: Dict[str, Any]) -> Any:
        import llmunified as llm

        return llm.Client(model, **client_args)

    def close(self) -> None:
        self.client.close()

    # -- one exchange ------------------------------------------------------------------------------
    def turn(self, text: str) -> Any:
        """Send ``text``, stream the reply to the terminal; the Response. Ctrl-C (KeyboardInterrupt)
        propagates once the stream is closed and the terminal restored; the session is then
        as it was before this message."""
        out = self.out
        spinner = Spinner(out)
        state = {"thinking": False, "last": "\n"}
        started = time.monotonic()

        def end_thinking() -> None:
            if state["thinking"]:
                state["thinking"] = False
                out.write(("\x1b[0m" if out.color else "\n[end of thinking]") + "\n\n")
                state["last"] = "\n"

        finished = False
        self._spinner = spinner
        steering = {"approve": None if self.auto_approve else self.approve} if self.tools else {}
        try:
            with self.session.stream(text, **steering) as stream:
                spinner.start()
                for event in stream:
                    kind = event.type
                    if kind == "tool_result":
                        spinner.stop()
                        end_thinking()
                        shown = event.content if isinstance(event.content, str) else json.dumps(event.content)
                        if self.usage_to is out and state["last"] != "\n":
                            out.write("\n")
                            state["last"] = "\n"
                        flag = "[error] " if event.is_error else ""
                        self.usage_to.line(f"{flag}{event.tool_call.name} -> {shown[:200]}", Term.DIM)
                        continue
                    if kind == "thinking" and event.text:
                        if not self.show_thinking:
                            continue
                        spinner.stop()
                        if not state["thinking"]:
                            state["thinking"] = True
                            out.write("\x1b[2m" if out.color else "[thinking]\n")
                        out.write(event.text)
                    elif kind == "text" and event.text:
                        spinner.stop()
                        end_thinking()
                        out.write(event.text)
                        state["last"] = event.text[-1]
                response = stream.response
            finished = True
        finally:
            spinner.stop()
            if not finished:  # Ctrl-C or an error: leave the terminal plain, on a fresh line
                if state["thinking"] and out.color:
                    out.write("\x1b[0m")
                echoed = out.tty and sys.exc_info()[0] is KeyboardInterrupt  # the terminal shows ^C
                if state["thinking"] or state["last"] != "\n" or echoed:
                    out.write("\n")
        end_thinking()
        if state["last"] != "\n":
            out.write("\n")
        self.totals.add(response)
        if response.finish_reason == "length":
            self.err.line("(the reply was cut: it reached max_tokens; --max-tokens raises it)", Term.YELLOW)
        elif response.finish_reason == "content_filter":
            self.err.line("(the provider's content filter stopped the reply)", Term.YELLOW)
        if self.show_usage:
            self.usage_to.line(usage_line(response, time.monotonic() - started), Term.DIM)
        return response

    # -- interactive -------------------------------------------------------------------------------
    def interactive(self, first: Optional[str], stdin: Any, banner: bool, builtin_emulator: bool = False) -> int:
        from .errors import LLMError

        reader = LineReader(stdin, self.out)
        if banner:
            where = ""
            emulator = os.environ.get("LLMUNIFIED_EMULATOR")
            if builtin_emulator:
                where = " on the built-in emulator (it echoes; /model switches the wire format)"
            elif emulator:
                where = f" (LLMUNIFIED_EMULATOR is set: talking to the emulator at {emulator})"
            self.out.line(f"Chatting with {self.model}{where}.", Term.DIM)
            self.out.line("/help lists the commands; Ctrl-C stops a reply; Ctrl-D or /exit quits.", Term.DIM)
        pending = first
        while True:
            if pending is None:
                try:
                    pending = reader.read_message()
                except KeyboardInterrupt:
                    self.out.write("\n")
                    self.out.line("(Ctrl-D or /exit quits)", Term.DIM)
                    continue
                if pending is None:  # end of input
                    if reader.tty:
                        self.out.write("\n")
                    return EXIT_OK
            text, pending = pending, None
            if not text.strip():
                continue
            if text.startswith("/") and not text.startswith("//"):
                if self.command(text.strip()) == "exit":
                    return EXIT_OK
                continue
            if text.startswith("//"):
                text = text[1:]
            try:
                self.turn(text)
            except KeyboardInterrupt:
                self.out.line("[interrupted: the reply was stopped and this exchange is not kept]", Term.YELLOW)
            except LLMError as exc:  # the session goes on, as it was before this message
                _report(exc, self.err)

    def command(self, line: str) -> Optional[str]:
        name, _, arg = line.partition(" ")
        name, arg = name.lower(), arg.strip()
        out = self.out
        from .errors import LLMError

        try:
            if name in ("/exit", "/quit", "/bye"):
                return "exit"
            if name in ("/help", "/?"):
                out.line(HELP)
            elif name == "/system":
                if not arg:
                    out.line(f"system: {self.session.system!r}" if self.session.system is not None
                             else "no system prompt (/system TEXT sets one)")
                else:
                    self._rebuild(self.client, system=read_at_file(arg, "/system"))
                    out.line("system prompt set", Term.DIM)
            elif name == "/model":
                if not arg:
                    out.line(f"model: {self.model}")
                else:
                    self._switch(arg)
            elif name == "/save":
                if not arg:
                    raise UsageError("/save needs a path: /save chat.json")
                self.session.save(os.path.expanduser(arg))
                out.line(f"saved {len(self.session.messages)} messages to {arg}", Term.DIM)
            elif name == "/load":
                if not arg:
                    raise UsageError("/load needs a path: /load chat.json")
                import llmunified as llm

                self.session = llm.ChatSession.load(os.path.expanduser(arg), self.client, tools=self.tools)
                out.line(f"loaded {len(self.session.messages)} messages from {arg}", Term.DIM)
            elif name == "/clear":
                self.session.clear()
                out.line("conversation cleared", Term.DIM)
            elif name == "/usage":
                if arg:
                    self.show_usage = _on_off(arg, "/usage")
                    out.line(f"usage after each reply: {'on' if self.show_usage else 'off'}", Term.DIM)
                else:
                    estimated = "~" if self.session.token_count_estimated else ""
                    out.line(f"{self.totals.describe()}; the conversation is now {estimated}"
                             f"{self.session.token_count} tokens")
            elif name == "/thinking":
                self.show_thinking = _on_off(arg, "/thinking") if arg else not self.show_thinking
                out.line(f"thinking: {'shown' if self.show_thinking else 'hidden'}", Term.DIM)
            elif name == "/history":
                for message in self.session.messages:
                    out.line(f"{message.role}: {message.text}")
            else:
                raise UsageError(f"unknown command {name}; /help lists them (// sends a message starting with /)")
        except (UsageError, LLMError) as exc:
            _report(exc, self.err)
        except BrokenPipeError:
            raise
        except OSError as exc:  # /save into a missing folder, a full disk...
            self.err.line(f"{PROG}: error: {exc.strerror or exc}", Term.RED)
        return None

    def _rebuild(self, client: Any, system: Any = ...) -> None:
        import llmunified as llm

        data = self.session.to_dict()
        if system is not ...:
            data["system"] = system
        self.session = llm.ChatSession.from_dict(data, client, tools=self.tools)

    def _switch(self, model: str) -> None:
        from ._registry import split_model

        old_provider = self.client.provider
        new_provider = split_model(model)[0].name
        args = dict(self.client_args)
        if new_provider != old_provider:
            dropped = [flag for key, flag in (("base_url", "--base-url"), ("api_key", "--api-key"))
                       if args.pop(key, None) is not None]
            if dropped:
                self.out.line(f"({' and '.join(dropped)} were for {old_provider}: not used for {new_provider})",
                              Term.DIM)
        client = self._client(model, args)  # a bad name raises here: the old model stays
        self._rebuild(client)
        self.client.close()
        self.client, self.model, self.client_args = client, model, args
        self.out.line(f"model: {model}", Term.DIM)


def _on_off(value: str, what: str) -> bool:
    value = value.lower()
    if value in ("on", "yes", "true", "1"):
        return True
    if value in ("off", "no", "false", "0"):
        return False
    raise UsageError(f"{what} takes on or off, not {value!r}")


class LineReader:
    """Messages typed (readline on a terminal: editing, Up for earlier lines, Tab completes
    /commands) or piped in line by line. Several lines: between \"\"\" marks, or a line ending
    in a backslash."""

    def __init__(self, stdin: Any, out: Term) -> None:
        self.stdin = stdin
        self.out = out
        self.tty = _isatty(stdin) and stdin is sys.stdin
        if self.tty:
            _setup_readline()

    def _prompt(self, text: str) -> str:
        if not self.out.color:
            return text
        # \001 \002 tell readline the escapes take no room on the line
        return f"\001\x1b[1;32m\002{text}\001\x1b[0m\002"

    def _line(self, prompt: str) -> Optional[str]:
        if self.tty:
            try:
                return input(self._prompt(prompt))
            except EOFError:
                return None
        line = self.stdin.readline()
        return line.rstrip("\r\n") if line else None

    def read_message(self) -> Optional[str]:
        line = self._line(">>> ")
        if line is None:
            return None
        if line.lstrip().startswith('"""'):
            rest = line.lstrip()[3:]
            if rest.rstrip().endswith('"""'):
                return rest.rstrip()[:-3]
            lines = [rest] if rest else []
            while True:
                more = self._line("... ")
                if more is None:
                    break
                if more.rstrip().endswith('"""'):
                    lines.append(more.rstrip()[:-3])
                    break
                lines.append(more)
            return "\n".join(lines).strip("\n")
        lines = []
        while line.endswith("\\"):
            lines.append(line[:-1])
            more = self._line("... ")
            if more is None:
                line = ""
                break
            line = more
        lines.append(line)
        return "\n".join(lines)


def _setup_readline() -> None:
    try:
        import readline
    except ImportError:  # Windows: plain input()
        return

    def complete(text: str, state: int) -> Optional[str]:
        matches = [c + " " for c in COMMANDS if c.startswith(text)] if text.startswith("/") else []
        return matches[state] if state < len(matches) else None

    readline.set_completer(complete)
    readline.set_completer_delims(" \t\n")
    if "libedit" in (readline.__doc__ or ""):  # macOS's readline is libedit, with its own syntax
        readline.parse_and_bind("bind ^I rl_complete")
    else:
        readline.parse_and_bind("tab: complete")


def chat_command(args: argparse.Namespace, stdin: Any = None, stdout: Any = None, stderr: Any = None) -> int:
    stdin = sys.stdin if stdin is None else stdin
    out = Term(sys.stdout if stdout is None else stdout, args.no_color)
    err = Term(sys.stderr if stderr is None else stderr, args.no_color)
    emulator = None
    saved = os.environ.get("LLMUNIFIED_EMULATOR")
    model = args.model or os.environ.get("LLMUNIFIED_MODEL")
    if args.emulator:
        from .testing import Emulator

        emulator = Emulator(default_reply=_emulator_reply, openai_reasoning_field="reasoning_content").start()
        os.environ["LLMUNIFIED_EMULATOR"] = emulator.base_url  # every client of this process goes there
        model = model or EMULATOR_MODEL
    try:
        if not model:
            raise UsageError("no model: pass -m provider/model (e.g. -m openai/gpt-4o-mini), set LLMUNIFIED_MODEL, "
                             "or use --emulator; 'llmunified providers' lists the providers")
        prompt = " ".join(read_at_file(p, "prompt") for p in args.prompt) if args.prompt else None
        system = read_at_file(args.system, "--system") if args.system is not None else None
        interactive = args.interactive or (prompt is None and _isatty(stdin))
        if not interactive:
            piped = piped_stdin(stdin)
            if piped is not None and piped.strip():
                prompt = piped.rstrip("\n") + ("\n\n" + prompt if prompt else "")
            if not prompt or not prompt.strip():
                raise UsageError("nothing to send: give a prompt, pipe text on standard input, or use -i")
        client_args = _client_args(args)
        tools = [load_tool(spec) for spec in args.tool or []]
        chat = Chat(model, client_args, system, out, err,
                    show_thinking=args.thinking if args.thinking is not None else out.tty,
                    show_usage=args.usage if args.usage is not None else interactive,
                    usage_to=out if interactive else err, tools=tools, auto_approve=args.yes, answers=stdin)
        try:
            if interactive:
                return chat.interactive(prompt, stdin, banner=_isatty(stdin), builtin_emulator=emulator is not None)
            chat.turn(prompt)  # type: ignore[arg-type]  # checked above
            return EXIT_OK
        finally:
            chat.close()
    finally:
        if emulator is not None:
            if saved is None:
                os.environ.pop("LLMUNIFIED_EMULATOR", None)
            else:
                os.environ["LLMUNIFIED_EMULATOR"] = saved
            emulator.stop()


def load_tool(spec: str) -> Any:
    """``--tool MODULE:NAME`` (or ``path/to/file.py:NAME``): that function as a tool (``@llm.tool``
    unless it is one already, or an ``llm.Tool``)."""
    import importlib
    import importlib.util

    import llmunified as llm

    where, sep, name = spec.rpartition(":")
    if not sep or not where or not name:
        raise UsageError(f"--tool takes MODULE:NAME or FILE.py:NAME, e.g. mytools:get_weather; got {spec!r}")
    try:
        if where.endswith(".py"):
            found = importlib.util.spec_from_file_location(f"_llmunified_tools_{abs(hash(where))}", where)
            if found is None or found.loader is None or not os.path.isfile(where):
                raise UsageError(f"--tool {spec}: no such file {where!r}")
            module = importlib.util.module_from_spec(found)
            found.loader.exec_module(module)
        else:
            sys.path.insert(0, os.getcwd())  # a module beside the user, as python -m would find it
            try:
                module = importlib.import_module(where)
            finally:
                sys.path.remove(os.getcwd())
    except UsageError:
        raise
    except Exception as exc:  # the user's module failed to import: say so in one line
        raise UsageError(f"--tool {spec}: cannot load {where!r}: {type(exc).__name__}: {exc}") from None
    value = getattr(module, name, None)
    if value is None:
        raise UsageError(f"--tool {spec}: {where!r} has no {name!r}")
    if isinstance(value, llm.Tool):
        return value
    if not callable(value):
        raise UsageError(f"--tool {spec}: {name!r} is not a function")
    return llm.tool(value)


def _client_args(args: argparse.Namespace) -> Dict[str, Any]:
    client_args: Dict[str, Any] = {}
    if args.api_key is not None:
        key = read_at_file(args.api_key, "--api-key").strip()
        if not key:
            raise UsageError("--api-key is empty")
        client_args["api_key"] = key
    if args.base_url is not None:
        client_args["base_url"] = args.base_url
    for name, value in (("temperature", args.temperature), ("max_tokens", args.max_tokens),
                        ("reasoning", args.reasoning), ("max_retries", args.max_retries),
                        ("timeout", args.timeout)):
        if value is not None:
            client_args[name] = value
    for name, value in args.option or []:
        client_args[name] = value  # provider settings (project=...) and call options (top_p=...)
    return client_args


# -- embed -----------------------------------------------------------------------------------------

EMBED_EMULATOR_MODEL = "openai/text-embedding-3-small"  # embed --emulator without -m


def embed_command(args: argparse.Namespace, stdin: Any = None, stdout: Any = None) -> int:
    """``llmunified embed -m provider/model TEXT...``: one JSON line per input,
    ``{"index": i, "embedding": [...]}``, in input order. Without TEXT, each non-empty line piped
    on standard input is one input."""
    from ._embed import EMBED_OPTIONS

    stdin = sys.stdin if stdin is None else stdin
    out = sys.stdout if stdout is None else stdout
    emulator = None
    saved = os.environ.get("LLMUNIFIED_EMULATOR")
    model = args.model or os.environ.get("LLMUNIFIED_EMBED_MODEL")
    if args.emulator:
        from .testing import Emulator

        emulator = Emulator().start()
        os.environ["LLMUNIFIED_EMULATOR"] = emulator.base_url
        model = model or EMBED_EMULATOR_MODEL
    try:
        if not model:
            raise UsageError("no model: pass -m provider/model (e.g. -m openai/text-embedding-3-small), set "
                             "LLMUNIFIED_EMBED_MODEL, or use --emulator")
        texts = [read_at_file(t, "text") for t in args.text]
        if not texts:
            piped = piped_stdin(stdin)
            texts = [line for line in (piped or "").splitlines() if line.strip()]
        if not texts:
            raise UsageError("nothing to embed: give one or more texts, or pipe lines on standard input")
        client_args: Dict[str, Any] = {}
        options: Dict[str, Any] = {}
        if args.api_key is not None:
            client_args["api_key"] = read_at_file(args.api_key, "--api-key").strip()
        for name, value in (("base_url", args.base_url), ("max_retries", args.max_retries),
                            ("timeout", args.timeout)):
            if value is not None:
                client_args[name] = value
        for name, value in (("dimensions", args.dimensions), ("input_type", args.input_type),
                            ("batch_size", args.batch_size)):
            if value is not None:
                options[name] = value
        from ._registry import provider_settings
        from ._sync._client import CLIENT_ARGS, Client

        settings = CLIENT_ARGS + provider_settings(model)
        for name, value in args.option or []:
            # a Client setting (project=...) goes to the Client, anything else is Client.embed's
            (client_args if name in settings and name not in EMBED_OPTIONS else options)[name] = value

        with Client(model, **client_args) as client:
            result = client.embed(texts, **options)
        for index, vector in enumerate(result.vectors):
            out.write(json.dumps({"index": index, "embedding": vector}, separators=(",", ":")) + "\n")
        return EXIT_OK
    finally:
        if emulator is not None:
            if saved is None:
                os.environ.pop("LLMUNIFIED_EMULATOR", None)
            else:
                os.environ["LLMUNIFIED_EMULATOR"] = saved
            emulator.stop()


# -- models, pull ---------------------------------------------------------------------------------

PULL_DEFAULT_PROVIDER = "ollama"  # pull without -m: the local Ollama server (OLLAMA_HOST)


def _admin_model(value: Optional[str], fallback: Optional[str]) -> str:
    """A Client model for a call that names no model (a listing, a pull): ``-m provider`` or
    ``-m provider/anything``; the part after the ``/`` plays no part."""
    value = value or os.environ.get("LLMUNIFIED_MODEL") or fallback
    if not value:
        raise UsageError("no provider: pass -m provider (e.g. -m ollama or -m openai), set LLMUNIFIED_MODEL, "
                         "or use --emulator ('llmunified models info MODEL' says what the registry knows of a model)")
    return value if "/" in value else value + "/_"


def _admin_client_args(args: argparse.Namespace) -> Dict[str, Any]:
    client_args: Dict[str, Any] = {}
    if args.api_key is not None:
        key = read_at_file(args.api_key, "--api-key").strip()
        if not key:
            raise UsageError("--api-key is empty")
        client_args["api_key"] = key
    for name, value in (("base_url", args.base_url), ("timeout", args.timeout)):
        if value is not None:
            client_args[name] = value
    for name, value in args.option or []:
        client_args[name] = value  # provider settings (project=..., api_version=...)
    return client_args


class WithEmulator:
    """``--emulator``: a built-in emulator that every client of this process talks to, for the
    time of one command."""

    def __init__(self, on: bool) -> None:
        self.on = on
        self.emulator: Any = None
        self.saved: Optional[str] = None

    def __enter__(self) -> "WithEmulator":
        if self.on:
            from .testing import Emulator

            self.saved = os.environ.get("LLMUNIFIED_EMULATOR")
            self.emulator = Emulator().start()
            os.environ["LLMUNIFIED_EMULATOR"] = self.emulator.base_url
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.emulator is not None:
            if self.saved is None:
                os.environ.pop("LLMUNIFIED_EMULATOR", None)
            else:
                os.environ["LLMUNIFIED_EMULATOR"] = self.saved
            self.emulator.stop()


def human_bytes(n: Optional[float]) -> str:
    """``1536`` -> ``1.5 KB`` (decimal units, as Ollama shows them)."""
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"  # pragma: no cover - the loop returns


def _eta(seconds: Optional[float]) -> str:
    if seconds is None or seconds != seconds or seconds < 0 or seconds > 99 * 3600:
        return "--:--"
    seconds = int(seconds + 0.5)
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60:d}:{rest % 60:02d}"


def models_command(args: argparse.Namespace, stdout: Any = None) -> int:
    """``llmunified models [-m provider]``: the provider's models (``Client.list_models``) as a
    table (id, context window, size; for Ollama whether it is loaded) or JSON."""
    from ._sync._client import Client

    out = sys.stdout if stdout is None else stdout
    with WithEmulator(args.emulator):
        model = _admin_model(args.list_model, "ollama" if args.emulator else None)
        with Client(model, **_admin_client_args(args)) as client:
            models = client.list_models()
    if args.json:
        rows = [{"id": m.id, "provider": m.provider, "context_window": m.context_window, "max_output": m.max_output,
                 "created": m.created, "owned_by": m.owned_by, "size": m.size, "modified_at": m.modified_at,
                 "details": m.details} for m in models]
        out.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
        return EXIT_OK
    if not models:
        out.write(f"{model.split('/', 1)[0]}: no models\n")
        return EXIT_OK
    loaded = any((m.details or {}).get("loaded") is not None for m in models)
    table = [("ID", "CONTEXT", "SIZE") + (("LOADED",) if loaded else ())]
    for m in models:
        row: Tuple[str, ...] = (m.id, f"{m.context_window:,}" if m.context_window else "-", human_bytes(m.size))
        if loaded:
            row += ("yes" if (m.details or {}).get("loaded") else "",)
        table.append(row)
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    for r in table:
        out.write("  ".join(c.ljust(w) if i == 0 else c.rjust(w) if i < 3 else c
                            for i, (c, w) in enumerate(zip(r, widths))).rstrip() + "\n")
    return EXIT_OK


class PullBar:
    """What ``llmunified pull`` shows: on a terminal one line redrawn in place per layer (bytes
    done / total, rate, ETA, a bar); elsewhere one plain line per status (a layer's when it is
    complete, with its size). ``clock`` is for tests."""

    WIDTH = 24

    def __init__(self, term: Term, clock: Any = time.monotonic) -> None:
        self.term = term
        self.clock = clock
        self.status: Optional[str] = None
        self.samples: List[Tuple[float, int]] = []  # (time, completed bytes of every layer)
        self.drawn = False  # a bar is on the terminal's current line
        self.printed: Optional[str] = None  # not a terminal: the layer whose line was printed

    def rate(self, completed: int) -> Optional[float]:
        now = self.clock()
        self.samples.append((now, completed))
        while len(self.samples) > 2 and now - self.samples[0][0] > 5.0:  # the last few seconds
            self.samples.pop(0)
        t0, b0 = self.samples[0]
        return (completed - b0) / (now - t0) if now - t0 > 0.2 else None

    def show(self, progress: Any, completed: int) -> None:
        new = progress.status != self.status
        if new and self.drawn:
            self.term.write("\n")
            self.drawn = False
        self.status = progress.status
        rate = self.rate(completed)
        if progress.total is None or progress.digest is None:
            if new:
                self.term.line(progress.status)
            return
        done = progress.completed or 0
        if not self.term.tty:
            if done >= progress.total and self.printed != progress.digest:
                self.term.line(f"{progress.status}: {human_bytes(progress.total)}")
                self.printed = progress.digest
            return
        fraction = progress.fraction or 0.0
        filled = int(fraction * self.WIDTH)
        bar = "=" * filled + (">" if filled < self.WIDTH else "") + " " * max(0, self.WIDTH - filled - 1)
        speed = f"{human_bytes(rate)}/s" if rate else "-- B/s"
        eta = _eta((progress.total - done) / rate if rate else None)
        self.term.write(f"\r{progress.status} {fraction * 100:3.0f}% [{bar}] {human_bytes(done)}/"
                        f"{human_bytes(progress.total)}  {speed}  ETA {eta}\x1b[K")
        self.drawn = True

    def end(self) -> None:
        if self.drawn:
            self.term.write("\n")
            self.drawn = False


def pull_command(args: argparse.Namespace, stdout: Any = None) -> int:
    """``llmunified pull NAME``: download a model to the Ollama server, showing its progress."""
    from ._sync._client import Client

    out = Term(sys.stdout if stdout is None else stdout, args.no_color)
    with WithEmulator(args.emulator):
        model = _admin_model(args.pull_model, PULL_DEFAULT_PROVIDER)
        with Client(model, **_admin_client_args(args)) as client:
            bar = PullBar(out)
            try:
                with client.pull(args.name, insecure=args.insecure) as pull:
                    for progress in pull:
                        bar.show(progress, pull.completed_bytes)
            finally:
                bar.end()
    return EXIT_OK


# -- tokens ----------------------------------------------------------------------------------------

#: ``tokens --emulator`` without ``-m``: a provider whose count the emulator answers exactly
TOKENS_EMULATOR_MODEL = "anthropic/claude-sonnet-4-5"


def _add_tokens_parser(sub: Any, epilog: str) -> None:
    """The ``tokens`` subcommand's arguments (``sub``: the main parser's subparsers)."""
    t = sub.add_parser(
        "tokens", help="count the prompt tokens of a text (exact where the provider counts)",
        description="Print how many prompt tokens TEXT (text piped on standard input comes before it) takes "
                    "for the model, and whether the figure is exact: the provider's own count (Anthropic, "
                    "Gemini, Vertex AI), else a local count (tiktoken for OpenAI models when installed, "
                    "else an estimate). Arguments starting with @ are read from that file.",
        epilog=epilog)
    t.add_argument("text", nargs="*", help="the text (words are joined; @file reads a file)")
    t.add_argument("-m", "--model", help="provider/model, e.g. anthropic/claude-sonnet-4-5 (default: $LLMUNIFIED_MODEL)")
    t.add_argument("-s", "--system", help="a system prompt counted with the text (TEXT or @file)")
    t.add_argument("--local", action="store_true", help="count locally, without asking the provider (never exact)")
    t.add_argument("--json", action="store_true",
                   help='one JSON object: {"tokens", "exact", "source", "model"}')
    t.add_argument("--api-key", help="the provider's API key (or @file); by default its environment variable")
    t.add_argument("--base-url", help="API root, e.g. https://api.anthropic.com")
    t.add_argument("--emulator", action="store_true", help="count with the built-in emulator: no key, no network")
    t.add_argument("-o", "--option", type=parse_option, action="append", metavar="NAME=VALUE",
                   help="a provider setting or call option (-o project=my-project); repeatable")
    t.add_argument("--max-retries", type=_count, help="retries on rate limits and server errors (default 2)")
    t.add_argument("--timeout", type=parse_seconds, help="seconds to wait for the server (default 600)")


def tokens_command(args: argparse.Namespace, stdin: Any = None, stdout: Any = None) -> int:
    """Count, print ``N tokens (exact: ...)`` or the JSON object; the exit codes are the CLI's."""
    stdin = sys.stdin if stdin is None else stdin
    out = sys.stdout if stdout is None else stdout
    emulator = None
    saved = os.environ.get("LLMUNIFIED_EMULATOR")
    model = args.model or os.environ.get("LLMUNIFIED_MODEL")
    if args.emulator:
        from .testing import Emulator

        emulator = Emulator().start()
        os.environ["LLMUNIFIED_EMULATOR"] = emulator.base_url  # every client of this process goes there
        model = model or TOKENS_EMULATOR_MODEL
    try:
        if not model:
            raise UsageError("no model: pass -m provider/model (e.g. -m anthropic/claude-sonnet-4-5), set "
                             "LLMUNIFIED_MODEL, or use --emulator")
        text = " ".join(read_at_file(t, "text") for t in args.text) if args.text else ""
        piped = piped_stdin(stdin)
        if piped is not None and piped.strip():
            text = piped.rstrip("\n") + ("\n\n" + text if text else "")
        if not text.strip():
            raise UsageError("nothing to count: give a text (or @file), or pipe text on standard input")
        from ._types import Message

        messages = [Message("user", text)]
        if args.system is not None:
            messages.insert(0, Message("system", read_at_file(args.system, "--system")))
        count = _count_tokens(model, messages, args)
        if args.json:
            out.write(json.dumps({"tokens": count.tokens, "exact": count.exact, "source": count.source,
                                  "model": count.model}) + "\n")
        else:
            out.write(f"{count.tokens} tokens ({_describe(count)})\n")
        return EXIT_OK
    finally:
        if emulator is not None:
            if saved is None:
                os.environ.pop("LLMUNIFIED_EMULATOR", None)
            else:
                os.environ["LLMUNIFIED_EMULATOR"] = saved
            emulator.stop()


def _describe(count: Any) -> str:
    if count.exact:
        return f"exact: counted by {count.model.partition('/')[0] or 'the provider'}"
    if count.source == "tiktoken":
        return "not exact: tiktoken, with OpenAI's documented message framing"
    return "not exact: an estimate; this provider has no token-counting endpoint" if count.source == "estimate" \
        else f"not exact: {count.source}"


def _count_tokens(model: str, messages: Any, args: argparse.Namespace) -> Any:
    if args.local or not _has_endpoint(model):
        # a provider without a counting endpoint is counted locally anyway (no client: no key needed)
        from ._tokens import count_tokens

        return count_tokens(model, messages)
    client_args: Dict[str, Any] = {}
    options: Dict[str, Any] = {}
    if args.api_key is not None:
        key = read_at_file(args.api_key, "--api-key").strip()
        if not key:
            raise UsageError("--api-key is empty")
        client_args["api_key"] = key
    for name, value in (("base_url", args.base_url), ("max_retries", args.max_retries), ("timeout", args.timeout)):
        if value is not None:
            client_args[name] = value
    from ._registry import provider_settings
    from ._sync._client import CLIENT_ARGS, Client

    settings = CLIENT_ARGS + provider_settings(model)
    for name, value in args.option or []:
        (client_args if name in settings else options)[name] = value
    with Client(model, **client_args) as client:
        return client.count_tokens(messages, **options)


def _has_endpoint(model: str) -> bool:
    """Whether the provider may count with an endpoint (an unknown provider: let the Client say)."""
    from ._registry import PROVIDERS

    info = PROVIDERS.get(model.partition("/")[0].lower())
    return info is None or bool(info.codec.token_endpoint)


# -- providers, emulator ---------------------------------------------------------------------------

def providers(out: Optional[TextIO] = None) -> int:
    out = out or sys.stdout
    from ._registry import PROVIDERS

    for p in PROVIDERS.values():
        envs = " or ".join(p.api_key_envs)
        token = " or a token" if p.token_auth is not None else ""  # Azure: an Entra ID token
        key = envs + (f" (required{token})" if p.key_required else " (optional)") if envs else (
            "api_key= (a key or a token)" if p.token_auth is not None else "-")
        print(f"{p.name:<11} {p.description:<34} key: {key:<32} url: {p.base_url_env} / {p.base_url or '(required)'}", file=out)
        for s in p.settings:
            source = " or ".join(s.envs) or "argument only"
            default = f", default {s.default}" if s.default is not None else (", required" if s.required else "")
            print(f"{'':<11} setting {s.name}= ({source}{default})", file=out)
    return EXIT_OK


def models_info(model: str, base_model: Optional[str] = None, as_json: bool = False,
                out: Optional[TextIO] = None) -> int:
    """Print what the bundled registry knows about ``model``; an unknown model is not an error
    (it works, with every fact unknown), so it says so and exits 0."""
    import json

    from ._models import model_info

    out = out or sys.stdout
    facts = model_info(model, base_model=base_model)
    data = facts.to_dict()
    if as_json:
        print(json.dumps(data, indent=2, ensure_ascii=False), file=out)
        return EXIT_OK
    if not facts.known:
        print(f"{model}: not in the registry: it works, with its limits, capabilities and prices unknown "
              "(llm.register_model or LLMUNIFIED_MODELS add it)", file=out)
        return EXIT_OK
    prices = data.pop("prices", None)
    source = data.pop("source", None)
    for key in ("model", "provider", "known"):
        data.pop(key, None)
    print(facts.model + (f"  ({data.pop('name')})" if "name" in data else ""), file=out)
    for key, value in data.items():
        shown = ", ".join(value) if isinstance(value, list) else ("yes" if value is True else "no" if value is False
                                                                   else value)
        print(f"  {key.replace('_', ' '):<27} {shown}", file=out)
    if prices:
        currency, date = prices.pop("currency", "USD"), prices.pop("date", None)
        tiers = prices.pop("tiers", None)
        parts = ", ".join(f"{k.replace('_', ' ')} {v:g}" for k, v in prices.items())
        print(f"  {'prices per 1M tokens':<27} {parts} {currency}" + (f" (as of {date})" if date else ""), file=out)
        for tier in tiers or ():
            above = tier.pop("above", None) if isinstance(tier, dict) else None
            rest = ", ".join(f"{k.replace('_', ' ')} {v:g}" for k, v in tier.items() if isinstance(v, (int, float)))
            print(f"  {'':<27} above {above} input tokens: {rest}", file=out)
    else:
        print(f"  {'prices':<27} unknown (cost will be None)", file=out)
    if source:
        print(f"  {'source':<27} {source}", file=out)
    return EXIT_OK


def serve_emulator(port: int, out: Optional[TextIO] = None) -> int:
    """Serve the emulator until Ctrl-C (echo replies); print the variable that points clients at it."""
    out = out or sys.stdout
    from .testing import Emulator

    try:
        emulator = Emulator(port=port).start()
    except OSError as exc:
        raise UsageError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    try:
        print(f"the llmunified emulator is listening on {emulator.base_url} (every provider's wire format; "
              "it echoes each message)", file=out)
        print(f"point any llmunified program at it:  export LLMUNIFIED_EMULATOR={emulator.base_url}", file=out)
        print("Ctrl-C stops it.", file=out, flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("\nstopped.", file=out)
        return EXIT_OK
    finally:
        emulator.stop()


# -- the command line ------------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line on stderr (and exit code 2), not the usage block."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def _whole(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1" if minimum == 1 else
                                         f"{text!r} must not be negative")
    return value


def _positive_int(text: str) -> int:
    return _whole(text, 1)


def _count(text: str) -> int:
    return _whole(text, 0)


def parse_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0 seconds")
    return value


def _temperature(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 2:
        raise argparse.ArgumentTypeError(f"{text!r} is not between 0 and 2")
    return value


def _reasoning(text: str) -> Any:
    lowered = text.strip().lower()
    if lowered in ("off", "none", "false", "no"):
        return False
    if lowered.isdigit():
        return _positive_int(lowered)
    if lowered in ("minimal", "low", "medium", "high"):
        return lowered
    raise argparse.ArgumentTypeError(f"{text!r}: use minimal, low, medium, high, a token budget or off")


def parse_option(text: str) -> Tuple[str, Any]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip().isidentifier():
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE (e.g. -o top_p=0.9 or -o project=my-project)")
    try:
        parsed: Any = json.loads(value)
    except ValueError:
        parsed = value
    return name.strip(), parsed


def _admin_arguments(p: argparse.ArgumentParser) -> None:
    """The connection options of ``models`` and ``pull``."""
    p.add_argument("--api-key", help="the provider's API key (or @file); by default its environment variable")
    p.add_argument("--base-url", help="API root, e.g. http://localhost:11434")
    p.add_argument("--emulator", action="store_true", help="use the built-in emulator: no key, no network")
    p.add_argument("-o", "--option", type=parse_option, action="append", metavar="NAME=VALUE",
                   help="a provider setting (-o project=my-project); repeatable")
    p.add_argument("--timeout", type=parse_seconds, help="seconds to wait for the server (default 600)")


def build_parser() -> argparse.ArgumentParser:
    from ._version import __version__

    epilog = "exit codes: " + "; ".join(f"{code} {meaning}" for code, meaning in EXIT_CODES.items())
    parser = _Parser(prog=PROG, description="Talk to any LLM provider.", epilog=epilog)
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    d = sub.add_parser("demo", help="a short tour against a local model or the built-in emulator")
    d.add_argument("--emulator", action="store_true", help="use the emulator even if a local model answers")
    c = sub.add_parser(
        "chat", help="stream a reply, or chat interactively",
        description="Stream one reply to PROMPT (text piped on standard input comes before it), or chat "
                    "interactively when there is no prompt on a terminal (or with -i). Arguments starting "
                    "with @ are read from that file (@@ for a literal @).",
        epilog=epilog)
    c.add_argument("prompt", nargs="*", help="the prompt (words are joined; @file reads a file)")
    c.add_argument("-m", "--model", help="provider/model, e.g. ollama/llama3.2 (default: $LLMUNIFIED_MODEL)")
    c.add_argument("-i", "--interactive", action="store_true", help="keep chatting after the first reply")
    c.add_argument("-s", "--system", help="system prompt (TEXT or @file)")
    c.add_argument("--api-key", help="the provider's API key (or @file); by default its environment variable")
    c.add_argument("--base-url", help="API root, e.g. http://localhost:1234/v1")
    c.add_argument("--emulator", action="store_true",
                   help="talk to the built-in emulator (echoes, with some thinking): no key, no network")
    c.add_argument("-t", "--temperature", type=_temperature, help="0 to 2")
    c.add_argument("--max-tokens", type=_positive_int, help="longest reply, in tokens")
    c.add_argument("-r", "--reasoning", type=_reasoning, help="minimal, low, medium, high, a token budget, or off")
    c.add_argument("-o", "--option", type=parse_option, action="append", metavar="NAME=VALUE",
                   help="any other option or provider setting (-o top_p=0.9 -o project=my-project); repeatable")
    c.add_argument("--max-retries", type=_count, help="retries on rate limits and server errors (default 2)")
    c.add_argument("--timeout", type=parse_seconds, help="seconds to wait for the server (default 600)")
    c.add_argument("--thinking", action=argparse.BooleanOptionalAction, default=None,
                   help="show the model's thinking, dimmed (default: on a terminal)")
    c.add_argument("--usage", action=argparse.BooleanOptionalAction, default=None,
                   help="tokens and cost after each reply (default: interactive only; on stderr otherwise)")
    c.add_argument("--no-color", action="store_true", help="no colour (also NO_COLOR=1)")
    c.add_argument("--tool", action="append", metavar="MODULE:NAME",
                   help="a tool the model may call: a function (or llm.Tool) in an importable module or a "
                        ".py file (pkg.tools:get_weather, ./tools.py:get_weather); repeatable. Each call is "
                        "shown and asked y/n first")
    c.add_argument("-y", "--yes", "--auto-approve", dest="yes", action="store_true",
                   help="run the --tool calls without asking")
    sub.add_parser("providers", help="list known providers and their environment variables")
    m = sub.add_parser("models", help="list a provider's models; 'models info' for what the registry knows",
                       description="Without a subcommand: the models the provider offers (id, context window, "
                                   "size; for Ollama whether each is loaded), from its API.", epilog=epilog)
    m.add_argument("-m", "--model", dest="list_model", metavar="PROVIDER",
                   help="provider or provider/model, e.g. ollama or openai (default: $LLMUNIFIED_MODEL)")
    _admin_arguments(m)
    m.add_argument("--json", action="store_true", help="the models as JSON")
    msub = m.add_subparsers(dest="models_command", parser_class=_Parser)
    info = msub.add_parser("info", help="limits, capabilities and prices of one model")
    info.add_argument("model", help="provider/model, e.g. anthropic/claude-sonnet-4-5")
    info.add_argument("--base-model", help="the model behind a deployment (Azure), e.g. gpt-4o")
    info.add_argument("--json", action="store_true", help="the facts as JSON")
    em = sub.add_parser("embed", help="embed texts: one JSON line {index, embedding} per input",
                        description="Print one JSON line per input, {\"index\": i, \"embedding\": [...]}, in input "
                                    "order. Without TEXT, each non-empty line on standard input is one input.",
                        epilog=epilog)
    em.add_argument("text", nargs="*", help="texts to embed (@file reads a file as one text)")
    em.add_argument("-m", "--model", help="provider/model, e.g. openai/text-embedding-3-small "
                                          "(default: $LLMUNIFIED_EMBED_MODEL)")
    em.add_argument("--dimensions", type=_positive_int, help="vector size, where the model can change it")
    em.add_argument("--input-type", help="search_document (default on Cohere), search_query, classification, "
                                         "clustering, or Gemini's task type")
    em.add_argument("--batch-size", type=_positive_int, help="inputs per request (default: the provider's limit)")
    em.add_argument("--api-key", help="the provider's API key (or @file); by default its environment variable")
    em.add_argument("--base-url", help="API root, e.g. http://localhost:11434")
    em.add_argument("--emulator", action="store_true", help="embed with the built-in emulator: no key, no network")
    em.add_argument("-o", "--option", type=parse_option, action="append", metavar="NAME=VALUE",
                    help="another embed option or provider setting (-o truncate=true -o project=p); repeatable")
    em.add_argument("--max-retries", type=_count, help="retries on rate limits and server errors (default 2)")
    em.add_argument("--timeout", type=parse_seconds, help="seconds to wait for the server (default 600)")
    _add_tokens_parser(sub, epilog)
    from ._cli_map import add_parser as add_map_parser

    add_map_parser(sub, epilog)
    from ._cli_batch import add_parser as add_batch_parser

    add_batch_parser(sub, epilog)
    pl = sub.add_parser("pull", help="download a model to the Ollama server, with a progress bar",
                        description="Download NAME to the Ollama server (OLLAMA_HOST, --base-url, or -m with a "
                                    "provider speaking Ollama's API): a progress bar on a terminal (bytes, rate, "
                                    "ETA), one line per step otherwise.", epilog=epilog)
    pl.add_argument("name", help="the model, e.g. llama3.2 or qwen3:4b")
    pl.add_argument("-m", "--model", dest="pull_model", metavar="PROVIDER", help="the provider (default: ollama)")
    pl.add_argument("--insecure", action="store_true", help="allow a registry without TLS")
    pl.add_argument("--no-color", action="store_true", help="no colour (also NO_COLOR=1)")
    _admin_arguments(pl)
    e = sub.add_parser("emulator", help="serve the emulator on 127.0.0.1 until Ctrl-C")
    e.add_argument("--port", type=_count, default=0, help="TCP port (default: a free one)")
    return parser


def _silence_stdout() -> None:
    """After the reader went away: point stdout at /dev/null so the interpreter's final flush
    does not print a BrokenPipeError."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command; returns the exit code (see ``EXIT_CODES``)."""
    from .errors import LLMError

    try:
        try:
            parser = build_parser()
            args = parser.parse_args(argv)
            if args.command == "demo":
                code = demo(use_local=not args.emulator)
            elif args.command == "chat":
                code = chat_command(args)
            elif args.command == "providers":
                code = providers()
            elif args.command == "models":
                if args.models_command is None:
                    code = models_command(args)
                else:
                    code = models_info(args.model, args.base_model, args.json)
            elif args.command == "pull":
                code = pull_command(args)
            elif args.command == "embed":
                code = embed_command(args)
            elif args.command == "emulator":
                code = serve_emulator(args.port)
            elif args.command == "tokens":
                code = tokens_command(args)
            elif args.command == "map":
                from ._cli_map import map_command

                code = map_command(args)
            elif args.command == "batch":
                from ._cli_batch import batch_command

                code = batch_command(args)
            else:
                parser.print_help()
                code = EXIT_USAGE
            sys.stdout.flush()  # a closed pipe shows up here, inside the handlers below
            return code
        except (UsageError, LLMError) as exc:
            return _report(exc)
    except KeyboardInterrupt:
        try:
            sys.stdout.flush()
            sys.stderr.write("\n")
        except (OSError, ValueError):
            pass
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
