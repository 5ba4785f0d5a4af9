"""``llmunified_async.errors``: the same error classes as ``llmunified.errors`` (shared core)."""
from llmunified.errors import *  # noqa: F401,F403
from llmunified.errors import __all__  # noqa: F401
