"""Benchmark: decoding a streamed reply against a minimal hand-written loop over the same bytes,
per provider (Gemini, Azure OpenAI, Cohere; issues 8 and 9).

The floor is what the issues name and a user would write: requests' ``iter_lines`` over the
body, ``json.loads`` of each ``data:`` line, the text collected from each event. A tighter loop
(``bytes.split`` on the network reads, no requests) is reported too, for information. Ours is
the codec's stream decoder producing typed events and accumulating the Response, fed the same
network-sized reads (4 events each, framed as the provider frames them); all in one process,
interleaved. Budget: ours decodes at no less than 0.8x the iter_lines loop's rate.

    python scripts/bench_decode.py [--provider gemini|azure|cohere|all] [--events 2000] [--rounds 30]
"""
import argparse
import io
import json
import os
import statistics
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from llmunified._registry import PROVIDERS, resolve_config  # noqa: E402
from llmunified.providers import codec_for  # noqa: E402

BUDGET = 0.8


def _compact(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


# -- each provider: its stream's bytes, how a hand-written loop reads an event's text, the codec --

def gemini_events(n: int) -> List[bytes]:
    out = []
    for i in range(n):
        obj: Dict[str, Any] = {
            "candidates": [{"content": {"role": "model", "parts": [{"text": f"tok{i} "}]}}],
            "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": i + 1, "totalTokenCount": i + 10},
            "modelVersion": "gemini-2.5-flash", "responseId": "bench-1"}
        if i == n - 1:
            obj["candidates"][0]["finishReason"] = "STOP"
        out.append(b"data: " + _compact(obj) + b"\r\n\r\n")  # Gemini frames with CRLF
    return out


def gemini_text(obj: Dict[str, Any], parts: List[str]) -> None:
    for cand in obj.get("candidates", ()):
        for part in cand.get("content", {}).get("parts", ()):
            if "text" in part:
                parts.append(part["text"])


_FILTERS = {"hate": {"filtered": False, "severity": "safe"}, "self_harm": {"filtered": False, "severity": "safe"},
            "sexual": {"filtered": False, "severity": "safe"}, "violence": {"filtered": False, "severity": "safe"}}


def azure_events(n: int) -> List[bytes]:
    out = [b"data: " + _compact({"choices": [], "created": 0, "id": "", "model": "", "object": "",
                                 "prompt_filter_results": [{"prompt_index": 0,
                                                            "content_filter_results": _FILTERS}]}) + b"\n\n"]
    for i in range(n):
        choice: Dict[str, Any] = {"content_filter_results": _FILTERS, "delta": {"content": f"tok{i} "},
                                  "finish_reason": None, "index": 0, "logprobs": None}
        out.append(b"data: " + _compact({"choices": [choice], "created": 1741880483, "id": "chatcmpl-bench",
                                         "model": "gpt-4o-2024-11-20", "object": "chat.completion.chunk",
                                         "system_fingerprint": "fp_bench"}) + b"\n\n")
    out.append(b"data: " + _compact({"choices": [{"delta": {}, "finish_reason": "stop", "index": 0,
                                                  "content_filter_results": {}}], "id": "chatcmpl-bench",
                                     "model": "gpt-4o-2024-11-20", "object": "chat.completion.chunk"}) + b"\n\n")
    out.append(b"data: [DONE]\n\n")
    return out


def azure_text(obj: Dict[str, Any], parts: List[str]) -> None:
    for choice in obj.get("choices", ()):
        text = choice.get("delta", {}).get("content")
        if text:
            parts.append(text)


