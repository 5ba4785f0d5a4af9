"""Streaming, with the model's thinking shown as it arrives (dimmed on a terminal).

    python examples/streaming.py [provider/model]

``reasoning="low"`` asks a reasoning model to think briefly first (mapped per provider:
Anthropic's thinking budget, OpenAI's reasoning effort, ...). Every provider streams the same
typed events: ``text``, ``thinking``, tool-call events, ``usage`` and ``finish``.
"""
import sys

from _emulated import model_or_emulator
from llmunified.testing import Reply

import llmunified as llm

MODEL = model_or_emulator("anthropic/claude-sonnet-4-5", replies=[
    Reply(thinking="Three facts, short ones. Octopuses: hearts, blood, arms.",
          text="1. An octopus has three hearts.\n2. Its blood is blue.\n3. Each arm can taste.",
          chunk_size=64, delay=0.01),
])

DIM, RESET = ("\x1b[2m", "\x1b[0m") if sys.stdout.isatty() else ("", "")

with llm.Client(MODEL, reasoning="low") as client:  # max_tokens left out: the budget fits
    with client.stream("Three surprising facts about octopuses, one line each.") as stream:
        thinking = False
        for event in stream:
            if event.type == "thinking":
                if not thinking:
                    print(DIM + "thinking: ", end="")
                    thinking = True
                print(event.text, end="", flush=True)
            elif event.type == "text":
                if thinking:
                    print(RESET + "\n")
                    thinking = False
                print(event.text, end="", flush=True)
        print(RESET)

    # Once the events are consumed, the stream holds the whole reply, as complete() returns it.
    reply = stream.response
    print(f"\n[{reply.finish_reason}; {reply.usage.output_tokens} output tokens; "
          f"{len(reply.thinking)} characters of thinking]")
