"""Cost: priced from usage and the registry, checked to the cent (and far below) on recorded replies.

Every expected figure below is written by hand from the bundled snapshot's published prices
(models.dev, snapshot 2026-05-21; USD per million tokens), never computed by the code under
test. Usage semantics: input counts cached tokens, output counts reasoning tokens.
"""
import json
import math

import pytest

from llmunified import _models
from llmunified._cost import Cost, bill, compute, sum_parts
from llmunified._models import Prices, PriceTier, model_info, register_model
from llmunified._registry import PROVIDERS, resolve_config
from llmunified._types import Response, Usage, assistant
from llmunified.errors import ValidationError
from llmunified.providers import codec_for
from tests.providers.recordings import load, vcr, vcr_body


@pytest.fixture(autouse=True)
def fresh_registry(monkeypatch):
    monkeypatch.delenv(_models.ENV, raising=False)
    _models._reset()
    yield
    _models._reset()


def parse(provider, body, model="requested-model"):
    codec = codec_for(resolve_config(PROVIDERS[provider], api_key="k", environ={}), model)
    return codec.parse_chat(body if isinstance(body, bytes) else json.dumps(body).encode(), {})


def close(a, b):
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-15)


def assert_parts_add_up(cost):
    parts = cost.input + cost.cache_read + cost.cache_write + cost.output + cost.reasoning + cost.request
    assert close(parts, cost.total)


# -- recorded replies ------------------------------------------------------------------------

def test_anthropic_prompt_cache_read_and_write():
    # claude-sonnet-4-5-20250929: input 3, output 15, cache read 0.30, cache write (5 min) 3.75
    first, second = vcr("anthropic/prompt_cache_read_write.vcr.yaml")
    r1 = parse("anthropic", vcr_body(first))
    assert r1.model == "claude-sonnet-4-5-20250929"
    assert r1.usage == Usage(1114, 406, 1520, 1111, 0, 0)
    c1 = r1.cost
    # 3 uncached x 3 + 1111 read x 0.30 + 406 out x 15
    assert close(c1.input, 0.000009) and close(c1.cache_read, 0.0003333) and close(c1.output, 0.00609)
    assert close(c1.total, 0.0064323)
    assert c1.cache_write == 0 and c1.reasoning == 0
    assert (c1.currency, c1.date, c1.model) == ("USD", "2026-05-21", "anthropic/claude-sonnet-4-5-20250929")
    r2 = parse("anthropic", vcr_body(second))
    assert r2.usage == Usage(1532, 33, 1565, 1111, 418, 0)
    c2 = r2.cost
    # 3 uncached x 3 + 1111 read x 0.30 + 418 written x 3.75 + 33 out x 15
    assert close(c2.cache_write, 0.0015675) and close(c2.output, 0.000495)
    assert close(c2.total, 0.0024048)
    assert round(c1.total + c2.total, 2) == 0.01  # to the cent: both calls together cost about 0.88 of a cent
    assert_parts_add_up(c2)


def test_openai_reasoning_tokens_priced_once():
    # o3-mini-2025-01-31 resolves to o3-mini: input 1.10, output 4.40 (reasoning at the output price)
    inter = vcr("openai/o3_mini_max_completion_tokens.vcr.yaml")[0]
    reply = parse("openai", vcr_body(inter))
    assert reply.usage == Usage(7, 87, 94, 0, 0, 64)
    cost = reply.cost
    # 7 x 1.10 + (87 - 64) x 4.40 + 64 x 4.40
    assert close(cost.input, 0.0000077) and close(cost.output, 0.0001012) and close(cost.reasoning, 0.0002816)
    assert close(cost.total, 0.0003905)
    assert cost.model == "openai/o3-mini"


def test_openai_cached_tokens():
    first, second = vcr("openai/prompt_cache_cached_tokens.vcr.yaml")
    r1, r2 = parse("openai", vcr_body(first)), parse("openai", vcr_body(second))
    assert r1.model == "gpt-5.6-sol"
    assert r1.cost is None and r2.cost is None  # not in the registry: unknown, not 0
    # the same usage on gpt-5: input 1.25, output 10, cache read 0.125; OpenAI bills a cache
    # write at the plain input price
    gpt5 = model_info("openai/gpt-5")
    c1, c2 = gpt5.cost(r1.usage), gpt5.cost(r2.usage)
    # r1: 8 uncached x 1.25 + 4012 written x 1.25 + 4 out x 10
    assert close(c1.input, 0.00001) and close(c1.cache_write, 0.005015) and close(c1.total, 0.005065)
    # r2: 8 uncached x 1.25 + 4012 read x 0.125 + 4 out x 10
    assert close(c2.cache_read, 0.0005015) and close(c2.total, 0.0005515)
    assert round(c1.total, 2) == 0.01 and round(c2.total, 2) == 0.0


