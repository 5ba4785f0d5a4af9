"""Python types -> JSON Schema, docstrings, and the @tool decorator."""
import asyncio
import dataclasses
import datetime
import decimal
import enum
import json
import subprocess
import sys
import types
import uuid
from dataclasses import dataclass, field
from typing import (Annotated, Any, Dict, FrozenSet, List, Literal, Mapping, NewType, Optional, Sequence, Set, Tuple,
                    TypeVar, Union)

import pytest

from llmunified._options import make_options, to_tool
from llmunified._schema import check_schema, validate, validate_tools
from llmunified._docstrings import parse_docstring
from llmunified._tooldef import FunctionTool, tool
from llmunified._typeschema import compile_converter, convert_value, schema_for_type
from llmunified._types import Tool
from llmunified.errors import ValidationError


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


UserId = NewType("UserId", int)
T = TypeVar("T")


@dataclass
class Point:
    x: float
    y: float = 0.0


@dataclass
class Address:
    """A postal address.

    Attributes:
        street: Street and number.
        city: The city.
    """

    street: str
    city: str = field(default="Paris", metadata={"description": "City name (overrides the docstring)"})
    tags: List[str] = field(default_factory=list)
    internal: int = field(default=0, init=False)


@dataclass
class Person:
    name: str
    age: int
    address: Address
    nickname: Optional[str] = None
    color: Color = Color.RED
    scores: Dict[str, float] = field(default_factory=dict)
    kind: Literal["human", "robot"] = "human"


@dataclass
class Node:
    label: str
    children: List["Node"] = field(default_factory=list)


@dataclass
class Tree:
    root: Node
    others: List[Node]


@dataclass
class Ping:
    pong: Optional["Pong"] = None


@dataclass
class Pong:
    ping: Ping


# ---------------------------------------------------------------------------------------------
# schema_for_type: the table


@pytest.mark.parametrize("tp, expected", [
    (str, {"type": "string"}),
    (int, {"type": "integer"}),
    (float, {"type": "number"}),
    (bool, {"type": "boolean"}),
    (None, {"type": "null"}),
    (type(None), {"type": "null"}),
    (Any, {}),
    (Optional[int], {"type": ["integer", "null"]}),
    (Union[int, str], {"type": ["integer", "string"]}),
    (Union[int, str, None], {"type": ["integer", "string", "null"]}),
    (Optional[Color], {"anyOf": [{"type": "string", "enum": ["red", "blue"]}, {"type": "null"}]}),
    (Optional[List[int]], {"anyOf": [{"type": "array", "items": {"type": "integer"}}, {"type": "null"}]}),
    (list, {"type": "array"}),
    (List[str], {"type": "array", "items": {"type": "string"}}),
    (list, {"type": "array"}),
    (Sequence[int], {"type": "array", "items": {"type": "integer"}}),
    (List[Any], {"type": "array"}),
    (Set[str], {"type": "array", "items": {"type": "string"}, "uniqueItems": True}),
    (FrozenSet[int], {"type": "array", "items": {"type": "integer"}, "uniqueItems": True}),
    (tuple, {"type": "array"}),
    (Tuple[int, ...], {"type": "array", "items": {"type": "integer"}}),
    (Tuple[int, str], {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}],
                       "minItems": 2, "maxItems": 2}),
    (Tuple[()], {"type": "array", "maxItems": 0}),
    (dict, {"type": "object"}),
    (Dict[str, int], {"type": "object", "additionalProperties": {"type": "integer"}}),
    (Mapping[str, List[int]], {"type": "object", "additionalProperties": {"type": "array",
                                                                          "items": {"type": "integer"}}}),
    (Dict[str, Any], {"type": "object"}),
    (Literal["a"], {"type": "string", "const": "a"}),
    (Literal["a", "b"], {"type": "string", "enum": ["a", "b"]}),
    (Literal[1, 2], {"type": "integer", "enum": [1, 2]}),
    (Literal["a", 1, None], {"type": ["string", "integer", "null"], "enum": ["a", 1, None]}),
    (Literal[True], {"type": "boolean", "const": True}),
    (Literal[Color.BLUE], {"type": "string", "const": "blue"}),
    (Color, {"type": "string", "enum": ["red", "blue"]}),
    (Level, {"type": "integer", "enum": [1, 2]}),
    (datetime.datetime, {"type": "string", "format": "date-time"}),
    (datetime.date, {"type": "string", "format": "date"}),
    (datetime.time, {"type": "string", "format": "time"}),
    (uuid.UUID, {"type": "string", "format": "uuid"}),
    (Annotated[str, "The city"], {"type": "string", "description": "The city"}),
    (Annotated[int, 42], {"type": "integer"}),
    (UserId, {"type": "integer"}),
    (Point, {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number", "default": 0.0}},
             "required": ["x"], "additionalProperties": False}),
])
def test_schema_for_type_table(tp, expected):
    schema = schema_for_type(tp)
    assert schema == expected
    check_schema(schema)