def cohere_events(n: int) -> List[bytes]:
    def event(obj: Dict[str, Any]) -> bytes:
        return b"event: " + obj["type"].encode() + b"\ndata: " + _compact(obj) + b"\n\n"

    out = [event({"id": "bench-1", "type": "message-start", "delta": {"message": {
        "role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}}}),
        event({"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}})]
    for i in range(n):
        out.append(event({"type": "content-delta", "index": 0,
                          "delta": {"message": {"content": {"text": f"tok{i} "}}}}))
    out.append(event({"type": "content-end", "index": 0}))
    out.append(event({"type": "message-end", "delta": {"finish_reason": "COMPLETE", "usage": {
        "billed_units": {"input_tokens": 12, "output_tokens": n}, "tokens": {"input_tokens": 507,
                                                                           "output_tokens": n + 3}}}}))
    return out


def cohere_text(obj: Dict[str, Any], parts: List[str]) -> None:
    if obj.get("type") == "content-delta":
        parts.append(obj["delta"]["message"]["content"]["text"])


CASES: Dict[str, Tuple[Callable[[int], List[bytes]], Callable[[Dict[str, Any], List[str]], None], str, str,
                       Dict[str, Any]]] = {
    "gemini": (gemini_events, gemini_text, "gemini", "gemini-2.5-flash", {}),
    "azure": (azure_events, azure_text, "azure", "gpt-4o", {"base_url": "https://bench.openai.azure.com"}),
    "cohere": (cohere_events, cohere_text, "cohere", "command-a-03-2025", {}),
}


def bench(name: str, events: int, rounds: int) -> Optional[float]:
    make, text_of, provider, model, config = CASES[name]
    if provider not in PROVIDERS:
        print(f"{name}: no such provider in this build, skipped")
        return None
    encoded = make(events)
    chunks = [b"".join(encoded[i:i + 4]) for i in range(0, len(encoded), 4)]
    body = b"".join(chunks)
    codec = codec_for(resolve_config(PROVIDERS[provider], api_key="k", environ={}, **config), model)

    import requests

    def iter_lines() -> str:
        response = requests.models.Response()
        response.raw = io.BytesIO(body)
        parts: List[str] = []
        for line in response.iter_lines():
            if line.startswith(b"data: ") and line != b"data: [DONE]":
                text_of(json.loads(line[6:]), parts)
        return "".join(parts)

    def split() -> str:
        parts: List[str] = []
        buf = b""
        for chunk in chunks:
            buf += chunk
            lines = buf.split(b"\n")
            buf = lines.pop()
            for line in lines:
                if line.startswith(b"data: ") and not line.startswith(b"data: [DONE]"):
                    text_of(json.loads(line[6:]), parts)
        return "".join(parts)

    def ours() -> str:
        decoder = codec.stream_decoder({})
        for chunk in chunks:
            decoder.feed(chunk)
        decoder.eof()
        return decoder.response().text

    assert split() == ours() == iter_lines(), f"{name}: every loop must read the same text"
    times: Dict[str, List[float]] = {"iter_lines": [], "split": [], "ours": []}
    for _ in range(rounds):
        for label, fn in (("iter_lines", iter_lines), ("split", split), ("ours", ours)):
            t = time.perf_counter()
            fn()
            times[label].append(time.perf_counter() - t)
    med = {k: statistics.median(v) / events * 1e6 for k, v in times.items()}
    ratio = med["iter_lines"] / med["ours"]
    print(f"{name} stream decode (us/event): requests iter_lines + json.loads {med['iter_lines']:.2f}; "
          f"bytes.split + json.loads {med['split']:.2f}; ours {med['ours']:.2f}")
    print(f"  our rate: {ratio:.2f}x the iter_lines loop's (budget >= {BUDGET}) "
          f"{'OK' if ratio >= BUDGET else 'MISSED'}; {med['split'] / med['ours']:.2f}x the bytes.split loop's "
          "(informational)")
    return ratio


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--provider", choices=[*CASES, "all"], default="all")
    ap.add_argument("--events", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()
    names = list(CASES) if args.provider == "all" else [args.provider]
    ratios = [bench(name, args.events, args.rounds) for name in names]
    return 0 if all(r is None or r >= BUDGET for r in ratios) else 1


if __name__ == "__main__":
    sys.exit(main())
