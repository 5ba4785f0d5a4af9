"""pytest plugin: the ``llm_emulator`` fixture (registered as a ``pytest11`` entry point).

``llm_emulator`` is a running :class:`~llmunified.testing.Emulator`, fresh for each test and
stopped afterwards. Pass constructor arguments through indirect parametrisation::

    @pytest.mark.parametrize("llm_emulator", [{"require_auth": False}], indirect=True)
    def test_no_key(llm_emulator): ...
"""
from typing import Any, Iterator

import pytest

from . import Emulator


@pytest.fixture
def llm_emulator(request: Any) -> Iterator[Emulator]:
    """A started LLM emulator on 127.0.0.1 (OpenAI, Anthropic and Ollama wire formats)."""
    options = getattr(request, "param", None) or {}
    emulator = Emulator(**options)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()