def test_builtin_generics_and_pep604_unions():
    assert schema_for_type(list[int]) == {"type": "array", "items": {"type": "integer"}}
    assert schema_for_type(dict[str, bool]) == {"type": "object", "additionalProperties": {"type": "boolean"}}
    assert schema_for_type(tuple[int, ...]) == {"type": "array", "items": {"type": "integer"}}
    if sys.version_info >= (3, 10):
        assert schema_for_type(eval("int | None")) == {"type": ["integer", "null"]}
        assert schema_for_type(eval("Point | str"))["anyOf"][1] == {"type": "string"}


def test_nested_dataclass_schema():
    schema = schema_for_type(Person)
    assert schema == {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "address": {
                "type": "object",
                "description": "A postal address.",
                "properties": {
                    "street": {"type": "string", "description": "Street and number."},
                    "city": {"type": "string", "description": "City name (overrides the docstring)",
                             "default": "Paris"},
                    "tags": {"type": "array", "items": {"type": "string"}, "default": []},
                },
                "required": ["street"],
                "additionalProperties": False,
            },
            "nickname": {"type": ["string", "null"], "default": None},
            "color": {"type": "string", "enum": ["red", "blue"], "default": "red"},
            "scores": {"type": "object", "additionalProperties": {"type": "number"}, "default": {}},
            "kind": {"type": "string", "enum": ["human", "robot"], "default": "human"},
        },
        "required": ["name", "age", "address"],
        "additionalProperties": False,
    }
    check_schema(schema)


