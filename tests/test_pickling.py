"""A Client travels to worker processes (multiprocessing, Dask, Ray, Spark): pickling carries
its configuration, never its key; the worker resolves the key from its own environment (or calls
the api_key callable it was given) and opens its own connection pool. Both twins."""
import asyncio
import multiprocessing
import pickle

import pytest

import llmunified as llm
import llmunified_async as allm

KEY = "sk-driver-secret-123"


def _env_key() -> str:  # a module-level credential callable: picklable by reference
    import os

    return os.environ["WORKER_TOKEN"]


def _sync_job(args):
    client, prompt = args
    with client:
        response = client.complete(prompt)
    return response.text, client.model, client._endpoint.defaults


def _async_job(args):
    client, prompt = args

    async def go():
        async with client:
            return (await client.complete(prompt)).text

    return asyncio.run(go())


@pytest.mark.parametrize("package", [llm, allm], ids=["sync", "async"])
def test_pickle_carries_configuration_not_the_key(package, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    client = package.Client("openai/gpt-4o", api_key=KEY, base_url="http://127.0.0.1:9/v1", temperature=0.25,
                            timeout=12.5, max_retries=1, headers={"Authorization": f"Bearer {KEY}", "X-Team": "blue"})
    data = pickle.dumps(client)
    assert KEY.encode() not in data
    copy = pickle.loads(data)
    assert type(copy) is type(client)
    assert (copy.model, copy.base_url) == (client.model, client.base_url)
    assert copy._endpoint.defaults == {"temperature": 0.25}
    assert copy.retry.max_retries == 1
    assert copy._endpoint.codec.config.headers == (("X-Team", "blue"),)
    assert copy._endpoint.codec.config.api_key.get() == "sk-from-env"  # the unpickling side's environment
    assert copy.transport is not client.transport


def test_pickle_without_a_key_in_the_worker_says_what_to_set(monkeypatch):
    client = llm.Client("openai/gpt-4o", api_key=KEY)
    data = pickle.dumps(client)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(llm.errors.ConfigurationError, match="OPENAI_API_KEY") as info:
        pickle.loads(data).complete("hi")
    assert KEY not in str(info.value)


def test_an_unpicklable_key_callable_is_refused_clearly():
    client = llm.Client("openai/gpt-4o", api_key=lambda: KEY)
    with pytest.raises(TypeError, match="api_key callable .*cannot be pickled"):
        pickle.dumps(client)


def test_a_passed_transport_stays_behind(monkeypatch):
    import requests

    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    session = requests.Session()
    client = llm.Client("openai/gpt-4o", transport=session)
    copy = pickle.loads(pickle.dumps(client))
    assert copy.transport is not session and copy._owns_transport
    copy.close()
    session.close()


@pytest.mark.parametrize("job", [_sync_job, _async_job], ids=["sync", "async"])
def test_clients_work_in_spawned_worker_processes(emulator, monkeypatch, job):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-worker-env")
    package = llm if job is _sync_job else allm
    client = package.Client("openai/m", api_key=KEY, base_url=emulator.url_for("openai"), temperature=0.5)
    prompts = [(client, f"row {i}") for i in range(6)]
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        results = pool.map(job, prompts)
    texts = [r[0] if isinstance(r, tuple) else r for r in results]
    assert texts == [f"You said: row {i}" for i in range(6)]
    seen = [r.headers.get("authorization") for r in emulator.requests]
    assert seen == ["Bearer sk-worker-env"] * 6  # the worker's own key, never the driver's
    assert all(r.json["temperature"] == 0.5 for r in emulator.requests)


def test_a_key_callable_travels_and_runs_in_the_worker(emulator, monkeypatch):
    monkeypatch.setenv("WORKER_TOKEN", "tok-in-worker")
    client = llm.Client("openai/m", api_key=_env_key, base_url=emulator.url_for("openai"))
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        (text, model, _), = pool.map(_sync_job, [(client, "hello")])
    assert (text, model) == ("You said: hello", "openai/m")
    assert emulator.requests[0].headers.get("authorization") == "Bearer tok-in-worker"


@pytest.mark.parametrize("package", [llm, allm], ids=["sync", "async"])
def test_a_router_pickles_its_entries_without_keys(package, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-env")
    router = package.Router([package.Client("openai/gpt-4o", api_key=KEY, label="primary"),
                             package.Client("anthropic/claude-sonnet-4-5", api_key=KEY + "-b", label="backup")],
                            strategy="round_robin", failure_threshold=5, cooldown=12.0, tracer=llm.Tracer())
    data = pickle.dumps(router)
    assert KEY.encode() not in data
    copy = pickle.loads(data)
    assert type(copy) is type(router)
    assert list(copy.labels) == ["primary", "backup"]
    assert copy.strategy == "round_robin" and copy.tracer is None
    assert [c._endpoint.codec.config.api_key.get() for c in copy.clients] == ["sk-from-env", "sk-ant-from-env"]


def test_a_client_with_an_otel_provider_pickles_without_it():
    from llmunified._pickling import client_args

    provider = object()  # a TracerProvider: in-process state, left behind; otel=True travels
    assert client_args({"self": None, "model": "openai/gpt-4o", "otel": provider, "defaults": {}}) == {}
    assert client_args({"self": None, "model": "openai/gpt-4o", "otel": True, "defaults": {}}) == {"otel": True}
