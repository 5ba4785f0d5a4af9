"""ChatSession: a conversation that keeps its history, fits it to a token budget, and is saved
to a file and loaded again later (another run, another process).

    python examples/chat_session.py [provider/model]
"""
import os
import tempfile

from _emulated import model_or_emulator
from llmunified.testing import Reply

import llmunified as llm

MODEL = model_or_emulator("anthropic/claude-sonnet-4-5", replies=[
    Reply(text="Nice to meet you, Ada!"),
    Reply(text="Lovelace, like the first programmer."),
    Reply(text="You told me your name is Ada."),
])

path = os.path.join(tempfile.mkdtemp(), "chat.json")

with llm.Client(MODEL) as client:
    # max_context_tokens: the history sent is trimmed (oldest turns first) to fit the budget;
    # room for the reply is kept (reserve_tokens, here a quarter of the small budget).
    chat = llm.ChatSession(client, system="You are friendly and brief.", max_context_tokens=1000)
    print("model:", chat.send("Hi, I'm Ada.").text)
    print("model:", chat.send("Guess my surname.").text)
    chat.save(path)  # atomic; a corrupt or newer file there is never overwritten
    print(f"saved {len(chat.messages)} messages ({chat.token_count} tokens) to {path}")

# Later, maybe in another process: load the file and go on where it stopped.
with llm.Client(MODEL) as client:
    chat = llm.ChatSession.load(path, client)
    print("model:", chat.send("What's my name?").text)
    for message in chat.messages:
        print(f"  {message.role:>9}: {message.text}")
