"""Shared by the examples: run against the real provider when it can be reached, else against
the built-in emulator, so every example works on a fresh machine with no key and no network.

Not something to copy into your code: your code builds its clients as usual, and the
``LLMUNIFIED_EMULATOR`` environment variable (set here) is what points them at the emulator.
"""
import atexit
import os
import sys
from typing import Any, Iterable, Optional

import llmunified as llm
from llmunified.testing import Emulator, Reply

_emulator: Optional[Emulator] = None


def _start(replies: Iterable[Reply], **options: Any) -> Emulator:
    global _emulator
    if _emulator is None:
        _emulator = Emulator(**options).start()
        atexit.register(_emulator.stop)
    _emulator.queue(*replies)
    return _emulator


def _has_key(model: str) -> bool:
    info = llm.PROVIDERS[model.partition("/")[0]]
    return any(os.environ.get(var) for var in info.api_key_envs)


def model_or_emulator(default: str, replies: Iterable[Reply] = (), **options: Any) -> str:
    """The model to use: the first command-line argument, else ``default``. It runs against the
    real provider when the model was named on the command line or the provider's API key is
    set; otherwise the emulator is started, given ``replies`` to serve in order (then it
    echoes), and ``LLMUNIFIED_EMULATOR`` points every client of this process at it."""
    model = sys.argv[1] if len(sys.argv) > 1 else default
    if os.environ.get("LLMUNIFIED_EMULATOR"):
        print(f"(LLMUNIFIED_EMULATOR is set: {model} talks to the emulator there)", file=sys.stderr)
    elif len(sys.argv) > 1 or _has_key(model):
        pass
    else:
        emulator = _start(replies, **options)
        os.environ["LLMUNIFIED_EMULATOR"] = emulator.base_url
        keys = " or ".join(llm.PROVIDERS[model.partition("/")[0]].api_key_envs)
        print(f"(no {keys}: {model} is played by the built-in emulator; set the key, or name a model: "
              f"python {os.path.basename(sys.argv[0])} ollama/llama3.2)", file=sys.stderr)
    return model


def client_for(model: str, replies: Iterable[Reply] = (), **options: Any) -> Any:
    """A Client for ``model``: the real provider when its API key is set, else the emulator
    (each provider's own wire format, at ``emulator.url_for(provider)``)."""
    if _has_key(model):
        return llm.Client(model, **options)
    emulator = _start(replies)
    provider = model.partition("/")[0]
    return llm.Client(model, base_url=emulator.url_for(provider), api_key="emulator", **options)