def test_recursive_dataclass_uses_defs_and_ref():
    schema = schema_for_type(Node)
    node = {"type": "object", "properties": {
        "label": {"type": "string"},
        "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}, "default": []}},
        "required": ["label"], "additionalProperties": False}
    assert schema == dict(node, **{"$defs": {"Node": node}})
    check_schema(schema)
    assert validate(schema, {"label": "a", "children": [{"label": "b", "children": [{"label": "c"}]}]}) == []
    assert validate(schema, {"label": "a", "children": [{"label": "b", "children": [{"nope": 1}]}]}) != []


def test_recursive_dataclass_used_twice_is_defined_once():
    schema = schema_for_type(Tree)
    assert schema["properties"]["root"]["type"] == "object"  # first use inline
    assert schema["properties"]["others"] == {"type": "array", "items": {"$ref": "#/$defs/Node"}}
    assert list(schema["$defs"]) == ["Node"]
    check_schema(schema)


def test_mutually_recursive_dataclasses():
    schema = schema_for_type(Ping)
    check_schema(schema)
    assert list(schema["$defs"]) == ["Ping"]
    assert validate(schema, {"pong": {"ping": {"pong": {"ping": {}}}}}) == []
    assert validate(schema, {"pong": {"ping": {"pong": {}}}}) == [
        "$.pong: {'ping': {'pong': {}}} is not valid under any of the given schemas "
        "(closest: $.pong.ping.pong: 'ping' is a required property)"]


def test_shared_defs_dict():
    defs: Dict[str, Any] = {}
    schema = schema_for_type(List[Node], defs=defs)
    assert "$defs" not in schema and list(defs) == ["Node"]


def test_default_of_none_makes_a_field_nullable():
    @dataclass
    class D:
        n: int = None  # type: ignore[assignment]

    assert schema_for_type(D)["properties"]["n"] == {"type": ["integer", "null"], "default": None}


def test_non_json_defaults_are_left_out():
    @dataclass
    class D:
        when: datetime.date = datetime.date(2024, 1, 2)
        weird: Any = field(default_factory=object)
        pair: Tuple[int, int] = (1, 2)
        raw: Any = float("nan")

    props = schema_for_type(D)["properties"]
    assert props["when"] == {"type": "string", "format": "date", "default": "2024-01-02"}
    assert props["weird"] == {} and props["raw"] == {}
    assert props["pair"]["default"] == [1, 2]
    assert "required" not in schema_for_type(D)


def test_dataclasses_json_letter_case_is_honoured():
    from dataclasses_json import LetterCase, config, dataclass_json

    @dataclass_json(letter_case=LetterCase.CAMEL)
    @dataclass
    class Camel:
        first_name: str
        last_name: str = field(default="", metadata=config(field_name="surname"))

    schema = schema_for_type(Camel)
    assert list(schema["properties"]) == ["firstName", "surname"]
    assert schema["required"] == ["firstName"]
    obj = Camel("Ada", "Lovelace")
    assert validate(schema, obj.to_dict()) == []
    assert convert_value(obj.to_dict(), Camel) == obj


@pytest.mark.parametrize("tp, fragment", [
    (bytes, "unsupported type annotation bytes (JSON has no bytes; take a base64 str)"),
    (decimal.Decimal, "unsupported type annotation decimal.Decimal"),
    (T, "unsupported type annotation ~T"),
    (Dict[int, str], "unsupported type annotation Dict[int, str] (JSON object keys are strings; use dict[str, ...])"),
    (List[complex], "unsupported type annotation complex"),
    (Literal[b"x"], "Literal value b'x' is not a JSON scalar"),
    (object.__class__, "unsupported type annotation type"),
])
def test_unsupported_annotations(tp, fragment):
    with pytest.raises(ValidationError) as info:
        schema_for_type(tp, where="parameter 'p'")
    assert str(info.value).startswith("parameter 'p': ")
    assert fragment in str(info.value)


def test_unsupported_field_names_the_field():
    @dataclass
    class Inner:
        amount: decimal.Decimal

    @dataclass
    class Outer:
        inner: Inner

    with pytest.raises(ValidationError) as info:
        schema_for_type(Outer, where="target")
    assert str(info.value).startswith(
        "target: field Outer.inner: field Inner.amount: unsupported type annotation decimal.Decimal; supported: ")


def test_enum_with_non_json_values():
    class Bad(enum.Enum):
        A = (1, 2)

    with pytest.raises(ValidationError, match=r"member value \(1, 2\) is not a JSON scalar"):
        schema_for_type(Bad)


def test_forward_reference_errors():
    @dataclass
    class Dangling:
        x: "DoesNotExist"  # noqa: F821

    with pytest.raises(ValidationError, match=r"cannot resolve the annotations"):
        schema_for_type(Dangling)
    with pytest.raises(ValidationError, match=r"unresolved forward reference"):
        schema_for_type("Node")


FUTURE_MODULE = '''
from __future__ import annotations
from dataclasses import dataclass, field
from typing import List, Optional, Literal

@dataclass
class Item:
    """An item."""
    name: str
    qty: int = 1
    sub: Optional[List[Item]] = None

def order(items: List[Item], note: Optional[str] = None, mode: Literal["fast", "slow"] = "fast") -> str:
    """Place an order.

    Args:
        items: What to order.
        note: A note for the shop.
    """
    return f"{len(items)} {note} {mode}"
'''


@pytest.fixture
def future_module():
    module = types.ModuleType("llmunified_test_future_mod")
    sys.modules[module.__name__] = module  # dataclasses and get_type_hints look the module up
    try:
        exec(compile(FUTURE_MODULE, "future_mod.py", "exec"), module.__dict__)
        yield module.__dict__
    finally:
        del sys.modules[module.__name__]


def test_from_future_annotations_module(future_module):
    namespace = future_module
    order = tool(namespace["order"])
    params = order.parameters
    assert params["properties"]["items"]["items"]["properties"]["qty"] == {"type": "integer", "default": 1}
    assert params["properties"]["items"]["items"]["properties"]["sub"]["anyOf"][0] == {
        "type": "array", "items": {"$ref": "#/$defs/Item"}}
    assert params["properties"]["note"] == {"type": ["string", "null"], "description": "A note for the shop.",
                                            "default": None}
    assert params["properties"]["mode"] == {"type": "string", "enum": ["fast", "slow"], "default": "fast"}
    assert params["required"] == ["items"]
    assert order.description == "Place an order."
    validate_tools([order])
    args = order.convert_arguments({"items": [{"name": "a", "sub": [{"name": "b", "qty": 2}]}]})
    Item = namespace["Item"]
    assert args == {"items": [Item("a", 1, [Item("b", 2)])]}
    assert order(**args) == "1 None fast"


# ---------------------------------------------------------------------------------------------
# docstrings


def test_google_docstring():
    doc = """Get the current weather.

    Works for any city
    on Earth.

    Args:
        city (str): The city name,
            for example "Paris".
        unit (str, optional): Temperature unit.
        *extras: ignored.

    Returns:
        str: The weather.

    Raises:
        ValueError: never.
    """
    description, params = parse_docstring(doc)
    assert description == "Get the current weather.\n\nWorks for any city on Earth."
    assert params == {"city": 'The city name, for example "Paris".', "unit": "Temperature unit.",
                      "extras": "ignored."}


@pytest.mark.parametrize("header", ["Arguments:", "Parameters:", "Keyword Args:", "Params:"])
def test_google_section_spellings(header):
    doc = f"Do it.\n\n{header}\n    a: first\n    b: second\n        continued\n"
    assert parse_docstring(doc) == ("Do it.", {"a": "first", "b": "second continued"})


def test_google_entry_with_description_on_next_line_and_paragraphs():
    doc = "Summary.\n\nArgs:\n    a:\n        On the next line.\n\n        Second paragraph.\n    b: x\n"
    assert parse_docstring(doc)[1] == {"a": "On the next line.\n\nSecond paragraph.", "b": "x"}


def test_numpy_docstring():
    doc = """Compute things.

    Longer text.

    Parameters
    ----------
    x : int
        The x value,
        over two lines.
    y, z : float, optional
        Shared text.
    flag : bool

    Returns
    -------
    int
        The result.
    """
    description, params = parse_docstring(doc)
    assert description == "Compute things.\n\nLonger text."
    assert params == {"x": "The x value, over two lines.", "y": "Shared text.", "z": "Shared text.", "flag": ""}


def test_rest_docstring():
    doc = """Send a message.

    :param to: Recipient address,
        may be a list.
    :param str subject: The subject.
    :type to: str
    :param Optional[int] retries: How often.
    :returns: nothing
    :raises ValueError: sometimes
    """
    description, params = parse_docstring(doc)
    assert description == "Send a message."
    assert params == {"to": "Recipient address, may be a list.", "subject": "The subject.", "retries": "How often."}


def test_docstring_edge_cases():
    assert parse_docstring(None) == ("", {})
    assert parse_docstring("") == ("", {})
    assert parse_docstring("Just a line.") == ("Just a line.", {})
    assert parse_docstring("Note the colon here: it is prose.\n\nMore.") == (
        "Note the colon here: it is prose.\n\nMore.", {})
    assert parse_docstring("Only args.\nArgs:\n    a: x") == ("Only args.", {"a": "x"})
    assert parse_docstring("Returns:\n    x") == ("", {})


# ---------------------------------------------------------------------------------------------
# the decorator


@tool
def get_weather(city: str, days: int = 1, unit: Literal["C", "F"] = "C") -> str:
    """Get the weather forecast.

    Args:
        city: City name, e.g. "Paris".
        days: Number of days.
    """
    return f"{city}:{days}:{unit}"


def test_docstring_styles_in_one_docstring_first_style_wins():
    doc = """Mixed.

    Args:
        a: google a
        b: google b

    :param b: rest b
    :param c: rest c
        continued
    :param d: rest d

        not continued after a blank line
    """
    assert parse_docstring(doc) == ("Mixed.", {"a": "google a", "b": "google b", "c": "rest c continued",
                                               "d": "rest d"})


def test_moved_names_are_still_importable_from_tooldef():
    from llmunified import _docstrings, _tooldef, _typeschema

    assert _tooldef.schema_for_type is _typeschema.schema_for_type
    assert _tooldef.convert_value is _typeschema.convert_value
    assert _tooldef.is_class is _typeschema.is_class
    assert _tooldef.parse_docstring is _docstrings.parse_docstring


def test_structured_output_does_not_load_the_tool_decorator():
    code = ("import sys, llmunified._structured\n"
            "print(sorted(m for m in ('llmunified._tooldef', 'llmunified._typeschema') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['llmunified._typeschema']", out.stderr


def test_tool_decorator_builds_a_function_tool():
    assert isinstance(get_weather, FunctionTool) and isinstance(get_weather, Tool)
    assert get_weather.name == "get_weather"
    assert get_weather.description == "Get the weather forecast."
    assert get_weather.parameters == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": 'City name, e.g. "Paris".'},
            "days": {"type": "integer", "description": "Number of days.", "default": 1},
            "unit": {"type": "string", "enum": ["C", "F"], "default": "C"},
        },
        "required": ["city"],
        "additionalProperties": False,
    }
    assert get_weather("Paris", days=2) == "Paris:2:C"
    assert get_weather.__name__ == "get_weather"
    assert get_weather.__doc__.startswith("Get the weather forecast.")
    assert get_weather.__wrapped__("x") == "x:1:C"
    assert get_weather.strict is None and not get_weather.is_async
    validate_tools([get_weather])


