"""The hot-path JSON decoder (llmunified._json and providers._base.loads): orjson when it is
installed (tox env ``fastjson``), the standard library otherwise, and the same value or the same
error either way. In the default envs orjson is absent and these check the stdlib path; in
``fastjson`` they check that orjson changes nothing."""
import json
import math
import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import llmunified
from llmunified import _json
from llmunified.errors import MalformedResponseError
from llmunified.providers._base import decode_json, loads

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_scalars = (st.none() | st.booleans() | st.integers(min_value=-(2 ** 70), max_value=2 ** 70)
            | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30))
_documents = st.recursive(_scalars, lambda kids: st.lists(kids, max_size=5)
                          | st.dictionaries(st.text(max_size=10), kids, max_size=5), max_leaves=30)


def _same(a, b):
    """Equal values of equal types, all the way down (1 and 1.0 and True differ here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return repr(a) == repr(b)
    return a == b


@settings(max_examples=400, deadline=None)
@given(_documents, st.sampled_from([{}, {"separators": (",", ":")}, {"indent": 1}, {"ensure_ascii": False}]))
def test_generated_documents_read_as_json_reads_them(doc, style):
    text = json.dumps(doc, **style)
    assert _same(loads(text), json.loads(text))


@pytest.mark.parametrize("text", [
    "123456789012345678901234567890",            # beyond 64 bits: an int, never a float
    '{"id": 18446744073709551616, "n": 1}',
    "-9223372036854775809",
    "NaN", "[Infinity, -Infinity]", "1e400",      # json reads them; orjson refuses them
    '"\\ud800"',                                  # a lone surrogate escape
    '{"a": 1, "a": 2}',                           # the last duplicate wins
    " [1, 2.50, -0.0, 1E5, 0.1] ",                # whitespace around, exponent forms
    '"caf\\u00e9 \\ud83d\\ude00 日本"',
    "12345678901234567.5",
])
def test_texts_where_the_decoders_could_differ_read_as_json(text):
    got, want = loads(text), json.loads(text)
    assert _same(got, want) or (isinstance(want, float) and math.isnan(want) and math.isnan(got))


def test_a_big_integer_in_a_reply_stays_exact():
    body = b'{"choices": [], "usage": {"prompt_tokens": 123456789012345678901234567890}}'
    assert decode_json("openai", body)["usage"]["prompt_tokens"] == 123456789012345678901234567890


@pytest.mark.parametrize("text", ["", "{", '{"a": 1} trailing', "[1, 2,]", "'single'", "nul"])
def test_invalid_json_raises_what_json_raises(text):
    with pytest.raises(ValueError) as ours:
        loads(text)
    with pytest.raises(ValueError) as theirs:
        json.loads(text)
    assert str(ours.value) == str(theirs.value)


def test_a_malformed_body_keeps_the_body_whatever_the_decoder():
    with pytest.raises(MalformedResponseError) as err:
        decode_json("openai", b'{"choices": [')
    assert err.value.body == '{"choices": ['


def test_orjson_is_used_exactly_when_it_is_installed_and_not_refused():
    try:
        import orjson  # noqa: F401
        installed = True
    except ImportError:
        installed = False
    assert _json.will_use_orjson() is (installed and os.environ.get("LLMUNIFIED_JSON", "").lower() != "json")


def _run(code, **env):
    full = {k: v for k, v in os.environ.items() if k != "LLMUNIFIED_JSON"}
    full.update(env)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=full)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


_COUNTDOWN = """
import sys, json
from llmunified import _json
from llmunified.providers._base import decode_json, loads
body = json.dumps({"choices": [{"message": {"content": "hi"}}], "usage": {"total_tokens": 3}}).encode()
seen = []
for i in range(_json.SWITCH_AFTER_COLD + 2):
    assert (decode_json("openai", body) if i % 2 else loads(body.decode())) == json.loads(body)
    seen.append((_json.backend(), "orjson" in sys.modules))
