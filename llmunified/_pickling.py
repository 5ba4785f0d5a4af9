"""What a pickled ``Client`` carries to another process: its configuration, never its key.

A client shipped to a worker (multiprocessing, Dask, Ray, Spark) is rebuilt there from the
arguments it was created with, minus what must not or cannot travel:

- a fixed ``api_key`` string: the worker resolves the key from its own environment
  (``OPENAI_API_KEY``...), as a client created there without one would; an ``api_key``
  *callable* (a function reading a secrets manager, a credential object) travels when it can be
  pickled, and is called in the worker;
- headers that carry credentials (``Authorization``, ``api-key``, ``x-api-key``...);
- a ``transport`` you passed in (a session holds sockets): the worker opens its own pool;
- a ``tracer`` and an ``otel=`` tracer provider (in-process state): attach them in the worker
  if you want its events and spans there (``otel=True`` travels).

Settings that came from the environment rather than from arguments (the key, ``base_url`` from
``OLLAMA_HOST``...) are resolved again in the worker, from the worker's environment. Sans-IO.
"""
from __future__ import annotations
from typing import Any, Dict, Mapping, Optional, Tuple

__all__ = ["client_args", "reduce_client", "rebuild"]

#: arguments never carried (see the module docstring); the key is handled on its own
_DROPPED = frozenset(("self", "model", "api_key", "transport", "tracer", "__class__"))

#: arguments carried only as plain values (``otel=True``; a TracerProvider object stays behind)
_FLAGS_ONLY = frozenset(("otel",))

#: header names (lower-case) that carry a credential and are dropped from a pickled client
SECRET_HEADERS = frozenset(("authorization", "proxy-authorization", "api-key", "x-api-key", "x-goog-api-key",
                            "ocp-apim-subscription-key", "cookie"))


def client_args(args: Mapping[str, Any]) -> Dict[str, Any]:
    """The carried part of a ``Client.__init__``'s arguments (its ``locals()`` on entry): the
    explicit ones (not left at their default None), ``**defaults`` flattened, the key left out."""
    kept: Dict[str, Any] = {}
    for name, value in args.items():
        if name in _DROPPED or value is None or (name in _FLAGS_ONLY and not isinstance(value, bool)):
            continue
        if name == "defaults":
            kept.update(value)
        else:
            kept[name] = value
    return kept


def reduce_client(cls: type, model: str, args: Mapping[str, Any], key_source: Any) -> Tuple[Any, Tuple[Any, ...]]:
    """``Client.__reduce__``: rebuild ``cls(model, **carried)`` in the unpickling process."""
    kwargs = dict(args)
    headers = kwargs.get("headers")
    if headers:
        kwargs["headers"] = {k: v for k, v in headers.items() if k.lower() not in SECRET_HEADERS}
    if key_source is not None:
        import pickle  # here, not at import: most programs never pickle a client

        try:
            pickle.dumps(key_source)
        except Exception as exc:
            raise TypeError(
                f"this Client's api_key callable ({type(key_source).__name__}) cannot be pickled ({exc}); to send the "
                "client to another process, use a module-level function or a picklable credential object as "
                "api_key, or leave api_key out and set the provider's key variable in the worker's environment"
            ) from None
        kwargs["api_key"] = key_source
    return rebuild, (cls, model, kwargs)


def rebuild(cls: type, model: str, kwargs: Dict[str, Any]) -> Any:
    """A client from its carried configuration (the unpickling side)."""
    return cls(model, **kwargs)


def key_callable(api_key: Optional[Any]) -> Optional[Any]:
    """The key source a pickled client may carry: a callable, never a fixed string."""
    return api_key if callable(api_key) else None
