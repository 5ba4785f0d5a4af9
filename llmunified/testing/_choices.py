"""Several answers to one request (OpenAI ``n``, Gemini ``generationConfig.candidateCount``).

The scripted :class:`Reply` is answer 0, unchanged; answer ``i`` > 0 is the same reply whose
text ends with `` (answer i+1)``: distinct and deterministic, so a test can tell them apart.
Usage counts every answer's output once (the real APIs bill all candidates in one usage).
"""
from dataclasses import replace
from typing import Any, List

from ._reply import Reply

__all__ = ["choice_count", "choice_replies", "choice_text"]

#: the most answers the emulator renders (OpenAI takes up to 128, Gemini up to 8)
MAX_CHOICES = 128


def choice_count(value: Any) -> int:
    """How many answers a request's ``n`` / ``candidateCount`` asks for (1 when absent or not a
    positive int: the contract checks report a bad value)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return 1
    return min(value, MAX_CHOICES)


def choice_text(text: str, index: int) -> str:
    """Answer ``index``'s text for a scripted ``text``."""
    return text if index == 0 else f"{text} (answer {index + 1})"


def choice_replies(reply: Reply, n: int) -> List[Reply]:
    """``reply`` as ``n`` answers (answer 0 is ``reply`` itself)."""
    if n <= 1:
        return [reply]
    out = [reply]
    for i in range(1, n):
        text = choice_text(reply.text, i) if reply.text or not reply.tool_calls else reply.text
        out.append(replace(reply, text=text))
    return out
