"""Benchmarks of ChatSession's sans-IO work with 10,000 messages in history (three modes).

Default mode (budget, issue 3 section 4): after the first send, a session holding 10,000
messages prepares a send in under 5 ms. This measures the sans-IO part that does it,
``History``: build a realistic history (user questions, assistant answers, tool-call turns with
their results, the odd image), select once (which counts every message), then repeatedly append
one user message and select again with a budget tight enough that old turns are dropped on the
way. The assistant reply appended after each timed step (as a session would) is not timed.

    python scripts/bench_session.py [--messages 10000] [--runs 2000] [--counter openai]

Prints the first (cold) selection, then median / p90 / max of the warm ones, in milliseconds.
Exit status 1 when the median misses the 5 ms budget.

``--send`` (no budget, the speed issue's goal 2): a send's preparation as ``ChatSession.send``
does it, without the network: the session appends the user turn and selects the history
(``SessionState.prepare``), and the client's ``Endpoint`` builds the request, body bytes
included (``Endpoint.chat``). Timed for a session of 1 message and of ``--messages``, on each
codec (openai, anthropic, ollama); the reply is appended after each timed step, untimed. The
budget: the long session's median at most 5 ms over the 1-message one. ``--cold`` also shows the
first send of the long session (nothing cached yet).

    python scripts/bench_session.py --send [--messages 10000] [--runs 200]

``--load`` (the speed issue's goal 3): ``ChatSession.from_dict`` and ``ChatSession.load`` of a
saved session of ``--messages`` messages; budget 50 ms each (median).

    python scripts/bench_session.py --load [--messages 10000] [--runs 20]
"""
import argparse
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from llmunified._history import History  # noqa: E402
from llmunified._tokens import EstimateCounter, prompt_overhead  # noqa: E402
from llmunified._types import (ImagePart, Message, TextPart, Tool, ToolCall, assistant, system,  # noqa: E402
                               tool_result, user)

BUDGET_MS = 5.0

_WORDS = ("the of and to in is that for it as was with be by on not he this are or his from at which but have "
          "an they you were her she there been one all we their has would when if so what up out about into "
          "than them can only other new some could time these two may then do first any my now such like our "
          "over man me even most made after also did many before must through back years where much your way "
          "well down should because each just those people how too little state good very make world still "
          "own see men work long get here between both life being under never day same another know while last "
          "paris weather tokens python asyncio history budget context window model provider stream").split()


def _text(rng: random.Random, lo: int, hi: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(lo, hi))).capitalize() + "."


_PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def build_messages(n: int, seed: int = 1, inline_images: bool = False) -> list:
    """A realistic conversation of about ``n`` messages (system prompt first). Images are URLs,
    or with ``inline_images`` base64 data (which every codec accepts; Ollama takes no URLs)."""
    rng = random.Random(seed)
    image = ImagePart(data=_PIXEL, media_type="image/png") if inline_images else ImagePart(
        url="https://example.com/photo.jpg")
    msgs = [system("You are a helpful assistant. Answer concisely and cite tools when you use them.")]
    call = 0
    while len(msgs) < n:
        msgs.append(user(_text(rng, 5, 60)) if rng.random() > 0.05 else
                    user([TextPart(_text(rng, 3, 12)), image]))
        if rng.random() < 0.3:  # a tool loop: one or two calls, their results, then the answer
            calls = []
            for _ in range(rng.randint(1, 2)):
                call += 1
                calls.append(ToolCall(f"call_{call}", rng.choice(["get_weather", "search", "lookup"]),
                                      {"query": _text(rng, 2, 6), "limit": rng.randint(1, 10)}))
            msgs.append(assistant("", tool_calls=calls))
            for c in calls:
                msgs.append(tool_result(c.id, {"results": [_text(rng, 5, 25) for _ in range(rng.randint(1, 3))]}))
        msgs.append(assistant(_text(rng, 20, 200)))
    return msgs[:n]


def _summary(times: list) -> str:
    times = sorted(times)
    return (f"median {statistics.median(times):7.3f} ms, p90 {times[int(len(times) * 0.9)]:7.3f} ms, "
            f"max {times[-1]:7.3f} ms")


def _wire_body_hook() -> str:
    """Route request bodies through ``llmunified._wirecache.encode_body`` (the cached messages'
    JSON spliced in) if ``Codec.request`` does not yet: returns what was done."""
    from llmunified._wirecache import encode_body
    from llmunified.providers._base import Codec

    if "encode_body" in Codec.request.__code__.co_names:
        return "request bodies: Codec.request uses encode_body"
    original = Codec.request

    def request(self, method, path, headers, body=None, stream=False):  # type: ignore[no-untyped-def]
        if body is not None and not isinstance(body, bytes):
            body = encode_body(body)
        return original(self, method, path, headers, body, stream)

    Codec.request = request  # type: ignore[method-assign]
    return "request bodies: encode_body hook NOT in Codec.request yet; the benchmark installs it"