print(json.dumps([seen[0], seen[_json.SWITCH_AFTER_COLD - 1], seen[_json.SWITCH_AFTER_COLD], seen[-1]]))
"""


def test_a_short_program_decodes_with_json_and_never_imports_orjson():
    # the first replies and stream events go to json: importing orjson (and uuid, platform,
    # inspect, dataclasses with it) costs more than it saves until thousands have been decoded
    pytest.importorskip("orjson")
    first, last_json, switched, end = json.loads(_run(_COUNTDOWN))
    assert first == ["json", False] and last_json == ["json", False]
    assert switched == ["orjson", True] and end == ["orjson", True]


def test_the_countdown_ends_in_json_for_good_without_orjson(monkeypatch):
    monkeypatch.setitem(sys.modules, "orjson", None)  # import orjson raises ImportError
    _fresh(monkeypatch)
    for i in range(5):
        assert loads('{"a": [1, 2.5, "x"]}') == {"a": [1, 2.5, "x"]}
        assert decode_json("openai", b'{"n": 123456789012345678901234567890}') == {"n": 123456789012345678901234567890}
    assert _json.backend() == "json" and _json._left > 10 ** 15  # decided: no import tried again
    assert _json.will_use_orjson() is False


def _fresh(monkeypatch, left=0, started=False):
    monkeypatch.setattr(_json, "settled", False)
    monkeypatch.setattr(_json, "_resolved", None)
    monkeypatch.setattr(_json, "_left", left)
    monkeypatch.setattr(_json, "_started", started)
    monkeypatch.delenv("LLMUNIFIED_JSON", raising=False)


def test_a_read_of_events_is_counted_at_once(monkeypatch):
    # a stream decoder asks once per network read which reader its events take
    orjson = pytest.importorskip("orjson")
    _fresh(monkeypatch, left=5, started=True)
    assert _json.reader(3) is _json.std_loads and _json._left == 2 and not _json.settled
    assert _json.reader(3) is _json.fast_loads_bytes  # the count ran out: orjson from this read on
    assert _json._resolved is orjson.loads and _json.reader(1000) is _json.fast_loads_bytes
    assert _json.settled  # final: a stream decoder may keep the reader it has


def test_without_orjson_every_read_is_json(monkeypatch):
    monkeypatch.setitem(sys.modules, "orjson", None)
    _fresh(monkeypatch)
    for count in (1, 5000, 3):
        assert _json.reader(count) is _json.std_loads
    assert _json.backend() == "json" and _json.settled


@pytest.mark.parametrize("data", [b'{"a": "caf\xc3\xa9"}', b'{"a": "\xff"}', b' [1, 2] ', b'{"n": 123456789012345678901234567890}',
                                  b'[1] x', b"{", b""])
def test_std_loads_reads_bytes_as_the_sse_rules_read_their_text(data):
    text = data.decode("utf-8", "replace")
    try:
        want = json.loads(text)
    except ValueError as exc:
        with pytest.raises(ValueError) as ours:
            _json.std_loads(data)
        assert str(ours.value) == str(exc)
    else:
        assert _same(_json.std_loads(data), want) and _same(_json.std_loads(text), want)


@pytest.mark.parametrize("setup, env", [
    ("import orjson", {}),                  # the program loaded it already: no import cost left
    ("", {"LLMUNIFIED_JSON": "orjson"}),    # asked for explicitly
])
def test_orjson_decodes_from_the_first_text_when_it_costs_nothing_or_is_asked_for(setup, env):
    pytest.importorskip("orjson")
    code = (f"{setup}\nfrom llmunified import _json\nfrom llmunified.providers._base import loads\n"
            "assert loads('[1]') == [1]\nprint(_json.backend())")
    assert _run(code, **env) == "orjson"


def test_orjson_waits_less_where_its_imports_are_loaded_already():
    # after asyncio + uuid (as aiohttp loads them) the import costs ~2 ms, not ~8
    pytest.importorskip("orjson")
    code = ("import inspect, uuid, json\nfrom llmunified import _json\nfrom llmunified.providers._base import loads\n"
            "n = 0\nwhile _json.backend() == 'json':\n    loads('[1]'); n += 1\n"
            "print(json.dumps([n, _json.SWITCH_AFTER_WARM]))")
    n, warm = json.loads(_run(code))
    assert n == warm + 1 and warm < _json.SWITCH_AFTER_COLD  # warm texts by json, then orjson


def test_llmunified_json_json_keeps_the_standard_library():
    code = ("import os; os.environ['LLMUNIFIED_JSON'] = 'json'; from llmunified import _json; "
            "from llmunified.providers._base import loads; assert loads('[1]') == [1]; print(_json.backend())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "json"


def test_import_llmunified_does_not_import_orjson():
    code = "import sys, llmunified; llmunified.Client('openai/gpt-4o', api_key='k'); print('orjson' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"
    assert llmunified  # the package under test is the one imported here too


@settings(max_examples=300, deadline=None)
@given(_documents, st.sampled_from([{}, {"separators": (",", ":")}, {"ensure_ascii": False}]))
def test_reply_bytes_read_as_json_reads_their_text(doc, style):
    # decode_json hands a reply's bytes straight to orjson (when installed): the value must be
    # what json makes of the text, as before
    body = json.dumps(doc, **style).encode("utf-8")
    assert _same(decode_json("openai", body), json.loads(body.decode("utf-8")))


@pytest.mark.parametrize("body", [
    b'{"usage": {"total_tokens": 123456789012345678901234567890}}',   # a big integer in the bytes
    b'{"n": NaN}',                                                     # json takes it, orjson does not
    b'{"s": "\\ud800"}',                                               # a lone surrogate escape
    '{"s": "caf\u00e9 \U0001F600"}'.encode("utf-16"),                   # not UTF-8: json detects it
    '{"s": "caf\u00e9"}'.encode("utf-32-le"),
])
def test_reply_bytes_that_orjson_would_read_differently_read_as_json(body):
    got, want = decode_json("openai", body), json.loads(body)
    assert _same(got, want) or math.isnan(want["n"]) and math.isnan(got["n"])


@pytest.mark.parametrize("body", [
    b'\xef\xbb\xbf{"a": 1}',        # a UTF-8 byte-order mark: json refuses the text
    b'{"a": "\xff\xfe"}',           # not UTF-8, not UTF-16 either
    b'{"a": 1} {"b": 2}',           # trailing data
    b"",
])
def test_reply_bytes_json_refuses_are_malformed_with_the_body_kept(body):
    with pytest.raises(MalformedResponseError) as err:
        decode_json("openai", body)
    assert err.value.body is not None and err.value.provider == "openai"
