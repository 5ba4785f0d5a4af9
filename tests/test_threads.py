"""A sync Client is safe to share between threads (one pool, no per-call state on the client)."""
from concurrent.futures import ThreadPoolExecutor

import llmunified as llm


def test_one_client_many_threads(emulator):
    with llm.Client("openai/m", base_url=emulator.url_for("openai"), api_key="sk-test") as client:
        def call(i):
            return client.complete(f"message {i}").text

        with ThreadPoolExecutor(max_workers=16) as pool:
            texts = list(pool.map(call, range(160)))
    assert texts == [f"You said: message {i}" for i in range(160)]
    assert all(not r.violations for r in emulator.requests)
    assert emulator.connections_opened <= 16  # connections are pooled and reused, not one per call
