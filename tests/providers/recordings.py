"""Helpers shared by the codec tests: reading the recorded fixtures and cutting streams into chunks.

* Fixtures: ``load`` (raw bytes), httprr v1 traces (``httprr_records``, ``split_http``,
  ``httprr_exchange``), VCR cassettes (``vcr``, ``vcr_body``). Each takes a ``base`` directory,
  ``tests/fixtures`` by default, so a test module can bind its provider's folder.
* Framing: ``sse`` builds an SSE stream; ``jsonl_as_sse`` puts the SSE framing back on a
  recording that had it stripped (one JSON object per line).
* Chunking: ``chunkings`` yields the same bytes cut in many ways (whole, 1-byte, fixed sizes,
  inside multibyte UTF-8 characters, around newlines, seeded random cuts); ``feed_all`` runs one
  chunking through a stream decoder.
"""
import json
import os
import random
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import yaml

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")


# -- fixtures --------------------------------------------------------------------------------

def load(name: str, base: str = FIXTURES) -> bytes:
    with open(os.path.join(base, name), "rb") as f:
        return f.read()


def vcr(name: str, base: str = FIXTURES) -> List[Dict[str, Any]]:
    """The interactions of a VCR cassette."""
    return yaml.safe_load(load(name, base).decode("utf-8"))["interactions"]


def vcr_body(interaction: Dict[str, Any]) -> bytes:
    """The response body as bytes (pydantic-ai re-serialised JSON bodies under parsed_body)."""
    resp = interaction["response"]
    if "parsed_body" in resp:
        return json.dumps(resp["parsed_body"], ensure_ascii=False).encode("utf-8")
    return resp["body"]["string"].encode("utf-8")


def httprr_records(raw: bytes) -> List[Tuple[bytes, bytes]]:
    """(request, response) raw HTTP messages of an httprr v1 trace."""
    magic = b"httprr trace v1\n"
    assert raw.startswith(magic)
    pos = len(magic)
    out = []
    while pos < len(raw):
        nl = raw.index(b"\n", pos)
        nreq, nresp = (int(x) for x in raw[pos:nl].split())
        pos = nl + 1
        out.append((raw[pos:pos + nreq], raw[pos + nreq:pos + nreq + nresp]))
        pos += nreq + nresp
    return out


def dechunk(body: bytes) -> bytes:
    """Undo HTTP/1.1 chunked transfer coding (httprr keeps the chunk-size lines)."""
    out = b""
    while True:
        eol = body.index(b"\r\n")
        size = int(body[:eol].split(b";")[0], 16)
        body = body[eol + 2:]
        if size == 0:
            return out
        out += body[:size]
        assert body[size:size + 2] == b"\r\n"
        body = body[size + 2:]


def split_http(message: bytes) -> Tuple[str, Dict[str, str], bytes]:
    """(start line, lower-cased headers, de-chunked body)."""
    end = message.index(b"\r\n\r\n")
    head = message[:end].decode("utf-8").replace("\r\n", "\n").split("\n")
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = message[end + 4:]
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = dechunk(body)
    return head[0], headers, body


def httprr_exchange(name: str, index: int = 0, base: str = FIXTURES) -> Tuple[str, bytes, int, Dict[str, str], bytes]:
    """(request line, request body, status, response headers, de-chunked response body) of one record."""
    req, resp = httprr_records(load(name, base))[index]
    req_line, _, req_body = split_http(req)
    status_line, headers, body = split_http(resp)
    return req_line, req_body, int(status_line.split()[1]), headers, body


# -- framing ---------------------------------------------------------------------------------

def sse(*events: Union[str, Tuple[str, Any]]) -> bytes:
    """An SSE stream: a str is one ``data:`` payload as it is; an (event name, value) pair is an
    ``event:`` line and the value as JSON on the ``data:`` line."""
    out = []
    for event in events:
        if isinstance(event, str):
            out.append("data: " + event + "\n\n")
        else:
            name, data = event
            out.append("event: %s\ndata: %s\n\n" % (name, json.dumps(data, ensure_ascii=False)))
    return "".join(out).encode("utf-8")


