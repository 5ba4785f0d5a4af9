"""Clients shipped to a real Dask cluster of worker processes (``tox -e dask``; skipped where
dask.distributed is not installed): the function that calls the library runs in the workers,
each resolving the key from its own environment and opening its own connection pool."""
import pytest

import llmunified as llm
import llmunified_async as allm

distributed = pytest.importorskip("dask.distributed")

KEY = "sk-driver-only-4242"


def classify(client, rows):
    """What a user maps over partitions: one call per row, with the client it was given."""
    with client:
        return [client.complete(f"classify: {row}").text for row in rows]


def classify_async(client, rows):
    import asyncio

    async def go():
        async with client:
            return [(await client.complete(f"classify: {row}")).text for row in rows]

    return asyncio.run(go())


@pytest.fixture(scope="module")
def cluster():
    import os

    os.environ["OPENAI_API_KEY"] = "sk-worker-env"  # the workers' environment, inherited at spawn
    try:
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                      silence_logs=50) as local, distributed.Client(local) as dask_client:
            yield dask_client
    finally:
        del os.environ["OPENAI_API_KEY"]


@pytest.mark.parametrize("package,func", [(llm, classify), (allm, classify_async)], ids=["sync", "async"])
def test_map_over_partitions_on_a_local_cluster(cluster, emulator, package, func):
    client = package.Client("openai/m", api_key=KEY, base_url=emulator.url_for("openai"), temperature=0)
    partitions = [[f"row {p}-{i}" for i in range(3)] for p in range(4)]
    futures = cluster.map(func, [client] * len(partitions), partitions, pure=False)
    results = cluster.gather(futures)
    assert results == [[f"You said: classify: row {p}-{i}" for i in range(3)] for p in range(4)]
    assert len(emulator.requests) == 12
    assert {r.headers.get("authorization") for r in emulator.requests} == {"Bearer sk-worker-env"}
    workers = {w for w in cluster.who_has(futures).values() for w in w}
    assert workers  # ran in the cluster's worker processes, not here
