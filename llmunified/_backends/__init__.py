"""Hand-written I/O pairs: one module per HTTP library, never generated.

``sync.py`` (requests) and ``asyncio.py`` (aiohttp) implement the same small contract,
:class:`~llmunified._backends.base.Transport` and its async twin. They import nothing of the
providers: a transport sends an :class:`~llmunified._http.HTTPRequest` and hands back a
:class:`~llmunified._http.TransportResponse`, mapping its library's exceptions to
``llmunified.errors``. The generator renames ``_backends.sync`` to ``_backends.asyncio`` when it
writes the async twin.
"""
