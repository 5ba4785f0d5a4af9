"""Building a 100,000-request batch file, and reading 100,000 results (budget: build < 2 s,
memory flat in both).

    python scripts/bench_batch.py [--n 100000] [--provider openai|anthropic|gemini] [--profile]

Build: ``llmunified._batch.plan_batch`` (the code path of ``Client.batch``, without the network)
turns ``n`` prompts, given by a generator, into the provider's JSONL entries, spooled to a
temporary file; each prompt's body is the one the codec builds for a normal call. A second
build with per-request options (``max_tokens``, and an own custom id on every tenth request)
shows the path that cannot use the shared template. Read: a results file of ``n`` lines in the
provider's format is read back in 1 MiB chunks through ``ResultReader`` (every line parsed into a
``Response`` by the codec), in input order, and in reverse order (the worst case: every result
arrives before its turn; past ``ResultReader.hold_in_memory`` the early ones wait in a spill
file as raw lines, an offset each in memory). Wall time is measured without tracemalloc, the
peak of Python allocations in a second run with it; both at ``n`` and at ``n / 10`` (a flat peak does
not grow with ``n``). ``--profile`` prints the cProfile top 25 of the build. Exits 1 when the
build is over budget.
"""
import argparse
import cProfile
import gc
import json
import os
import pstats
import sys
import tempfile
import time
import tracemalloc
from typing import Any, Callable, Iterator, Tuple

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import llmunified as llm  # noqa: E402
from llmunified._batch import ResultReader, plan_batch  # noqa: E402

BUDGET_S = 2.0
MODELS = {"openai": "openai/gpt-4o-mini", "anthropic": "anthropic/claude-sonnet-4-5",
          "gemini": "gemini/gemini-2.5-flash"}


def prompts(n: int) -> Iterator[str]:
    for i in range(n):
        yield f"Classify the sentiment of review {i}: 'The product arrived on time and works as described.'"


def with_options(n: int) -> Iterator[Any]:
    for i in range(n):
        item = {"messages": f"Summarise ticket {i} in one line.", "max_tokens": 64 + i % 3}
        if i % 10 == 0:
            item["custom_id"] = f"ticket-{i}"
        yield item


def measure(fn: Callable[[], Any]) -> Tuple[float, float, Any]:
    """(seconds, peak MiB of Python allocations, result) of ``fn`` (timed without tracemalloc)."""
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    _drop(out)
    gc.collect()
    tracemalloc.start()
    out = fn()
    peak = tracemalloc.get_traced_memory()[1] / (1 << 20)
    tracemalloc.stop()
    return seconds, peak, out


def _drop(out: Any) -> None:
    drop = getattr(out, "drop_spool", None)
    if drop is not None:
        drop()


def result_line(provider: str, cid: str, i: int) -> bytes:
    text = f"Positive (review {i})."
    if provider == "openai":
        body = {"id": f"chatcmpl-{i}", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o-mini",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25}}
        obj = {"id": f"batch_req_{i}", "custom_id": cid, "response": {"status_code": 200, "body": body}, "error": None}
    elif provider == "anthropic":
        obj = {"custom_id": cid, "result": {"type": "succeeded", "message": {
            "id": f"msg_{i}", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "usage": {"input_tokens": 20, "output_tokens": 5}}}}
    else:
        obj = {"key": cid, "response": {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                                                        "finishReason": "STOP"}],
                                        "usageMetadata": {"promptTokenCount": 20, "candidatesTokenCount": 5}}}
    return json.dumps(obj).encode() + b"\n"


def write_results(provider: str, path: str, n: int, reverse: bool) -> None:
    order = range(n - 1, -1, -1) if reverse else range(n)
    with open(path, "wb") as f:
        buf = []
        for i in order:
            buf.append(result_line(provider, f"request-{i}", i))
            if len(buf) >= 2000:
                f.write(b"".join(buf))
                buf = []
        f.write(b"".join(buf))


def read_results(codec: Any, order: Any, path: str) -> int:
    reader = ResultReader(codec, order)
    count = ok = 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            for result in reader.iter_feed(chunk):  # as BatchJob.results() reads them
                count += 1
                ok += result.ok
    for result in reader.iter_finish():
        count += 1
        ok += result.ok
    assert count == ok == len(order), (count, ok, len(order))
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="requests in the batch")
    parser.add_argument("--provider", choices=sorted(MODELS), default="openai")
    parser.add_argument("--profile", action="store_true", help="print the cProfile top 25 of the build")
    parser.add_argument("--skip-read", action="store_true", help="only the build")
    args = parser.parse_args()

    client = llm.Client(MODELS[args.provider], api_key="sk-bench-not-sent", max_tokens=100)
    endpoint = client._endpoint
    codec = endpoint.codec
    status = 0
    print(f"{args.provider}: n={args.n:,}")
    for label, make in (("plain prompts", prompts), ("per-request options, some own ids", with_options)):
        for n in (args.n // 10, args.n):
            seconds, peak, plan = measure(lambda: plan_batch(endpoint, make(n), None, {"temperature": 0.2}))
            size = plan.size
            _drop(plan)
            over = " OVER BUDGET" if n == args.n and label == "plain prompts" and seconds > BUDGET_S else ""
            print(f"  build, {label:34s} n={n:>7,}: {seconds:6.2f} s  peak {peak:6.1f} MiB  "
                  f"file {size / 1e6:6.1f} MB{over}")
            if over:
                status = 1
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        plan = plan_batch(endpoint, prompts(args.n), None, {"temperature": 0.2})
        profile.disable()
        _drop(plan)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    if not args.skip_read:
        with tempfile.TemporaryDirectory() as tmp:
            for reverse in (False, True):
                for n in (args.n // 10, args.n):
                    path = os.path.join(tmp, f"results-{n}-{reverse}.jsonl")
                    write_results(args.provider, path, n, reverse)
                    order = plan_batch(endpoint, prompts(n), None).custom_ids  # default ids: kept compactly
                    seconds, peak, _ = measure(lambda: read_results(codec, order, path))
                    what = "reverse order (all early)" if reverse else "input order"
                    print(f"  read,  {what:34s} n={n:>7,}: {seconds:6.2f} s  peak {peak:6.1f} MiB  "
                          f"file {os.path.getsize(path) / 1e6:6.1f} MB")
    client.close()
    return status


if __name__ == "__main__":
    sys.exit(main())