def test_tool_with_options_and_integration_with_options():
    @tool(name="weather-v2", description="Override.", strict=True)
    def w(city: str) -> str:
        """Ignored description."""
        return city

    assert (w.name, w.description, w.strict) == ("weather-v2", "Override.", True)
    assert to_tool(w) is w
    opts = make_options({}, {"tools": [w, get_weather], "tool_choice": "weather-v2"})
    assert [t.name for t in opts.tools] == ["weather-v2", "get_weather"]
    assert w == w and w != get_weather


def test_async_tool():
    @tool
    async def fetch(url: str) -> str:
        """Fetch a URL."""
        return "got " + url

    assert fetch.is_async
    assert fetch.parameters["properties"] == {"url": {"type": "string"}}
    assert asyncio.run(fetch("x")) == "got x"


def test_tool_on_methods_skips_self_and_binds():
    class Shop:
        def __init__(self, prefix):
            self.prefix = prefix

        @tool
        def find(self, query: str, limit: int = 3) -> str:
            """Find products."""
            return f"{self.prefix}{query}{limit}"

    assert Shop.find.parameters["required"] == ["query"]
    assert list(Shop.find.parameters["properties"]) == ["query", "limit"]
    bound = Shop("#").find
    assert isinstance(bound, FunctionTool) and bound.name == "find"
    assert bound("q") == "#q3"
    assert bound.convert_arguments({"query": "z", "limit": 2.0}) == {"query": "z", "limit": 2}
    assert bound == Shop.find and hash(bound) == hash(Shop.find)


