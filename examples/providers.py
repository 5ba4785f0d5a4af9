"""The same code for every provider: one question to several of them, and the table of the
providers the library knows.

    python examples/providers.py

Each model runs against its real provider when the provider's API key is set, otherwise against
the emulator, which speaks every provider's own wire format (OpenAI Chat Completions, Anthropic
Messages, Gemini generateContent, Cohere v2, Ollama's /api/chat...).
"""
from _emulated import client_for
from llmunified.testing import Reply

import llmunified as llm

MODELS = ["openai/gpt-4o-mini", "anthropic/claude-haiku-4-5", "gemini/gemini-2.5-flash",
          "cohere/command-a-03-2025", "ollama/llama3.2"]

for name, info in sorted(llm.PROVIDERS.items()):
    keys = " or ".join(info.api_key_envs) or "-"
    print(f"{name:<11} {info.protocol:<18} key: {keys}")
print()

for model in MODELS:
    with client_for(model, replies=[Reply(text=f"Hello from {model}!", usage=(12, 5))]) as client:
        try:
            with client.stream("Say hello in five words or fewer.") as stream:
                for event in stream:
                    pass  # the same typed events from every provider
            reply = stream.response
        except llm.errors.LLMError as exc:  # one provider failing does not stop the others
            print(f"{model:<28} error: {exc}")
            continue
        print(f"{model:<28} {reply.text!r} ({reply.usage.total_tokens} tokens)")
