"""``llmunified_async.testing``: the same emulator as ``llmunified.testing`` (it runs in a thread,
so it serves sync and async clients alike)."""
from llmunified.testing import *  # noqa: F401,F403
from llmunified.testing import __all__  # noqa: F401
