"""Providers, model names and configuration (llmunified/_registry.py), and that no repr shows a key
(Secret, ProviderConfig, llmunified._endpoint.Endpoint, HTTPRequest)."""
import pytest

from llmunified._endpoint import Endpoint
from llmunified._options import make_options, to_messages
from llmunified.providers._base import Codec
from llmunified._registry import PROVIDERS, ProviderConfig, Secret, resolve_config, split_model
from llmunified import errors
from llmunified.errors import ConfigurationError, LLMError

KEY = "sk-unit-test-SECRET-9f8e7d6c5b4a"


# -- split_model -----------------------------------------------------------------------------

def test_split_on_first_slash():
    info, name = split_model("openrouter/meta-llama/llama-3-70b")
    assert info is PROVIDERS["openrouter"]
    assert name == "meta-llama/llama-3-70b"
    info, name = split_model("openai/gpt-4o-mini")
    assert (info.name, name) == ("openai", "gpt-4o-mini")
    assert split_model("ollama/llama3.2:1b")[1] == "llama3.2:1b"


def test_provider_name_case_insensitive():
    assert split_model("OpenAI/gpt-4o")[0] is PROVIDERS["openai"]


def test_unknown_provider_lists_known_ones():
    with pytest.raises(ConfigurationError) as exc:
        split_model("openia/gpt-4o")
    msg = str(exc.value)
    assert "openia" in msg
    for name in PROVIDERS:
        assert name in msg
    assert isinstance(exc.value, LLMError)


@pytest.mark.parametrize("bad", ["gpt-4o", "", "openai", None, 42])
def test_missing_slash(bad):
    with pytest.raises(ConfigurationError, match="provider/model"):
        split_model(bad)


def test_missing_slash_message_lists_providers():
    with pytest.raises(ConfigurationError) as exc:
        split_model("gpt-4o")
    assert "openai/gpt-4o-mini" in str(exc.value) and "anthropic" in str(exc.value)


def test_empty_model_name():
    with pytest.raises(ConfigurationError, match="names no model"):
        split_model("openai/")


def test_empty_provider_name():
    with pytest.raises(ConfigurationError, match="unknown provider"):
        split_model("/gpt-4o")


def test_registry_table_is_consistent():
    for name, info in PROVIDERS.items():
        assert info.name == name
        assert issubclass(info.codec, Codec) and info.protocol in ("openai", "anthropic", "ollama", "gemini", "vertex",
                                                                           "azure", "cohere")
        if name == "azure":  # no default: each Azure resource has its own endpoint
            assert info.base_url == "" and info.base_url_env == "AZURE_OPENAI_ENDPOINT"
            continue
        assert info.base_url.startswith(("http://", "https://")) and not info.base_url.endswith("/")
        assert all(v.endswith("_API_KEY") for v in info.api_key_envs)
        assert info.api_key_envs or info.name == "vertex"  # Vertex: a token or Application Default Credentials
    assert {n for n, i in PROVIDERS.items() if not i.key_required} == {"ollama", "lmstudio", "vllm", "vertex"}


# -- resolve_config --------------------------------------------------------------------------

def test_args_beat_env_beat_defaults():
    info = PROVIDERS["openai"]
    env = {"OPENAI_API_KEY": "sk-env", "OPENAI_BASE_URL": "https://env.example/v1"}
    c = resolve_config(info, api_key="sk-arg", base_url="https://arg.example/v1/", environ=env)
    assert (c.api_key.get(), c.base_url) == ("sk-arg", "https://arg.example/v1")
    c = resolve_config(info, environ=env)
    assert (c.api_key.get(), c.base_url) == ("sk-env", "https://env.example/v1")
    c = resolve_config(info, api_key="sk-arg", environ={})
    assert (c.api_key.get(), c.base_url) == ("sk-arg", "https://api.openai.com/v1")


def test_empty_env_values_count_as_unset():
    c = resolve_config(PROVIDERS["groq"], environ={"GROQ_API_KEY": "gk", "GROQ_BASE_URL": ""})
    assert c.base_url == "https://api.groq.com/openai/v1"
    with pytest.raises(ConfigurationError):
        resolve_config(PROVIDERS["groq"], environ={"GROQ_API_KEY": ""})


