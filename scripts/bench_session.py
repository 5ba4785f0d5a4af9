"""Benchmark: preparing a ChatSession send (count + truncate) with 10,000 messages in history.

Budget (issue 3, section 4): after the first send, a session holding 10,000 messages prepares a
send in under 5 ms. This measures the sans-IO part that does it, ``History``: build a realistic
history (user questions, assistant answers, tool-call turns with their results, the odd image),
select once (which counts every message), then repeatedly append one user message and select
again with a budget tight enough that old turns are dropped on the way. The assistant reply
appended after each timed step (as a session would) is not timed.

    python scripts/bench_session.py [--messages 10000] [--runs 2000] [--counter openai]

Prints the first (cold) selection, then median / p90 / max of the warm ones, in milliseconds.
Exit status 1 when the median misses the 5 ms budget.
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


def build_messages(n: int, seed: int = 1) -> list:
    """A realistic conversation of about ``n`` messages (system prompt first)."""
    rng = random.Random(seed)
    msgs = [system("You are a helpful assistant. Answer concisely and cite tools when you use them.")]
    call = 0
    while len(msgs) < n:
        msgs.append(user(_text(rng, 5, 60)) if rng.random() > 0.05 else
                    user([TextPart(_text(rng, 3, 12)), ImagePart(url="https://example.com/photo.jpg")]))
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--counter", default="openai", help="estimate family (openai, anthropic, llama, default)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)

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
