"""A minimal, fast loopback HTTP/1.1 server for the benchmarks (run as a separate process).

It answers every POST with a fixed OpenAI-style chat completion, or, when the request body asks
to stream, with an SSE stream of ``--chunks`` content deltas (chunked transfer encoding). It is
deliberately tiny so that the benchmarks measure the clients, not the server.

Usage: python scripts/_benchserver.py PORT_FILE [--chunks N]
Writes the chosen port to PORT_FILE once listening on 127.0.0.1.
"""
import asyncio
import json
import sys

COMPLETION = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": "bench-model",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the bench server. " * 4,
                                         "refusal": None}, "logprobs": None, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 24, "total_tokens": 36,
              "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}},
}).encode()


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def build_stream(n: int) -> bytes:
    head = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000,
            "model": "bench-model"}
    events = [b"data: " + json.dumps({**head, "choices": [
        {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}).encode() + b"\n\n"]
    for i in range(n):
        events.append(b"data: " + json.dumps({**head, "choices": [
            {"index": 0, "delta": {"content": f"tok{i} "}, "finish_reason": None}]}).encode() + b"\n\n")
    events.append(b"data: " + json.dumps({**head, "choices": [
        {"index": 0, "delta": {}, "finish_reason": "stop"}]}).encode() + b"\n\n")
    events.append(b"data: " + json.dumps({**head, "choices": [], "usage": {
        "prompt_tokens": 5, "completion_tokens": n, "total_tokens": n + 5}}).encode() + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    # Real servers flush event by event; group a few events per HTTP chunk like a busy server.
    out = []
    for i in range(0, len(events), 4):
        out.append(_chunk(b"".join(events[i:i + 4])))
    out.append(b"0\r\n\r\n")
    return b"".join(out)


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, stream_body: bytes) -> None:
    plain_head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nx-request-id: req_bench\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(COMPLETION))
    stream_head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nx-request-id: req_bench\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n")
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length) if length else b""
            if b'"stream": true' in body or b'"stream":true' in body:
                writer.write(stream_head + stream_body)
            else:
                writer.write(plain_head + COMPLETION)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port_file: str, chunks: int) -> None:
    stream_body = build_stream(chunks)
    server = await asyncio.start_server(lambda r, w: handle(r, w, stream_body), "127.0.0.1", 0, backlog=512)
    with open(port_file, "w") as f:
        f.write(str(server.sockets[0].getsockname()[1]))
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    n = int(sys.argv[sys.argv.index("--chunks") + 1]) if "--chunks" in sys.argv else 2000
    try:
        asyncio.run(main(sys.argv[1], n))
    except KeyboardInterrupt:
        pass
