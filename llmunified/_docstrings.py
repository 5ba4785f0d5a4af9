"""Docstrings -> a description and per-parameter descriptions (sans-IO, stdlib only).

:func:`parse_docstring` reads Google (``Args:``), NumPy (``Parameters`` / ``----------``) and reST
(``:param x:``) docstrings. One scanner walks the lines for each style; a style is a header
matcher that recognises where its sections start and says where each one ends and what to do
with its body.
"""
import inspect
import re
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

__all__ = ["parse_docstring"]

_GOOGLE_PARAM_SECTIONS = {"args", "arguments", "parameters", "params", "keyword args", "keyword arguments",
                          "kwargs", "other parameters", "attributes"}
_GOOGLE_SECTIONS = _GOOGLE_PARAM_SECTIONS | {
    "returns", "return", "yields", "yield", "raises", "raise", "examples", "example", "note", "notes",
    "warning", "warnings", "see also", "references", "todo", "methods", "warns", "tip", "hint", "important",
    "attention", "caution", "danger", "error", "seealso"}
_GOOGLE_HEADER = re.compile(r"^\s*([A-Za-z][A-Za-z ]*?)\s*:\s*$")
_GOOGLE_ENTRY = re.compile(r"^(\*{0,2}[A-Za-z_][A-Za-z0-9_]*)\s*(?:\(([^)]*)\))?\s*:(?:\s+(.*)|\s*)$")
_NUMPY_UNDERLINE = re.compile(r"^\s*-{3,}\s*$")
_NUMPY_ENTRY = re.compile(r"^(\*{0,2}[A-Za-z_][A-Za-z0-9_]*(?:\s*,\s*\*{0,2}[A-Za-z_][A-Za-z0-9_]*)*)\s*(?::.*)?$")
_NUMPY_PARAM_SECTIONS = {"parameters", "other parameters", "attributes", "keyword arguments"}
_REST_FIELD = re.compile(r"^\s*:([A-Za-z]+)([^:]*):(.*)$")
_REST_PARAM = {"param", "parameter", "arg", "argument", "key", "keyword", "ivar", "var", "cvar"}

Params = Dict[str, str]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _join(lines: List[str]) -> str:
    """Continuation lines joined: paragraphs keep a blank line, wrapped lines become one."""
    paragraphs: List[List[str]] = [[]]
    for line in lines:
        if line.strip():
            paragraphs[-1].append(line.strip())
        elif paragraphs[-1]:
            paragraphs.append([])
    return "\n\n".join(" ".join(p) for p in paragraphs if p)


def _clean_name(name: str) -> str:
    return name.lstrip("*")


# --------------------------------------------------------------------------------------------
# the scanner


class _Section(NamedTuple):
    """A section a header matcher found at some line."""

    #: lines the header itself takes; the body starts after them
    header_lines: int
    #: does line ``j`` (of ``lines``) end the body?
    ends: Callable[[List[str], int], bool]
    #: what to do with the body's lines (``None``: a section that describes no parameters)
    read: Optional[Callable[[List[str], Params], None]]
    #: body text on the header line itself (a reST field's text)
    head: Tuple[str, ...] = ()


#: a docstring style: the section starting at line ``i`` of ``lines``, or ``None``
HeaderMatcher = Callable[[List[str], int], Optional[_Section]]


def _scan(lines: List[str], match: HeaderMatcher, params: Params) -> int:
    """Read every section one style's matcher finds into ``params`` (first description of a name
    wins); the index of the first section's header (``len(lines)`` when there is none)."""
    first = len(lines)
    i = 0
    while i < len(lines):
        section = match(lines, i)
        if section is None:
            i += 1
            continue
        first = min(first, i)
        j = i + section.header_lines
        while j < len(lines) and not section.ends(lines, j):
            j += 1
        if section.read is not None:
            section.read(list(section.head) + lines[i + section.header_lines:j], params)
        i = j
    return first


# --------------------------------------------------------------------------------------------
# the styles


def _numpy_underlined(lines: List[str], j: int) -> bool:
    return j + 1 < len(lines) and bool(lines[j].strip()) and bool(_NUMPY_UNDERLINE.match(lines[j + 1]))