def test_environ_parameter_isolated_from_os_environ(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-real-env")
    with pytest.raises(ConfigurationError):
        resolve_config(PROVIDERS["openai"], environ={})
    # without environ= the process environment is read
    assert resolve_config(PROVIDERS["openai"]).api_key.get() == "sk-from-real-env"


@pytest.mark.parametrize("provider, var", [
    ("openai", "OPENAI_API_KEY"), ("anthropic", "ANTHROPIC_API_KEY"), ("groq", "GROQ_API_KEY"),
    ("together", "TOGETHER_API_KEY"), ("openrouter", "OPENROUTER_API_KEY"), ("deepseek", "DEEPSEEK_API_KEY"),
])
def test_missing_required_key_names_env_var(provider, var, monkeypatch):
    import socket

    def no_network(*a, **k):
        raise AssertionError("network used while resolving configuration")
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    with pytest.raises(ConfigurationError) as exc:
        resolve_config(PROVIDERS[provider], environ={})
    assert var in str(exc.value)
    assert "api_key" in str(exc.value)
    # the same through Endpoint (what Client builds): raised at construction
    with pytest.raises(ConfigurationError, match=var):
        Endpoint(f"{provider}/some-model", environ={})


@pytest.mark.parametrize("provider", ["ollama", "lmstudio", "vllm"])
def test_optional_key_providers_fine_without_key(provider):
    c = resolve_config(PROVIDERS[provider], environ={})
    assert c.api_key is None
    assert c.base_url == PROVIDERS[provider].base_url
    c = resolve_config(PROVIDERS[provider], environ={PROVIDERS[provider].api_key_env: "k"})
    assert c.api_key.get() == "k"


def test_headers_kept_as_tuple():
    c = resolve_config(PROVIDERS["openrouter"], api_key="k", headers={"HTTP-Referer": "https://me.example"},
                       environ={})
    assert c.headers == (("HTTP-Referer", "https://me.example"),)
    assert c.name == "openrouter"


@pytest.mark.parametrize("value, expected", [
    ("localhost", "http://localhost:11434"),
    ("0.0.0.0:1234", "http://0.0.0.0:1234"),
    ("127.0.0.1", "http://127.0.0.1:11434"),
    ("https://x.example:443/", "https://x.example:443"),
    ("http://gpu-box:8080", "http://gpu-box:8080"),
    ("  example.com:5000/  ", "http://example.com:5000"),
    ("example.com/path", "http://example.com:11434/path"),
    ("[::1]", "http://[::1]:11434"),
    ("[::1]:9000", "http://[::1]:9000"),
])
def test_ollama_host_normalisation(value, expected):
    assert resolve_config(PROVIDERS["ollama"], environ={"OLLAMA_HOST": value}).base_url == expected


@pytest.mark.parametrize("value, expected", [
    ("http://[::1]", "http://[::1]:80"),
    ("https://x.example", "https://x.example:443"),
    ("http://localhost", "http://localhost:80"),
])
def test_ollama_host_with_scheme_uses_scheme_default_port(value, expected):
    assert resolve_config(PROVIDERS["ollama"], environ={"OLLAMA_HOST": value}).base_url == expected


def test_ollama_host_not_applied_to_explicit_base_url():
    c = resolve_config(PROVIDERS["ollama"], base_url="http://box:1/", environ={"OLLAMA_HOST": "other"})
    assert c.base_url == "http://box:1"


# -- secrets never shown ---------------------------------------------------------------------

def test_secret_repr_and_str_hide_value():
    s = Secret(KEY)
    assert s.get() == KEY
    for text in (repr(s), str(s), f"{s}", "%s" % s, "%r" % (s,), repr([s]), repr({"k": s})):
        assert KEY not in text
        assert "***" in text
    assert bool(s) and not bool(Secret(""))


def test_secret_not_picklable():
    import pickle
    with pytest.raises(TypeError):
        pickle.dumps(Secret(KEY))


def test_provider_config_repr_hides_key():
    c = resolve_config(PROVIDERS["anthropic"], api_key=KEY, environ={})
    assert isinstance(c, ProviderConfig)
    assert KEY not in repr(c) and KEY not in str(c)
    assert c.api_key.get() == KEY


def test_provider_config_from_env_repr_hides_key():
    c = resolve_config(PROVIDERS["openai"], environ={"OPENAI_API_KEY": KEY})
    assert KEY not in repr(c)


def test_endpoint_repr_and_request_repr_hide_key():
    ep = Endpoint("openai/gpt-4o-mini", api_key=KEY, environ={})
    assert KEY not in repr(ep)
    assert repr(ep) == "Endpoint('openai/gpt-4o-mini', base_url='https://api.openai.com/v1')"
    assert (ep.provider, ep.model_name, ep.base_url) == ("openai", "gpt-4o-mini", "https://api.openai.com/v1")
    for stream in (False, True):
        call = ep.chat("hi", {"temperature": 0.1}, stream=stream)
        request = call.request
        # the key is in the headers (it has to be sent) but not in the repr
        assert request.headers["Authorization"] == "Bearer " + KEY
        assert KEY not in repr(request) and KEY not in str(request)
        assert KEY not in repr(call)
        assert request.url == "https://api.openai.com/v1/chat/completions"
        assert KEY.encode() not in request.body


def test_endpoint_from_env_and_bad_default_fails_at_construction():
    ep = Endpoint("groq/llama-3.1-8b-instant", environ={"GROQ_API_KEY": KEY})
    assert KEY not in repr(ep)
    assert ep.base_url == "https://api.groq.com/openai/v1"
    from llmunified.errors import ValidationError
    with pytest.raises(ValidationError):
        Endpoint("openai/gpt-4o-mini", api_key=KEY, defaults={"temperature": 9}, environ={})
    with pytest.raises(ConfigurationError):
        Endpoint("nope/x", api_key=KEY, environ={})


# -- key sources, auth schemes, entries as data ------------------------------------------------

def test_callable_key_is_called_per_use_and_never_shown():
    calls = []

    def token():
        calls.append(1)
        return f"tok-{len(calls)}-SECRET-abcdef"

    c = resolve_config(PROVIDERS["openai"], api_key=token, environ={})
    assert c.api_key.is_callable and c.api_key.known() is None
    assert "SECRET" not in repr(c) and "SECRET" not in repr(c.api_key)
    h1, h2 = {}, {}
    c.authorize(h1, "u")
    c.authorize(h2, "u")
    assert (h1["Authorization"], h2["Authorization"]) == ("Bearer tok-1-SECRET-abcdef", "Bearer tok-2-SECRET-abcdef")
    assert c.api_key.known() == "tok-2-SECRET-abcdef"  # what error text gets scrubbed of


def test_callable_key_may_return_an_access_token_object():
    class AccessToken:  # the shape azure-identity's get_token() returns
        token = "entra-token-0123456789"
        expires_on = 0

    c = resolve_config(PROVIDERS["openai"], api_key=lambda: AccessToken(), environ={})
    headers = {}
    c.authorize(headers, "u")
    assert headers["Authorization"] == "Bearer entra-token-0123456789"


@pytest.mark.parametrize("bad", [lambda: "", lambda: None, lambda: 42])
def test_callable_key_returning_nothing_usable_is_a_configuration_error(bad):
    c = resolve_config(PROVIDERS["openai"], api_key=bad, environ={})
    with pytest.raises(ConfigurationError, match="must return a non-empty string"):
        c.authorize({}, "u")


def test_api_key_of_a_wrong_type_is_refused():
    with pytest.raises(ConfigurationError, match="string or a callable"):
        resolve_config(PROVIDERS["openai"], api_key=b"sk-bytes", environ={})


def test_token_auth_differs_from_key_auth_when_declared():
    from llmunified._registry import Auth, ProviderInfo
    from llmunified.providers.openai import OpenAICodec

    info = ProviderInfo("azureish", OpenAICodec, "https://r.example", ("AZ_KEY", "AZ_KEY_OLD"), None, True, "test",
                        auth=Auth.header("api-key"), token_auth=Auth.bearer())
    h = {}
    resolve_config(info, environ={"AZ_KEY_OLD": "k-old"}).authorize(h, "u")   # second variable is read too
    assert h == {"api-key": "k-old"}
    h = {}
    resolve_config(info, api_key=lambda: "tok", environ={}).authorize(h, "u")  # never both headers
    assert h == {"Authorization": "Bearer tok"}
    with pytest.raises(ConfigurationError, match="AZ_KEY or AZ_KEY_OLD"):
        resolve_config(info, environ={})
    assert info.api_key_envs == ("AZ_KEY", "AZ_KEY_OLD") and PROVIDERS["openai"].api_key_envs == ("OPENAI_API_KEY",)


def test_hosts_of_one_protocol_differ_by_data_not_branches():
    from llmunified.providers import codec_for

    def max_tokens_field(provider):
        codec = codec_for(resolve_config(PROVIDERS[provider], api_key="k", environ={}), "m")
        body = codec.chat_request(to_messages("hi"), make_options({}, {"max_tokens": 5}), False).json()
        return [k for k in body if "max" in k]

    assert PROVIDERS["openai"].details["max_tokens_field"] == "max_completion_tokens"
    assert max_tokens_field("openai") == ["max_completion_tokens"]
    assert max_tokens_field("groq") == ["max_tokens"]
    with pytest.raises(TypeError):
        PROVIDERS["openai"].details["max_tokens_field"] = "x"  # entries are immutable


def test_token_family_and_thinking_replay_come_from_the_entry():
    from llmunified._tokens import _thinking_mode, family_for

    assert [family_for(p) for p in ("openai", "anthropic", "ollama", "groq", "deepseek", "openrouter")] == \
        ["openai", "anthropic", "llama", "llama", "deepseek", "default"]
    assert [_thinking_mode(p) for p in ("openai", "lmstudio", "anthropic", "ollama", "nope")] == \
        ["none", "none", "signed", "all", None]


def test_a_client_imports_only_the_codec_it_needs():
    import subprocess
    import sys

    code = ("import sys, llmunified as llm\n"
            "llm.Client('anthropic/m', api_key='k')\n"
            "print(sorted(m for m in sys.modules if m.startswith('llmunified.providers.')))\n"
            "llm.Client('groq/m', api_key='k')  # not a module name: the whole table is built\n"
            "print(sorted(m for m in sys.modules if m.startswith('llmunified.providers.')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "['llmunified.providers._base', 'llmunified.providers.anthropic']"
    assert "llmunified.providers.openai" in out[1] and "llmunified.providers.ollama" in out[1]


def test_a_client_loads_no_stream_machinery_until_it_streams():
    """Making a client (any provider) loads neither the stream events nor the SSE/NDJSON decoders
    nor the Stream classes (either twin): a program that never streams never pays for them; the
    first accumulator loads the events, the first stream decoder the SSE reader."""
    import subprocess
    import sys

    code = ("import sys, llmunified as llm, llmunified_async as allm\n"
            "for model in ('openai/m', 'anthropic/m', 'ollama/m', 'cohere/m', 'gemini/m'):\n"
            "    llm.Client(model, api_key='k'); allm.Client(model, api_key='k')\n"
            "print(sorted(m for m in ('llmunified._events', 'llmunified._sse') if m in sys.modules))\n"
            "print(sorted(m for m in sys.modules if m.endswith('._stream')))\n"
            "streams = (llm.Stream, allm.Stream, llm.RunStream, allm.RunStream)\n"
            "print(sorted(m for m in sys.modules if m.endswith('._stream')), [c.__module__ for c in streams])\n"
            "from llmunified.providers._base import new_accumulator\n"
            "acc = new_accumulator('openai', 'm', {})\n"
            "print(sorted(m for m in ('llmunified._events', 'llmunified._sse') if m in sys.modules))\n"
            "from llmunified.providers.openai import OpenAICodec, OpenAIStream\n"
            "OpenAIStream(llm.Client('openai/m', api_key='k')._endpoint.codec, acc)\n"
            "print(sorted(m for m in ('llmunified._events', 'llmunified._sse') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[:5] == ["[]", "[]",
                       "['llmunified._sync._stream', 'llmunified_async._stream'] ['llmunified._sync._stream', "
                       "'llmunified_async._stream', 'llmunified._sync._stream', 'llmunified_async._stream']",
                       "['llmunified._events']", "['llmunified._events', 'llmunified._sse']"]


def test_a_short_history_loads_no_conversation_cache():
    """Requests with a short history (a one-off prompt, a brief chat) are encoded without the
    conversation cache of long histories, which loads only with the first history that reaches
    ``MIN_MESSAGES`` (OpenAI-compatible, Cohere) or the first request (the codecs that keep
    per-conversation state: Anthropic, Ollama)."""
    import subprocess
    import sys

    code = ("import sys, llmunified as llm\n"
            "def loaded(): return 'llmunified._wirecache' in sys.modules\n"
            "short = [llm.user('hi'), llm.assistant('hello'), llm.user('and?')]\n"
            "for model in ('openai/m', 'groq/m', 'cohere/m', 'gemini/m'):\n"
            "    llm.Client(model, api_key='k')._endpoint.chat(short, {}, stream=False)\n"
            "print(loaded())\n"
            "from llmunified._json import MIN_MESSAGES\n"
            "long = [llm.user(str(i)) if i % 2 == 0 else llm.assistant(str(i)) for i in range(MIN_MESSAGES + 1)]\n"
            "body = llm.Client('openai/m', api_key='k')._endpoint.chat(long, {}, stream=False).request.body\n"
            "print(loaded(), body.count(b'\"role\"') == MIN_MESSAGES + 1)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[:2] == ["False", "True True"]


def test_lookup_and_the_table_agree():
    from llmunified.providers import codec_modules, lookup, provider_table

    assert "openai" in codec_modules() and "_base" not in codec_modules()
    for name, info in provider_table().items():
        assert lookup(name) is info
    assert lookup("nope") is None


# -- provider settings (Vertex's project/location, Azure's api_version) -------------------------

def _regional_info():
    from llmunified._registry import ProviderInfo, Setting
    from llmunified.providers.openai import OpenAICodec

    class Regional(OpenAICodec):
        @classmethod
        def base_url_for(cls, settings):
            return f"https://{settings['location']}.example.test/v1"

    return ProviderInfo("regional", Regional, "https://global.example.test/v1", "REGIONAL_KEY", "REGIONAL_URL",
                        True, "test", settings=(
                            Setting("project", env=("REGIONAL_PROJECT", "CLOUD_PROJECT"), required=True,
                                    description="the cloud project id"),
                            Setting("location", env="REGIONAL_LOCATION", default="us-central1")))


def test_settings_come_from_arguments_then_environment_then_defaults():
    info = _regional_info()
    c = resolve_config(info, api_key="k", environ={"CLOUD_PROJECT": "p-env"})
    assert dict(c.settings) == {"project": "p-env", "location": "us-central1"}
    assert c.base_url == "https://us-central1.example.test/v1"    # the codec picked the region's host
    c = resolve_config(info, api_key="k", settings={"project": "p", "location": "europe-west4"},
                       environ={"CLOUD_PROJECT": "p-env", "REGIONAL_LOCATION": "asia-east1"})
    assert dict(c.settings) == {"project": "p", "location": "europe-west4"}
    assert c.base_url == "https://europe-west4.example.test/v1"
    c = resolve_config(info, api_key="k", base_url="http://127.0.0.1:9/v1", settings={"project": "p"}, environ={})
    assert c.base_url == "http://127.0.0.1:9/v1"                   # an explicit base_url wins
    with pytest.raises(TypeError):
        c.settings["project"] = "x"


def test_a_missing_required_setting_says_what_to_set():
    with pytest.raises(ConfigurationError) as exc:
        resolve_config(_regional_info(), api_key="k", environ={})
    msg = str(exc.value)
    assert "project" in msg and "REGIONAL_PROJECT or CLOUD_PROJECT" in msg and "the cloud project id" in msg
    with pytest.raises(ConfigurationError, match="has no setting zone"):
        resolve_config(_regional_info(), api_key="k", settings={"project": "p", "zone": "a"}, environ={})


def test_client_and_complete_route_provider_settings(monkeypatch):
    import llmunified as llm
    from llmunified import providers

    info = _regional_info()
    table = dict(providers.provider_table())
    table["regional"] = info
    monkeypatch.setattr(providers, "_table", table)
    client = llm.Client("regional/m", api_key="k", project="p", location="eu", temperature=0.1)
    assert client.base_url == "https://eu.example.test/v1"
    client.close()
    with pytest.raises(errors.ValidationError, match="unknown option.*project"):
        llm.Client("openai/m", api_key="k", project="p")  # not a setting of openai: an unknown option
    from llmunified._registry import provider_settings
    assert provider_settings("regional/m") == ("project", "location") and provider_settings("nope") == ()
