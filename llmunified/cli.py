"""The ``llmunified`` command (also ``python -m llmunified``).

    llmunified demo                       a short tour, against a local model or the emulator
    llmunified chat -m MODEL "prompt"     stream one reply to the terminal
    llmunified chat -m MODEL -i           interactive chat keeping history
    llmunified providers                  the known providers and their environment variables
"""
import argparse
import json
import os
import sys
import urllib.request
from typing import Any, List, Optional, Sequence, TextIO, Tuple

__all__ = ["main"]


def _probe(url: str, timeout: float = 0.5) -> Optional[Any]:
    """GET a local URL; the decoded JSON, or None when nothing useful answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - local probe only
            if resp.status != 200:
                return None
            return json.loads(resp.read())
    except Exception:  # connection refused, timeout, not JSON: nobody useful there
        return None


def find_local_model() -> Optional[Tuple[str, str, str]]:
    """(label, model, base_url) of a local Ollama or LM Studio that has a model, else None."""
    from .providers.ollama import normalise_host

    host = os.environ.get("OLLAMA_HOST")
    ollama = normalise_host(host) if host else "http://localhost:11434"
    tags = _probe(ollama + "/api/tags")
    if isinstance(tags, dict) and tags.get("models"):
        name = tags["models"][0].get("name") or tags["models"][0].get("model")
        if name:
            return "local Ollama at " + ollama, "ollama/" + name, ollama
    lmstudio = os.environ.get("LMSTUDIO_BASE_URL", "http://localhost:1234/v1").rstrip("/")
    models = _probe(lmstudio + "/models")
    if isinstance(models, dict) and models.get("data"):
        name = models["data"][0].get("id")
        if name:
            return "local LM Studio at " + lmstudio, "lmstudio/" + name, lmstudio
    return None


def _weather_tool() -> Any:
    import llmunified as llm

    return llm.Tool("get_weather", "Current weather for a city.", {
        "type": "object", "properties": {"city": {"type": "string", "description": "City name"}},
        "required": ["city"]})


def _fake_weather(city: str) -> str:
    return json.dumps({"city": city, "temperature_c": 18, "sky": "clear"})


def demo(out: Optional[TextIO] = None, use_local: bool = True) -> int:
    """The tour: complete, stream, a tool-call round trip; sync then async."""
    out = out or sys.stdout
    import llmunified as llm

    found = find_local_model() if use_local else None
    emulator = None
    if found is None:
        from .testing import Emulator, Reply, ToolCallSpec

        emulator = Emulator()
        emulator.start()
        label, model, base_url = "the built-in emulator (no local Ollama or LM Studio answered)", \
            "openai/demo-model", emulator.url_for("openai")
        script = [
            Reply(text="Paris is the capital of France."),
            Reply(text="Once upon a time, a tiny model streamed its first story, token by token."),
            Reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})]),
            Reply(text="It is 18 degrees and clear in Paris."),
        ]
        for reply in script + script:  # once for the sync tour, once for the async one
            emulator.queue(reply)
    else:
        label, model, base_url = found
    print(f"llmunified {llm.__version__} demo, using {label}", file=out)
    print(f"model: {model}\n", file=out)
    key = "demo-key" if emulator is not None else None
    try:
        _tour_sync(model, base_url, key, out)
        _tour_async(model, base_url, key, out)
    finally:
        if emulator is not None:
            emulator.stop()
    print("\ndone.", file=out)
    return 0


def _tool_round_trip(reply: Any) -> Optional[List[Any]]:
    import llmunified as llm

    if not reply.tool_calls:
        return None
    results = [llm.tool_result(c.id, _fake_weather(**c.arguments) if "city" in c.arguments else "{}", name=c.name)
               for c in reply.tool_calls]
    return [reply.message] + results


def _tour_sync(model: str, base_url: str, key: Optional[str], out: TextIO) -> None:
    import llmunified as llm

    print("== sync (import llmunified) ==", file=out)
    with llm.Client(model, base_url=base_url, api_key=key, max_tokens=200) as client:
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
        first = client.complete(question, tools=[_weather_tool()])
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

    async def tour() -> None:
        print("\n== async (import llmunified_async) ==", file=out)
        async with allm.Client(model, base_url=base_url, api_key=key, max_tokens=200) as client:
            reply = await client.complete("In one sentence: what is the capital of France?")
            print(f"complete -> {reply.text.strip()!r}", file=out)
            print("stream   -> ", end="", file=out)
            async with client.stream("Tell a two-sentence story about a tiny model.") as stream:
                async for event in stream:
                    if event.type == "text":
                        print(event.text, end="", file=out, flush=True)
            print(f" [{stream.response.finish_reason}]", file=out)
            question = [allm.user("What's the weather in Paris? Use the tool.")]
            first = await client.complete(question, tools=[_weather_tool()])
            follow = _tool_round_trip(first)
            if follow is None:
                print("tools    -> the model answered without calling the tool", file=out)
            else:
                final = await client.complete(question + follow, tools=[_weather_tool()])
                print(f"tools    -> called {first.tool_calls[0].name}; then: {final.text.strip()!r}", file=out)

    asyncio.run(tour())


def chat(model: str, prompt: Optional[str], interactive: bool, system: Optional[str], options: dict,
         client_args: dict, out: Optional[TextIO] = None, inp: Optional[TextIO] = None) -> int:
    out = out or sys.stdout
    inp = inp or sys.stdin
    import llmunified as llm
    from .errors import LLMError

    history: List[Any] = [llm.system(system)] if system else []
    try:
        with llm.Client(model, **client_args, **options) as client:
            pending = prompt
            while True:
                if pending is None:
                    if not interactive:
                        break
                    try:
                        out.write("> ")
                        out.flush()
                        line = inp.readline()
                    except KeyboardInterrupt:
                        break
                    if not line or line.strip() in ("/exit", "/quit"):
                        break
                    pending = line.strip()
                    if not pending:
                        pending = None
                        continue
                history.append(llm.user(pending))
                pending = None
                try:
                    with client.stream(history) as stream:
                        for event in stream:
                            if event.type == "text":
                                out.write(event.text)
                                out.flush()
                    out.write("\n")
                    history.append(stream.response.message)
                except LLMError as exc:
                    history.pop()
                    print(f"error: {exc}", file=sys.stderr)
                    if not interactive:
                        return 1
                if not interactive:
                    break
    except LLMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def providers(out: Optional[TextIO] = None) -> int:
    out = out or sys.stdout
    from ._registry import PROVIDERS

    for p in PROVIDERS.values():
        envs = " or ".join(p.api_key_envs)
        key = envs + (" (required)" if p.key_required else " (optional)") if envs else "-"
        print(f"{p.name:<11} {p.description:<34} key: {key:<32} url: {p.base_url_env} / {p.base_url or '(required)'}", file=out)
        for s in p.settings:
            source = " or ".join(s.envs) or "argument only"
            default = f", default {s.default}" if s.default is not None else (", required" if s.required else "")
            print(f"{'':<11} setting {s.name}= ({source}{default})", file=out)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="llmunified", description="Talk to any LLM provider.")
    sub = parser.add_subparsers(dest="command")
    d = sub.add_parser("demo", help="a short tour against a local model or the built-in emulator")
    d.add_argument("--emulator", action="store_true", help="use the emulator even if a local model answers")
    c = sub.add_parser("chat", help="stream a reply (or chat with -i)")
    c.add_argument("-m", "--model", required=True, help="provider/model, e.g. ollama/llama3.2")
    c.add_argument("prompt", nargs="?", help="the prompt (omit with -i)")
    c.add_argument("-i", "--interactive", action="store_true", help="keep chatting, with history")
    c.add_argument("-s", "--system", help="system prompt")
    c.add_argument("-t", "--temperature", type=float)
    c.add_argument("--max-tokens", type=int)
    c.add_argument("--base-url", help="API root, e.g. http://localhost:1234/v1")
    sub.add_parser("providers", help="list known providers and their environment variables")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return demo(use_local=not args.emulator)
    if args.command == "chat":
        if not args.prompt and not args.interactive:
            parser.error("chat needs a prompt, or -i for an interactive session")
        options = {k: v for k, v in (("temperature", args.temperature), ("max_tokens", args.max_tokens))
                   if v is not None}
        client_args = {"base_url": args.base_url} if args.base_url else {}
        return chat(args.model, args.prompt, args.interactive, args.system, options, client_args)
    if args.command == "providers":
        return providers()
    parser.print_help()
    return 2