def test_plain_tools_stored_on_classes_do_not_bind():
    class Agent:
        weather = get_weather

    assert Agent().weather is get_weather
    assert {get_weather: 1}[get_weather] == 1


def test_tool_on_a_callable_object():
    class Adder:
        """Adds."""

        def __call__(self, a: int, b: int = 1) -> int:
            return a + b

    t = tool(Adder(), name="add")
    assert t.parameters["required"] == ["a"] and t(2) == 3


@pytest.mark.parametrize("source, fragment", [
    ("def f(x): pass", "tool 'f': parameter 'x' has no type annotation; annotate it (e.g. x: str)"),
    ("def f(*args: int): pass", "tool 'f': parameter '*args' is not supported"),
    ("def f(**kw: int): pass", "tool 'f': parameter '**kw' is not supported"),
    ("def f(x: int, /): pass", "tool 'f': parameter 'x' is positional-only"),
    ("def f(x: bytes): pass", "tool 'f': parameter 'x': unsupported type annotation bytes"),
    ("def f(x: 'Nope'): pass", "tool 'f': cannot resolve the annotations"),
])
def test_tool_decoration_errors(source, fragment):
    namespace: Dict[str, Any] = {}
    exec(source, namespace)
    with pytest.raises(ValidationError) as info:
        tool(namespace["f"])
    assert fragment in str(info.value)


