"""A minimal, fast loopback HTTP/1.1 server for the benchmarks (run as a separate process).

It answers every POST with a fixed OpenAI-style chat completion, or, when the request body asks
to stream, with an SSE stream of content deltas (chunked transfer encoding): ``--chunks`` of them,
or N when the request path starts with ``/cN/`` (so ``base_url=http://127.0.0.1:PORT/c50/v1``
gives 50-chunk streams). It is deliberately tiny (an ``asyncio.Protocol``, no stream readers) so
that the benchmarks measure the clients, not the server.

``--per-chunk K`` puts K events in each HTTP chunk (default 4, like a busy server; 1 is how a
server that flushes every event sends them).

Usage: python scripts/_benchserver.py PORT_FILE [--chunks N] [--per-chunk K]
Writes the chosen port to PORT_FILE once listening on 127.0.0.1 (and only there).
"""
import asyncio
import json
import os
import sys
from typing import Dict, Optional

from _benchutil import stream_events

COMPLETION = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": "bench-model",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the bench server. " * 4,
                                         "refusal": None}, "logprobs": None, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 24, "total_tokens": 36,
              "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}},
}).encode()

PLAIN_RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nx-request-id: req_bench\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(COMPLETION)) + COMPLETION
STREAM_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nx-request-id: req_bench\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n")


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def build_stream(n: int, per_chunk: int = 4) -> bytes:
    """The chunked HTTP body of that reply. Real servers flush event by event; by default a few
    events go in each HTTP chunk, like a busy server."""
    events = stream_events(n)
    out = []
    for i in range(0, len(events), per_chunk):
        out.append(_chunk(b"".join(events[i:i + per_chunk])))
    out.append(b"0\r\n\r\n")
    return b"".join(out)


class BenchProtocol(asyncio.Protocol):
    """One connection: parse pipelined requests (head + Content-Length body), answer each."""

    def __init__(self, default_chunks: int, streams: Dict[int, bytes], per_chunk: int = 4) -> None:
        self.per_chunk = per_chunk
        self.default_chunks = default_chunks
        self.streams = streams
        self.buf = bytearray()
        self.transport: Optional[asyncio.Transport] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def stream_body(self, path: bytes) -> bytes:
        n = self.default_chunks
        if path.startswith(b"/c"):
            end = path.find(b"/", 2)
            if end > 2 and path[2:end].isdigit():
                n = int(path[2:end])
        body = self.streams.get(n)
        if body is None:
            body = self.streams[n] = STREAM_HEAD + build_stream(n, self.per_chunk)
        return body

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end])
            length = 0
            lower = head.lower()
            i = lower.find(b"\r\ncontent-length:")
            if i >= 0:
                j = lower.find(b"\r\n", i + 2)
                length = int(head[i + 17:j if j >= 0 else None])
            total = end + 4 + length
            if len(buf) < total:
                return
            body = bytes(buf[end + 4:total])
            del buf[:total]
            if b'"stream": true' in body or b'"stream":true' in body:
                path = head.split(b" ", 2)[1]
                self.transport.write(self.stream_body(path))  # type: ignore[union-attr]
            else:
                self.transport.write(PLAIN_RESPONSE)  # type: ignore[union-attr]


async def main(port_file: str, chunks: int, per_chunk: int = 4) -> None:
    streams = {chunks: STREAM_HEAD + build_stream(chunks, per_chunk)}
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: BenchProtocol(chunks, streams, per_chunk), "127.0.0.1", 0,
                                      backlog=1024)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.sockets[0].getsockname()[1]))
    os.replace(port_file + ".tmp", port_file)  # atomically: the reader never sees a partial port
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    n = int(sys.argv[sys.argv.index("--chunks") + 1]) if "--chunks" in sys.argv else 2000
    k = int(sys.argv[sys.argv.index("--per-chunk") + 1]) if "--per-chunk" in sys.argv else 4
    try:
        asyncio.run(main(sys.argv[1], n, k))
    except KeyboardInterrupt:
        pass