def test_gemini_thoughts():
    # gemini-2.5-pro (modelVersion models/gemini-2.5-pro): input 1.25, output 10 up to 200k
    rec = vcr("gemini/thinking_config.vcr.yaml")[0]
    reply = parse("gemini", vcr_body(rec), "gemini-2.5-pro")
    assert reply.usage == Usage(15, 283, 298, 0, 0, 275)
    cost = reply.cost
    # 15 x 1.25 + 8 x 10 + 275 thoughts x 10
    assert close(cost.input, 0.00001875) and close(cost.output, 0.00008) and close(cost.reasoning, 0.00275)
    assert close(cost.total, 0.00284875)
    assert round(cost.total, 2) == 0.0


def test_gemini_cached_content():
    # The recordings have no cache hit: the basic gemini-2.5-flash reply with cachedContentTokenCount
    # added (the field Gemini reports for implicit and explicit cache hits, counted in promptTokenCount)
    body = vcr_body(vcr("gemini/generate_content_basic.vcr.yaml")[0])
    data = json.loads(body)
    data["usageMetadata"].update(promptTokenCount=40000, cachedContentTokenCount=32000)
    reply = parse("gemini", data, "gemini-2.5-flash")
    assert reply.model == "gemini-2.5-flash"
    u = reply.usage
    assert (u.input_tokens, u.cache_read_tokens, u.output_tokens, u.reasoning_tokens) == (40000, 32000, 43, 34)
    cost = reply.cost
    # gemini-2.5-flash: input 0.30, cache read 0.03, output 2.50
    # 8000 x 0.30 + 32000 x 0.03 + 9 x 2.50 + 34 x 2.50
    assert close(cost.input, 0.0024) and close(cost.cache_read, 0.00096)
    assert close(cost.output, 0.0000225) and close(cost.reasoning, 0.000085)
    assert close(cost.total, 0.0034675)
    assert round(cost.total, 2) == 0.0


def test_gemini_long_prompt_tier():
    # gemini-2.5-pro above 200k prompt tokens: input 2.50, output 15, cache read 0.25
    info = model_info("gemini/gemini-2.5-pro")
    big = info.cost(Usage(250000, 1000, cache_read_tokens=50000, reasoning_tokens=400))
    # 200000 x 2.5 + 50000 x 0.25 + 600 x 15 + 400 x 15
    assert close(big.total, 0.5 + 0.0125 + 0.009 + 0.006)
    assert round(big.total, 2) == 0.53
    small = info.cost(Usage(200000, 1000))  # exactly the threshold: the base rate
    assert close(small.total, 0.25 + 0.01)


def test_deepseek_reasoner():
    reply = parse("deepseek", load("openai-compatible/deepseek_reasoner_reasoning_content.json"))
    assert reply.usage == Usage(18, 345, 363, 0, 0, 315)
    # deepseek-reasoner: input 0.14, output 0.28: 18 x 0.14 + 30 x 0.28 + 315 x 0.28
    assert close(reply.cost.total, 0.00000252 + 0.0000084 + 0.0000882)


def test_a_streamed_reply_costs_what_the_same_reply_costs():
    from tests.providers.recordings import feed_all, jsonl_as_sse

    codec = codec_for(resolve_config(PROVIDERS["gemini"], api_key="k", environ={}), "gemini-3-pro-preview")
    _, streamed = feed_all(codec.stream_decoder({}), [jsonl_as_sse(load("gemini/stream_text.chunks.jsonl"))])
    assert streamed.usage == Usage(9, 208, 217, 0, 0, 185)
    # gemini-3-pro-preview: input 2, output 12: 9 x 2 + 23 x 12 + 185 x 12
    assert close(streamed.cost.total, 0.000018 + 0.000276 + 0.00222)


# -- the rules ---------------------------------------------------------------------------------

def test_unknown_needed_price_is_none_never_zero():
    cohere = model_info("cohere/command-a-03-2025")  # no cache prices published
    assert cohere.cost(Usage(100, 10)).total > 0
    assert cohere.cost(Usage(100, 10, cache_read_tokens=50)) is None
    assert cohere.cost(Usage(100, 10, cache_write_tokens=50)) is None
    assert model_info("openai/no-such-model").cost(Usage(100, 10)) is None
    assert model_info("ollama/llama3.2").cost(Usage(100, 10)) is None  # local: no price known
    # a price nobody needs may be unknown
    assert compute(Prices(input=None, output=2.0), Usage(0, 10)).total == pytest.approx(0.00002)


def test_zero_usage_costs_a_true_zero():
    cost = model_info("openai/gpt-4o").cost(Usage())
    assert cost.total == 0.0 and cost.currency == "USD"