def jsonl_as_sse(raw: bytes, event_key: Optional[str] = None, done: bool = False) -> bytes:
    """vercel/ai recordings stripped the SSE framing (one JSON object a line); put it back:
    ``data: <line>`` for each non-blank line, led by ``event: <line[event_key]>`` when given,
    and a final ``data: [DONE]`` when ``done``."""
    out = []
    for line in raw.split(b"\n"):
        if line.strip():
            if event_key is not None:
                out.append(b"event: " + json.loads(line)[event_key].encode("utf-8") + b"\n")
            out.append(b"data: " + line + b"\n\n")
    if done:
        out.append(b"data: [DONE]\n\n")
    return b"".join(out)


# -- chunking --------------------------------------------------------------------------------

def split_at(data: bytes, cuts: List[int]) -> List[bytes]:
    bounds = [0] + sorted(set(c for c in cuts if 0 < c < len(data))) + [len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


def chunkings(data: bytes, seed: int = 0, n_random: int = 30, max_cuts: int = 120, n_tiny: int = 3,
              n_single: int = 25) -> Iterator[List[bytes]]:
    """``data`` cut in many ways; the pieces always join back to ``data``.

    Every time: whole; 1-byte; fixed sizes; right after every UTF-8 lead byte and in the middle
    of every 3- and 4-byte sequence; before each of the first ``n_single`` continuation bytes (one
    cut each) and before all of them at once; just after and just before every newline (the SSE
    event end / NDJSON line boundary).
    Seeded by ``seed``: ``n_random`` sets of up to ``max_cuts`` uniform cuts, then ``n_tiny``
    runs of 1-9 byte pieces; and (from a fresh generator on the same seed) ``n_random`` sets of
    cuts at a random granularity, which may give empty pieces.
    """
    yield [data]
    yield [data[i:i + 1] for i in range(len(data))]
    for size in (2, 3, 7, 64, 1000):
        yield [data[i:i + size] for i in range(0, len(data), size)]
    lead_cuts = [i + 1 for i, b in enumerate(data) if b >= 0xC0]
    if lead_cuts:  # inside every multibyte UTF-8 character
        yield split_at(data, lead_cuts)
        yield split_at(data, [i + 2 for i, b in enumerate(data) if b >= 0xE0])
    continuation = [i for i, b in enumerate(data) if 0x80 <= b <= 0xBF]
    for i in continuation[:n_single]:
        yield [data[:i], data[i:]]
    if continuation:
        yield split_at(data, continuation)
    # between the two newlines that end an SSE event, and right before each
    yield split_at(data, [i + 1 for i, b in enumerate(data) if b == 0x0A])
    yield split_at(data, [i for i, b in enumerate(data) if b == 0x0A])
    rnd = random.Random(seed)
    for _ in range(n_random):
        if len(data) < 2:
            break
        k = rnd.randint(1, min(len(data) - 1, max_cuts))
        yield split_at(data, rnd.sample(range(1, len(data)), k))
    for _ in range(n_tiny):  # many tiny random pieces
        cuts, pos = [], 0
        while pos < len(data):
            pos += rnd.randint(1, 9)
            cuts.append(pos)
        yield split_at(data, cuts)
    rng = random.Random(seed)
    for _ in range(n_random):  # random granularity: a few big pieces to hundreds of small ones
        k = rng.randint(1, max(1, len(data) // rng.choice((2, 7, 30, 200))))
        bounds = [0] + sorted(set(rng.randint(0, len(data)) for _ in range(k))) + [len(data)]
        yield [data[a:b] for a, b in zip(bounds, bounds[1:])]


def feed_all(dec: Any, chunks: List[bytes]) -> Tuple[List[Any], Any]:
    """Feed ``chunks`` to a stream decoder, then EOF; (all events, the final Response)."""
    events: List[Any] = []
    for chunk in chunks:
        events.extend(dec.feed(chunk))
    events.extend(dec.eof())
    assert dec.done
    return events, dec.response()


def bound(codec: Any, model: str) -> Any:
    """The same codec (same configuration) bound to another model name."""
    return type(codec)(codec.config, model)
