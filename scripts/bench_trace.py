"""What tracing costs per call (issue 11, speed): a plain Client, a Client with an in-memory
``llm.Tracer``, and a Client with OpenTelemetry on through an SDK ``TracerProvider`` that has
no exporter (spans are made, recorded and dropped), each against the loopback bench server
(scripts/_benchserver.py, a separate process on 127.0.0.1 only). Issue 11's budget: an active
OpenTelemetry tracer with a no-op exporter adds under 10% to a call.

Usage: python scripts/bench_trace.py [--calls N] [--rounds R] [--profile]

A fourth side is the floor OpenTelemetry itself sets: the plain client's call inside the same
span (name, kind, attributes) made by hand with the SDK; the otel side minus that floor is what
llmunified adds on top of the SDK.

Each side runs ``R`` rounds of ``N`` calls, interleaved (plain, tracer, otel, floor, ...), and
reports the median per-call wall time over its rounds' medians, in microseconds, and the
difference to the plain client; and the same for this process's CPU time per call (less
disturbed by other load on the machine: the server runs in its own process). ``--profile``
prints a cProfile of the OpenTelemetry side's span path (llmunified._otel and
llmunified._trace) instead; ``--span-path`` times the tracing of one call alone, in-process.
"""
import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from typing import Any, Callable, Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

from _benchutil import Server, median_us  # noqa: E402


def span_path(clients, args) -> None:
    """The tracing of one call alone, without its HTTP: ``CallTrace`` opened (events, span with
    its attributes) and closed with a real Response, per side, median of rounds, in us."""
    from llmunified._trace import hooks_of, new_correlation_id

    print(f"{'side':26} {'us per traced call':>20}")
    for name, client in clients.items():
        hooks = hooks_of(client)
        if hooks is None:
            continue
        response = client.complete("Hello")

        def one(hooks=hooks, client=client, response=response) -> None:
            trace = hooks.call(client, new_correlation_id(), False, "Hello", {})
            trace.done(response)

        rounds = [median_us(one, args.calls * 5) for _ in range(args.rounds)]
        print(f"{name:26} {statistics.median(rounds):20.1f}")
        if hooks.otel is not None:
            # the floor: the SDK alone making the same span with the same attributes
            trace = hooks.call(client, new_correlation_id(), False, "Hello", {})
            trace.done(response)
            span = trace.span
            start = {k: v for k, v in span.attributes.items() if not k.startswith(("gen_ai.usage", "gen_ai.resp"))}
            end = {k: v for k, v in span.attributes.items() if k not in start}
            sdk = hooks.otel.tracer

            def bare(sdk=sdk, start=start, end=end) -> None:
                span = sdk.start_span("chat bench-model", attributes=start)
                span.set_attributes(end)
                span.end()

            rounds = [median_us(bare, args.calls * 5) for _ in range(args.rounds)]
            print(f"{'  the SDK alone, same span':26} {statistics.median(rounds):20.1f}")


def sdk_floor(plain: Any, traced: Any) -> Callable[[], None]:
    """The OpenTelemetry SDK's own share: the plain client's call inside the very span (same
    name, kind and attributes) the traced client makes, started and ended by hand. What the
    traced client costs beyond this is llmunified's part; this side minus plain is the SDK's."""
    from llmunified._trace import hooks_of, new_correlation_id

    hooks = hooks_of(traced)
    trace = hooks.call(traced, new_correlation_id(), False, "Hello", {})
    trace.done(traced.complete("Hello"))
    attributes = dict(trace.span.attributes)
    start = {k: v for k, v in attributes.items() if not k.startswith(("gen_ai.usage", "gen_ai.resp"))}
    end = {k: v for k, v in attributes.items() if k not in start}
    sdk, kind, name = hooks.otel.tracer, trace.span.kind, trace.span.name

    def call() -> None:
        span = sdk.start_span(name, kind=kind, attributes=dict(start, **{"llmunified.correlation_id": new_correlation_id()}))
        plain.complete("Hello")
        span.set_attributes(dict(end))
        span.end()
    return call


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=400, help="calls per round (default 400)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds per side (default 7)")
    parser.add_argument("--profile", action="store_true", help="cProfile the OpenTelemetry side instead")
    parser.add_argument("--span-path", action="store_true",
                        help="time only the tracing of one call (its span or events, started and ended) in-process")
    args = parser.parse_args(argv)

    import llmunified as llm
    from opentelemetry.sdk.trace import TracerProvider

    server = Server()
    provider = TracerProvider()  # no span processor: spans are recorded, then dropped
    try:
        common = dict(base_url=server.base, api_key="sk-bench", max_retries=0)
        clients = {
            "plain": llm.Client("openai/bench-model", otel=False, **common),
            "tracer": llm.Client("openai/bench-model", otel=False, tracer=llm.Tracer(max_events=1000), **common),
            "otel (SDK, no exporter)": llm.Client("openai/bench-model", otel=provider, **common),
        }
        for client in clients.values():  # warm up: connections, caches
            for _ in range(50):
                client.complete("Hello")
        if args.span_path:
            span_path(clients, args)
            return 0
        if args.profile:
            client = clients["otel (SDK, no exporter)"]
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(args.calls * 5):
                client.complete("Hello")
            profile.disable()
            stats = pstats.Stats(profile)
            stats.sort_stats("cumulative").print_stats(r"_otel|_trace|opentelemetry", 30)
            return 0
        sides = {name: (lambda c=client: c.complete("Hello")) for name, client in clients.items()}
        sides["floor: SDK span by hand"] = sdk_floor(clients["plain"], clients["otel (SDK, no exporter)"])
        results: Dict[str, List[float]] = {name: [] for name in sides}
        cpu: Dict[str, List[float]] = {name: [] for name in sides}
        for _ in range(args.rounds):
            for name, call in sides.items():
                c0 = time.process_time()
                results[name].append(median_us(call, args.calls))
                cpu[name].append((time.process_time() - c0) / args.calls * 1e6)
        base = statistics.median(results["plain"])
        base_cpu = statistics.median(cpu["plain"])
        print(f"{'side':26} {'wall us/call':>12} {'vs plain':>18} {'CPU us/call':>12} {'vs plain':>18}")
        for name, rounds in results.items():
            us = statistics.median(rounds)
            c = statistics.median(cpu[name])
            print(f"{name:26} {us:12.1f} {us - base:+9.1f}us {100 * (us - base) / base:+6.1f}% "
                  f"{c:12.1f} {c - base_cpu:+9.1f}us {100 * (c - base_cpu) / base_cpu:+6.1f}%")
        for client in clients.values():
            client.close()
    finally:
        provider.shutdown()
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