def test_inconsistent_counts_never_charge_negative():
    prices = Prices(input=1.0, output=2.0, cache_read=0.5)
    cost = compute(prices, Usage(10, 5, cache_read_tokens=20, reasoning_tokens=9))
    assert cost.input == 0 and cost.output == 0
    assert close(cost.total, 20 * 0.5e-6 + 9 * 2e-6)


def test_reasoning_price_tiers_and_request_fee():
    prices = Prices(input=1.0, output=4.0, reasoning=8.0, request=0.01,
                    tiers=(PriceTier(1000, input=2.0, output=6.0), PriceTier(5000, input=3.0)))
    low = compute(prices, Usage(1000, 100, reasoning_tokens=50))
    assert close(low.total, 1000e-6 + 50 * 4e-6 + 50 * 8e-6 + 0.01) and low.request == 0.01
    mid = compute(prices, Usage(2000, 100, reasoning_tokens=50))  # the tier's output rate covers reasoning
    assert close(mid.total, 2000 * 2e-6 + 100 * 6e-6 + 0.01)
    high = compute(prices, Usage(6000, 100), requests=3)  # highest tier passed; its unlisted output: the base
    assert close(high.total, 6000 * 3e-6 + 100 * 4e-6 + 0.03)


def test_costs_add_up_and_refuse_mixed_currencies():
    a = Cost(0.5, input=0.5, date="2026-05-21", model="m")
    b = Cost(0.25, output=0.25, date="2025-01-01", model="m", estimated=True)
    s = a + b
    assert (s.total, s.input, s.output, s.date, s.model, s.estimated) == (0.75, 0.5, 0.25, "2025-01-01", "m", True)
    assert sum([a, b]) == s
    assert (a + Cost(1.0, model="other")).model is None
    with pytest.raises(ValidationError, match="EUR"):
        a + Cost(1.0, currency="EUR")
    assert str(s) == "0.750000 USD"


def test_estimated_usage_gives_an_estimated_cost():
    assert model_info("openai/gpt-4o").cost(Usage(10, 10, estimated=True)).estimated is True


def test_response_cost_resolves_the_reported_version_and_is_none_without_a_model():
    reply = Response(assistant("x"), usage=Usage(1000, 100), model="gpt-4o-mini-2024-07-18", provider="openai")
    # gpt-4o-mini: input 0.15, output 0.60
    assert close(reply.cost.total, 0.00015 + 0.00006)
    assert Response(assistant("x"), usage=Usage(1000, 100), provider="openai").cost is None
    assert Response(assistant("x"), usage=Usage(1000, 100), model="gpt-4o").cost is None
    azure = Response(assistant("x"), usage=Usage(1000, 100), model="gpt-4o-2024-11-20", provider="azure")
    assert close(azure.cost.total, 0.0025 + 0.001)  # Azure reports the model behind the deployment


def test_a_response_standing_for_several_calls_prices_each_at_its_own_tier():
    # two tool-loop rounds of 150k prompt tokens on gemini-2.5-pro: each below the 200k tier
    rounds = [("gemini", "gemini-2.5-pro", Usage(150000, 100)), ("gemini", "gemini-2.5-pro", Usage(150000, 100))]
    reply = Response(assistant("done"), usage=rounds[0][2] + rounds[1][2], model="gemini-2.5-pro", provider="gemini")
    bill(reply, rounds)
    # 2 x (150000 x 1.25 + 100 x 10); the summed 300k prompt priced at once would pay the tier
    assert close(reply.cost.total, 2 * (0.1875 + 0.001))
    assert close(model_info("gemini/gemini-2.5-pro").cost(reply.usage).total, 0.75 + 0.003)
    rounds.append(("openai", "no-such-model", Usage(1, 1)))
    assert sum_parts(rounds) is None  # one unknown round: the sum is unknown


def test_registered_prices_price_responses():
    register_model("ollama/llama3.2", prices={"input": 0, "output": 0})
    reply = Response(assistant("x"), usage=Usage(500, 50), model="llama3.2", provider="ollama")
    assert reply.cost.total == 0.0 and reply.cost.date is None
    register_model("openai/ft:gpt-4o-mini:acme::x1", base="openai/gpt-4o-mini",
                   prices={"input": 0.3, "output": 1.2, "cache_read": 0.15, "currency": "USD", "date": "2026-01-01"})
    ft = Response(assistant("x"), usage=Usage(1000, 100, cache_read_tokens=400), model="ft:gpt-4o-mini:acme::x1",
                  provider="openai")
    # 600 x 0.30 + 400 x 0.15 + 100 x 1.20
    assert close(ft.cost.total, 0.00018 + 0.00006 + 0.00012) and ft.cost.date == "2026-01-01"
