"""Hand-written I/O pairs: one module per HTTP library, never generated.

``sync.py`` (requests) and ``asyncio.py`` (aiohttp) implement the same small contract,
:class:`~llmunified._backends.base.Transport` and its async twin. They import nothing of the
providers: a transport sends an :class:`~llmunified._http.HTTPRequest` and hands back a
:class:`~llmunified._http.TransportResponse`, mapping its library's exceptions to
``llmunified.errors``. The generator renames ``_backends.sync`` to ``_backends.asyncio`` when it
writes the async twin.

Beside the transports, each module has the few operations whose blocking and asyncio forms
differ in more than ``await``, so the I/O layer in ``_sync/`` can call them by one name (they
are ``@io`` in ``sync.py``, coroutines in ``asyncio.py``): ``call_function`` (a tool's
function; plain ones on a worker thread in asyncio), ``run_all(thunks, limit)`` (bounded
concurrency: a thread pool / ``asyncio.gather`` under a semaphore, results in order) and
``run_blocking(fn)`` (a call / the loop's executor, e.g. a credential refresh).
"""
