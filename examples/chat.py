"""Sync chat: a one-shot question, then a short conversation with a system prompt.

    python examples/chat.py [provider/model]

Without the provider's API key (OPENAI_API_KEY for the default model) the built-in emulator
plays the model, so this runs anywhere.
"""
from _emulated import model_or_emulator
from llmunified.testing import Reply

import llmunified as llm

MODEL = model_or_emulator("openai/gpt-4o-mini", replies=[
    Reply(text="Paris."),
    Reply(text="Bonjour !"),
    Reply(text="Say 'Bonjour' in the morning and 'Bonsoir' in the evening."),
])

# One question, one answer: llm.complete opens a client, asks, and closes it.
reply = llm.complete(MODEL, "Capital of France? One word.")
print("complete:", reply.text)

# A Client keeps its connections and default options for many calls.
with llm.Client(MODEL, temperature=0.2, max_tokens=200) as client:
    history = [llm.system("You are a terse French teacher."), llm.user("How do I say hello?")]
    first = client.complete(history)
    print("teacher:", first.text)

    # A conversation is the list of messages so far: add the reply and the next question.
    history += [first.message, llm.user("And in the evening?")]
    second = client.complete(history)
    print("teacher:", second.text)

    usage = second.usage
    print(f"usage: {usage.input_tokens} in + {usage.output_tokens} out tokens, "
          f"finish reason {second.finish_reason!r}")