def test_tool_decoration_errors_on_names_and_misuse():
    def f(x: int) -> int:
        return x

    with pytest.raises(ValidationError, match=r"tool name 'bad name' must be 1-64 letters"):
        tool(name="bad name")(f)
    with pytest.raises(ValidationError, match=r"tool name '<lambda>' must be"):
        tool(lambda x: x)
    with pytest.raises(ValidationError, match=r"'f' is already a tool"):
        tool(tool(f))
    with pytest.raises(ValidationError, match=r"put @tool below @staticmethod/@classmethod"):
        tool(staticmethod(f))
    with pytest.raises(ValidationError, match=r"@tool needs a function, got int"):
        tool(3)


def test_generated_tool_schemas_are_valid_json_schema():
    @tool
    def everything(p: Person, nodes: List[Node], when: datetime.datetime, pair: Tuple[int, str],
                   tags: Set[str], level: Level, color: Optional[Color] = None) -> None:
        """All the types."""

    validate_tools([everything])
    assert "$defs" in everything.parameters


# ---------------------------------------------------------------------------------------------
# converting arguments back


def test_convert_arguments():
    @tool
    def book(person: Person, when: datetime.datetime, day: datetime.date, at: datetime.time, ref: uuid.UUID,
             pair: Tuple[int, str], tags: Set[str], level: Level, color: Color, ratio: float, count: int,
             maybe: Optional[int] = 5, unit: str = "C", kind: Literal[Color.RED, Color.BLUE] = Color.RED,
             uid: UserId = UserId(1), frozen: FrozenSet[int] = frozenset()) -> None:
        """Book."""

    raw = {"person": {"name": "Ada", "age": 36, "address": {"street": "1 Main"}, "color": "blue",
                      "scores": {"math": 10}},
           "when": "2024-05-06T07:08:09Z", "day": "2024-05-06", "at": "07:08:09", "ref": str(uuid.UUID(int=5)),
           "pair": [1, "a"], "tags": ["x", "y", "x"], "level": 2, "color": "red", "ratio": 1, "count": 3.0,
           "maybe": None, "unit": None, "kind": "blue", "uid": 7, "frozen": [1, 2], "unknown": {"kept": True}}
    args = book.convert_arguments(raw)
    assert args == {
        "person": Person("Ada", 36, Address("1 Main"), color=Color.BLUE, scores={"math": 10.0}),
        "when": datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc),
        "day": datetime.date(2024, 5, 6), "at": datetime.time(7, 8, 9), "ref": uuid.UUID(int=5),
        "pair": (1, "a"), "tags": {"x", "y"}, "level": Level.HIGH, "color": Color.RED, "ratio": 1.0, "count": 3,
        "maybe": None, "kind": Color.BLUE, "uid": 7, "frozen": frozenset({1, 2}), "unknown": {"kept": True}}
    assert "unit" not in args  # null for a non-nullable parameter with a default means "not given"
    assert type(args["ratio"]) is float and type(args["count"]) is int
    assert type(args["person"].scores["math"]) is float