def send_main(args: argparse.Namespace) -> int:
    from llmunified._endpoint import Endpoint
    from llmunified._session_core import SessionState
    from llmunified._types import Response

    if not args.no_hook:
        print(_wire_body_hook())
    rng = random.Random(args.seed + 1)
    replies = [assistant(_text(rng, 20, 200)) for _ in range(64)]
    questions = [_text(rng, 5, 60) for _ in range(64)]
    history = build_messages(args.messages, args.seed, inline_images=True)
    ok = True
    for provider in ("openai", "anthropic", "ollama"):
        endpoint = Endpoint(f"{provider}/bench-model", api_key="sk-bench-0123456789abcdef")
        medians = {}
        for n in (1, args.messages):
            state = SessionState(provider, "bench-model", history[0].text, max_context_tokens=None)
            state.history.extend(history[1:n])
            cold = None
            times = []
            for i in range(args.runs + 1):
                t0 = time.perf_counter()
                _mark, selection = state.prepare(questions[i % 64])
                call = endpoint.chat(selection.messages, state.call_options({}), stream=False)
                elapsed = (time.perf_counter() - t0) * 1000
                assert call.request.body
                state.commit(selection, Response(Message("assistant", replies[i % 64].content)))
                if i == 0:
                    cold = elapsed
                else:
                    times.append(elapsed)
            medians[n] = statistics.median(times)
            print(f"{provider:9} {n:6,} messages: {_summary(times)}" + (f"; first send {cold:.1f} ms" if args.cold
                                                                          else ""))
        over = medians[args.messages] - medians[1]
        good = over <= BUDGET_MS
        ok = ok and good
        print(f"{provider:9} {args.messages:,} messages cost {over:.3f} ms over 1 (budget {BUDGET_MS} ms): "
              f"{'OK' if good else 'MISSED'}")
    return 0 if ok else 1


LOAD_BUDGET_MS = 50.0


def load_main(args: argparse.Namespace) -> int:
    import gc
    import tempfile

    import llmunified as llm
    from llmunified._session_core import SessionState

    state = SessionState("openai", "bench-model", "You are a helpful assistant.")
    state.history.extend(build_messages(args.messages, args.seed)[1:])
    data = state.to_dict("openai/bench-model")
    client = llm.Client("openai/bench-model", api_key="sk-bench-0123456789abcdef")
    ok = True
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "session.json")
        llm.ChatSession.from_dict(data, client).save(path)
        for label, load in (("ChatSession.from_dict", lambda: llm.ChatSession.from_dict(data, client)),
                            ("ChatSession.load", lambda: llm.ChatSession.load(path, client))):
            times = []
            for _ in range(args.runs):
                session = None
                gc.collect()  # each run is one load in a settled process, not after the last run's garbage
                t0 = time.perf_counter()
                session = load()
                times.append((time.perf_counter() - t0) * 1000)
            assert session is not None and len(session.messages) == args.messages
            good = statistics.median(times) <= LOAD_BUDGET_MS
            ok = ok and good
            print(f"{label:22} {args.messages:,} messages: {_summary(times)} (budget {LOAD_BUDGET_MS:.0f} ms: "
                  f"{'OK' if good else 'MISSED'})")
    client.close()
    return 0 if ok else 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=None, help="timed runs (default 2000; --send 200; --load 20)")
    ap.add_argument("--counter", default="openai", help="estimate family (openai, anthropic, llama, default)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--send", action="store_true", help="time a send's preparation, no budget (see above)")
    ap.add_argument("--cold", action="store_true", help="with --send: also show the first send")
    ap.add_argument("--no-hook", action="store_true",
                    help="with --send: leave Codec.request as it is (no encode_body)")
    ap.add_argument("--load", action="store_true", help="time ChatSession.from_dict and load (see above)")
    args = ap.parse_args(argv)
    if args.send:
        args.runs = args.runs or 200
        return send_main(args)
    if args.load:
        args.runs = args.runs or 20
        return load_main(args)
    args.runs = args.runs or 2000

    rng = random.Random(args.seed + 1)
    counter = EstimateCounter(args.counter)
    messages = build_messages(args.messages, args.seed)
    overhead = prompt_overhead(counter, [Tool("get_weather", "Weather for a city",
                                              {"type": "object", "properties": {"city": {"type": "string"}}})])
    history = History(counter, messages)

    total = sum(counter.count(m) for m in messages)
    budget = total // 2  # half the history fits: every send must truncate

    t0 = time.perf_counter()
    first = history.select(budget, overhead=overhead)
    cold_ms = (time.perf_counter() - t0) * 1000

    replies = [assistant(_text(rng, 20, 200)) for _ in range(64)]
    questions = [user(_text(rng, 5, 60)) for _ in range(64)]
    times = []
    dropped = 0
    sent = 0
    for i in range(args.runs):
        q = Message("user", questions[i % 64].content)  # a new message object each time, as in a session
        t0 = time.perf_counter()
        history.append(q)
        sel = history.select(budget, overhead=overhead)
        times.append((time.perf_counter() - t0) * 1000)
        dropped += len(sel.dropped)
        sent += len(sel.messages)
        history.append(Message("assistant", replies[i % 64].content))

    times.sort()
    median = statistics.median(times)
    p90 = times[int(len(times) * 0.9)]
    print(f"history: {args.messages:,} messages, ~{total:,} tokens ({counter.name}); budget {budget:,} tokens, "
          f"overhead {overhead}")
    print(f"first select (counts every message): {cold_ms:.2f} ms; kept {len(first.messages):,}, "
          f"dropped {len(first.dropped):,}")
    print(f"append 1 user message + select, {args.runs} runs: median {median:.3f} ms, p90 {p90:.3f} ms, "
          f"max {times[-1]:.3f} ms (avg {sent / args.runs:,.0f} messages sent, {dropped:,} dropped in total)")
    ok = median < BUDGET_MS
    print(f"budget {BUDGET_MS} ms: {'OK' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