def _numpy_header(lines: List[str], i: int) -> Optional[_Section]:
    """NumPy: a header line underlined with dashes; the section runs to the next such header."""
    if not _numpy_underlined(lines, i) or _NUMPY_UNDERLINE.match(lines[i]):
        return None
    read = _numpy_entries if lines[i].strip().lower() in _NUMPY_PARAM_SECTIONS else None
    return _Section(2, _numpy_underlined, read)


def _google_header(lines: List[str], i: int) -> Optional[_Section]:
    """Google: a known section name and a colon (so prose ending in ':' is safe); the section is
    the lines indented under it."""
    m = _GOOGLE_HEADER.match(lines[i])
    if not m or m.group(1).lower() not in _GOOGLE_SECTIONS:
        return None
    base = _indent(lines[i])

    def ends(lines: List[str], j: int) -> bool:
        return bool(lines[j].strip()) and _indent(lines[j]) <= base

    read = _google_entries if m.group(1).lower() in _GOOGLE_PARAM_SECTIONS else None
    return _Section(1, ends, read)


def _rest_field(lines: List[str], i: int) -> Optional[_Section]:
    """reST: a ``:field args: text`` line, continued on more-indented lines up to a blank line or
    the next field."""
    m = _REST_FIELD.match(lines[i])
    if not m:
        return None
    base = _indent(lines[i])

    def ends(lines: List[str], j: int) -> bool:
        return not lines[j].strip() or bool(_REST_FIELD.match(lines[j])) or _indent(lines[j]) <= base

    kind, middle = m.group(1).lower(), m.group(2).split()
    read = _rest_param(_clean_name(middle[-1])) if kind in _REST_PARAM and middle else None
    return _Section(1, ends, read, (m.group(3),))


def _rest_param(name: str) -> Callable[[List[str], Params], None]:
    def read(body: List[str], params: Params) -> None:
        params.setdefault(name, _join(body))
    return read


#: the styles in order of precedence: a parameter described by two styles keeps the first text
_STYLES: Tuple[HeaderMatcher, ...] = (_numpy_header, _google_header, _rest_field)


def parse_docstring(doc: Optional[str]) -> Tuple[str, Dict[str, str]]:
    """``(description, {parameter: description})`` from a Google, NumPy or reST docstring.

    Google: an ``Args:`` (``Arguments:``, ``Parameters:``, ``Keyword Args:``, ``Attributes:``)
    section of ``name (type): text`` entries, continued on more-indented lines. NumPy: a
    ``Parameters`` header underlined with dashes, entries ``name : type`` with the text indented
    below. reST: ``:param name: text`` or ``:param type name: text``. The description is the text
    before the first section or field, whitespace-normalised per paragraph.
    """
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    params: Params = {}
    first_section = min(_scan(lines, style, params) for style in _STYLES)
    return _join(lines[:first_section]), params


# --------------------------------------------------------------------------------------------
# section bodies


def _google_entries(body: List[str], params: Params) -> None:
    entry_indent = None
    name = None
    text: List[str] = []
    for line in body:
        if not line.strip():
            if name is not None:
                text.append("")
            continue
        indent = _indent(line)
        if entry_indent is None:
            entry_indent = indent
        m = _GOOGLE_ENTRY.match(line.strip()) if indent <= entry_indent else None
        if m:
            if name is not None:
                params.setdefault(name, _join(text))
            name = _clean_name(m.group(1))
            text = [m.group(3) or ""]
        elif name is not None:
            text.append(line)
    if name is not None:
        params.setdefault(name, _join(text))


def _numpy_entries(body: List[str], params: Params) -> None:
    entry_indent = None
    names: List[str] = []
    text: List[str] = []

    def flush() -> None:
        for n in names:
            params.setdefault(n, _join(text))

    for line in body:
        if not line.strip():
            text.append("")
            continue
        indent = _indent(line)
        if entry_indent is None:
            entry_indent = indent
        m = _NUMPY_ENTRY.match(line.strip()) if indent <= entry_indent else None
        if m:
            flush()
            names = [_clean_name(n.strip()) for n in m.group(1).split(",")]
            text = []
        elif names:
            text.append(line)
    flush()