def test_convert_arguments_errors_name_the_argument():
    with pytest.raises(ValidationError, match=r"^get_weather\.days: cannot convert 'two' to int"):
        get_weather.convert_arguments({"city": "x", "days": "two"})
    with pytest.raises(ValidationError, match=r"arguments must be a JSON object"):
        get_weather.convert_arguments(["x"])

    @tool
    def when(at: datetime.date) -> None:
        """When."""

    with pytest.raises(ValidationError, match=r"^when\.at: cannot convert 'tomorrow' to datetime\.date"):
        when.convert_arguments({"at": "tomorrow"})

    @tool
    def person(p: Person) -> None:
        """P."""

    with pytest.raises(ValidationError, match=r"^person\.p: missing required field 'age' of Person"):
        person.convert_arguments({"p": {"name": "x", "address": {"street": "s"}}})


def test_convert_value_unions_pick_the_matching_member():
    tp = Union[Point, Address, int, str]
    assert convert_value({"street": "s"}, tp) == Address("s")
    assert convert_value({"x": 1}, tp) == Point(1.0)
    assert convert_value(3, tp) == 3 and convert_value("3", tp) == "3"
    with pytest.raises(ValidationError, match=r"matches none of"):
        convert_value([1], tp)
    assert convert_value(None, Optional[Point]) is None


def test_convert_dataclass_post_init_errors_are_validation_errors():
    @dataclass
    class Positive:
        n: int

        def __post_init__(self):
            if self.n <= 0:
                raise ValueError("n must be positive")

    with pytest.raises(ValidationError, match=r"^\$: \S*Positive\(n\) failed: n must be positive"):
        convert_value({"n": -1}, Positive)


def _count_resolutions(monkeypatch):
    from llmunified import _typeschema

    calls = []
    real = _typeschema.resolve_annotations

    def counting(obj, ns, where):
        calls.append(obj)
        return real(obj, ns, where)

    monkeypatch.setattr(_typeschema, "resolve_annotations", counting)
    return calls


def test_tool_conversion_resolves_dataclass_annotations_once(monkeypatch):
    @tool
    def ship(to: Address, parcels: List[Point], note: Optional[str] = None) -> None:
        """Ship."""

    calls = _count_resolutions(monkeypatch)
    raw = {"to": {"street": "s", "tags": ["a"]}, "parcels": [{"x": 1}, {"x": 2, "y": 3}], "note": None}
    expected = {"to": Address("s", tags=["a"]), "parcels": [Point(1.0), Point(2.0, 3.0)], "note": None}
    for _ in range(3):
        assert ship.convert_arguments(raw) == expected
    assert sorted(c.__name__ for c in calls) == ["Address", "Point"]  # once each, not per call or per item


def test_bound_method_tools_share_their_converters(monkeypatch):
    class Shop:
        @tool
        def send(self, to: Address) -> str:
            """Send."""
            return to.street

    shop = Shop()
    calls = _count_resolutions(monkeypatch)
    for _ in range(3):
        bound = shop.send  # a new bound tool on every access
        assert bound.convert_arguments({"to": {"street": "s"}}) == {"to": Address("s")}
    assert Shop.send.convert_arguments({"to": {"street": "t"}}) == {"to": Address("t")}
    assert len(calls) == 1


