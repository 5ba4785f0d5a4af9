"""Benchmark: decoding a streamed Gemini reply (``streamGenerateContent?alt=sse``) against a
minimal hand-written loop over the same bytes.

The floor is what the issue names and a user would write: requests' ``iter_lines`` over the
body, ``json.loads`` of each ``data:`` line, the text of every part collected. A tighter loop
(``bytes.split`` on the network reads, no requests) is reported too, for information. Ours is
the codec's stream decoder producing typed events and accumulating the Response, fed the same
network-sized reads (4 events each, CRLF framing as Gemini sends it); all in one process,
interleaved. Budget (issue 8): ours decodes at no less than 0.8x the iter_lines loop's rate.

    python scripts/bench_gemini.py [--events 2000] [--rounds 30]
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from llmunified._registry import PROVIDERS, resolve_config  # noqa: E402
from llmunified.providers import codec_for  # noqa: E402

BUDGET = 0.8


def make_chunks(n: int):
    events = []
    for i in range(n):
        obj = {"candidates": [{"content": {"role": "model", "parts": [{"text": f"tok{i} "}]}}],
               "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": i + 1, "totalTokenCount": i + 10},
               "modelVersion": "gemini-2.5-flash", "responseId": "bench-1"}
        if i == n - 1:
            obj["candidates"][0]["finishReason"] = "STOP"
        events.append(b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\r\n\r\n")
    return [b"".join(events[i:i + 4]) for i in range(0, len(events), 4)]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()
    chunks = make_chunks(args.events)
    codec = codec_for(resolve_config(PROVIDERS["gemini"], api_key="k", environ={}), "gemini-2.5-flash")

    import io

    import requests

    body = b"".join(chunks)

    def iter_lines() -> str:
        response = requests.models.Response()
        response.raw = io.BytesIO(body)
        parts = []
        for line in response.iter_lines():
            if line.startswith(b"data: "):
                obj = json.loads(line[6:])
                for cand in obj.get("candidates", ()):
                    for part in cand.get("content", {}).get("parts", ()):
                        if "text" in part:
                            parts.append(part["text"])
        return "".join(parts)

    def raw() -> str:
        parts, buf = [], b""
        for chunk in chunks:
            buf += chunk
            lines = buf.split(b"\n")
            buf = lines.pop()
            for line in lines:
                if line.startswith(b"data: "):
                    obj = json.loads(line[6:])
                    for cand in obj.get("candidates", ()):
                        for part in cand.get("content", {}).get("parts", ()):
                            if "text" in part:
                                parts.append(part["text"])
        return "".join(parts)

    def ours() -> str:
        decoder = codec.stream_decoder({})
        for chunk in chunks:
            decoder.feed(chunk)
        decoder.eof()
        return decoder.response().text

    assert raw() == ours() == iter_lines(), "every loop must read the same text"
    times = {"iter_lines": [], "split": [], "ours": []}  # type: dict
    for _ in range(args.rounds):
        for name, fn in (("iter_lines", iter_lines), ("split", raw), ("ours", ours)):
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) / args.events * 1e6 for k, v in times.items()}
    ratio = med["iter_lines"] / med["ours"]
    print(f"gemini stream decode (us/event): requests iter_lines + json.loads {med['iter_lines']:.2f}; "
          f"bytes.split + json.loads {med['split']:.2f}; ours {med['ours']:.2f}")
    print(f"our rate: {ratio:.2f}x the iter_lines loop's (budget >= {BUDGET}) {'OK' if ratio >= BUDGET else 'MISSED'}; "
          f"{med['split'] / med['ours']:.2f}x the bytes.split loop's (informational)")
    return 0 if ratio >= BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
