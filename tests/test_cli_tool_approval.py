"""``llmunified chat --tool MODULE:NAME``: the chat's tools are asked about (y/N) before each call
runs, unless ``--yes``; a declined call goes back to the model as an error result."""
import io

import pytest

from llmunified import cli

TOOLS = '''
RAN = []


def get_weather(city: str) -> str:
    """Weather for a city.

    Args:
        city: The city.
    """
    RAN.append(city)
    return city + ": clear"
'''


@pytest.fixture
def tools_file(tmp_path):
    path = tmp_path / "weather_tools.py"
    path.write_text(TOOLS)
    return str(path)


def chat(emulator, stdin, *extra):
    out, err = io.StringIO(), io.StringIO()
    args = cli.build_parser().parse_args(["chat", "-m", "openai/x", "--base-url", emulator.url_for("openai"),
                                          "--api-key", "k", "-i", *extra])
    code = cli.chat_command(args, stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def last_message(request):
    return request.json["messages"][-1]


def test_each_tool_call_is_asked_about(emulator, tools_file):
    from llmunified.testing import ToolCallSpec

    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})])
    emulator.reply(text="Clear in Paris.")
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Oslo"})])
    emulator.reply(text="I was not allowed to look.")
    code, out, err = chat(emulator, "Weather in Paris?\ny\nWeather in Oslo?\nn\n", "--tool", tools_file + ":get_weather")
    assert code == 0
    assert 'run get_weather({"city": "Paris"})? [y/N] y' in err and 'run get_weather({"city": "Oslo"})? [y/N] n' in err
    assert "get_weather -> Paris: clear" in out and "Clear in Paris." in out
    assert "not run: the user declined" in last_message(emulator.requests[3])["content"]
    assert all(not r.violations for r in emulator.requests)


def test_end_of_input_declines(emulator, tools_file):
    from llmunified.testing import ToolCallSpec

    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})])
    emulator.reply(text="No tools then.")
    code, out, err = chat(emulator, "Weather in Paris?\n", "--tool", tools_file + ":get_weather")
    assert code == 0 and "(no answer)" in err and "No tools then." in out
    assert "declined" in last_message(emulator.requests[1])["content"]


def test_yes_runs_without_asking(emulator, tools_file):
    from llmunified.testing import ToolCallSpec

    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})])
    emulator.reply(text="Clear in Paris.")
    code, out, err = chat(emulator, "Weather in Paris?\n", "--tool", tools_file + ":get_weather", "--yes")
    assert code == 0 and "[y/N]" not in err
    assert last_message(emulator.requests[1])["content"] == "Paris: clear"


@pytest.mark.parametrize("spec, needle", [("nocolon", "MODULE:NAME"), ("no_such_module_x:f", "cannot load"),
                                          ("missing.py:f", "no such file"), ("json:nothing_here", "has no")])
def test_bad_tool_specs_are_one_line_usage_errors(emulator, spec, needle, capsys):
    code = cli.main(["chat", "-m", "openai/x", "--base-url", emulator.url_for("openai"), "--api-key", "k",
                     "--tool", spec, "Hi"])
    assert code == cli.EXIT_USAGE and needle in capsys.readouterr().err
    assert emulator.requests == []