def test_compile_converter_is_convert_value_kept():
    convert = compile_converter(Everything)
    for value in ROUND_TRIP_VALUES:
        decoded = json.loads(_to_json(value))
        assert convert(decoded) == convert_value(decoded, Everything) == value
    with pytest.raises(ValidationError, match=r"^\$\.people\[0\]: missing required field 'name' of Person"):
        convert({"people": [{}]})
    with pytest.raises(ValidationError, match=r"^args\.mode: 'c' matches none of"):
        compile_converter(Union[Point, int])("c", "args.mode")
    with pytest.raises(ValidationError, match=r"^x: cannot convert 'q' to int: invalid literal"):
        compile_converter(int)("q", "x")
    with pytest.raises(ValidationError, match=r"^x: cannot convert to unsupported type bytes"):
        compile_converter(bytes)(b"q", "x")


def test_compile_converter_resolves_annotations_when_a_value_needs_them():
    @dataclass
    class Dangling:
        x: "DoesNotExist"  # noqa: F821

    convert = compile_converter(Optional[Dangling])  # compiling never fails
    assert convert(None) is None
    for _ in range(2):  # refused on every conversion that reaches it, as convert_value does
        with pytest.raises(ValidationError, match=r"cannot resolve the annotations"):
            convert({"x": 1})
        with pytest.raises(ValidationError, match=r"cannot resolve the annotations"):
            convert_value({"x": 1}, Optional[Dangling])


def test_compiled_recursive_dataclasses():
    convert = compile_converter(Tree)
    raw = {"root": {"label": "r", "children": [{"label": "a", "children": [{"label": "b"}]}]},
           "others": [{"label": "o"}]}
    assert convert(raw) == convert_value(raw, Tree) == Tree(Node("r", [Node("a", [Node("b")])]), [Node("o")])
    assert compile_converter(Ping)({"pong": {"ping": {"pong": None}}}) == Ping(Pong(Ping(None)))


# ---------------------------------------------------------------------------------------------
# round trips: dataclass -> schema -> JSON -> dataclass


@dataclass
class Everything:
    people: List[Person]
    tree: Node
    by_name: Dict[str, Point]
    level: Level
    mode: Literal["a", "b"]
    pair: Tuple[int, str]
    maybe_point: Optional[Point] = None
    maybe_color: Optional[Color] = None
    union: Union[int, str] = 0


def _to_json(obj: Any) -> str:
    def default(o: Any) -> Any:
        if dataclasses.is_dataclass(o):
            return {f.name: getattr(o, f.name) for f in dataclasses.fields(o) if f.init}
        if isinstance(o, enum.Enum):
            return o.value
        raise TypeError(o)

    return json.dumps(obj, default=default)


ROUND_TRIP_VALUES = [
    Everything(
        people=[Person("Ada", 36, Address("1 Main", "London", ["x"]), nickname="A", color=Color.BLUE,
                       scores={"m": 1.5}, kind="robot"),
                Person("Bob", 40, Address("2 Side"))],
        tree=Node("root", [Node("a"), Node("b", [Node("c")])]),
        by_name={"p": Point(1.5, -2.0), "q": Point(0.0)},
        level=Level.LOW, mode="b", pair=(7, "seven"), maybe_point=Point(3.0, 4.0), maybe_color=Color.RED,
        union="text"),
    Everything(people=[], tree=Node("only"), by_name={}, level=Level.HIGH, mode="a", pair=(0, "")),
]


@pytest.mark.parametrize("value", ROUND_TRIP_VALUES)
def test_round_trip(value):
    schema = schema_for_type(Everything)
    check_schema(schema)
    decoded = json.loads(_to_json(value))
    assert validate(schema, decoded) == []
    assert convert_value(decoded, Everything) == value


def test_round_trip_through_dataclasses_json_to_dict():
    from dataclasses_json import DataClassJsonMixin

    @dataclass
    class Shape(DataClassJsonMixin):
        name: str
        color: Color
        points: List[Point]
        label: Optional[str] = None

    value = Shape("tri", Color.BLUE, [Point(0, 0), Point(1, 0), Point(0, 1)])
    decoded = json.loads(value.to_json())
    assert validate(schema_for_type(Shape), decoded) == []
    assert convert_value(decoded, Shape) == value
