"""An async web service that answers questions with one shared client (aiohttp.web).

    python examples/async_service.py [provider/model]

``llmunified_async`` has the same names as ``llmunified``, as coroutines. The service opens one
Client when it starts and closes it when it stops: its connection pool serves every request
concurrently. This script starts the service on 127.0.0.1, asks it three questions at once, and
stops it.
"""
import asyncio

from _emulated import model_or_emulator
from aiohttp import ClientSession, web
from llmunified.testing import Reply

import llmunified_async as llm

MODEL = model_or_emulator("openai/gpt-4o-mini", replies=[
    Reply(text="Blue, because air scatters short wavelengths most.", delay=0.2),
    Reply(text="About 8 minutes and 20 seconds.", delay=0.2),
    Reply(text="Mostly nitrogen (78%) and oxygen (21%).", delay=0.2),
])
CLIENT = web.AppKey("client", llm.Client)


async def client_context(app: web.Application):
    async with llm.Client(MODEL, max_tokens=100) as client:  # one pool for the whole service
        app[CLIENT] = client
        yield


async def ask(request: web.Request) -> web.Response:
    question = (await request.json())["question"]
    try:
        reply = await request.app[CLIENT].complete([llm.system("Answer in one sentence."), llm.user(question)])
    except llm.errors.LLMError as exc:  # rate limits, timeouts... (already retried)
        return web.json_response({"error": str(exc)}, status=502)
    return web.json_response({"answer": reply.text, "tokens": reply.usage.total_tokens})


async def main() -> None:
    app = web.Application()
    app.cleanup_ctx.append(client_context)
    app.router.add_post("/ask", ask)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"service listening on http://127.0.0.1:{port}/ask")
    try:
        questions = ["Why is the sky blue?", "How long does sunlight take to reach us?", "What is air made of?"]
        async with ClientSession() as http:
            async def post(question: str) -> dict:
                async with http.post(f"http://127.0.0.1:{port}/ask", json={"question": question}) as resp:
                    return await resp.json()

            started = asyncio.get_running_loop().time()
            answers = await asyncio.gather(*(post(q) for q in questions))  # three at once
            elapsed = asyncio.get_running_loop().time() - started
        for question, answer in zip(questions, answers):
            print(f"Q: {question}\nA: {answer.get('answer', answer)}")
        print(f"3 questions answered concurrently in {elapsed:.1f} s")
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
