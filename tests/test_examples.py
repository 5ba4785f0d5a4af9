"""Every script in examples/ runs, as a user would run it, and prints what it promises: against
the emulator (the environment is scrubbed of provider keys, so nothing leaves 127.0.0.1).
examples/README.md lists them all."""
import os
import subprocess
import sys

import pytest

from tests.test_cli import ROOT, clean_env

EXAMPLES = os.path.join(ROOT, "examples")
SCRIPTS = sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".py") and not f.startswith("_"))

# What each example must print (a line or a fragment of one), so a script that runs but does
# nothing useful still fails.
EXPECTED = {
    "chat.py": ["complete: Paris.", "teacher: Bonjour !", "usage: "],
    "streaming.py": ["thinking: Three facts", "1. An octopus has three hearts.", "[stop;"],
    "async_service.py": ["A: Blue, because air scatters", "3 questions answered concurrently"],
    "tool_loop.py": ["model calls  get_weather({'city': 'Paris'})", 'tool returns {"city": "Oslo", "temperature": 27',
                     "tool returns 64.4", "answer: Paris is clear"],
    "structured_output.py": ["Paris: 2,102,650 inhabitants (France)", "Marseille: 873,076", "Lyon: 522,250"],
    "chat_session.py": ["saved 5 messages", "model: You told me your name is Ada.", "user: What's my name?"],
    "providers.py": ["openai/gpt-4o-mini           'Hello from openai/gpt-4o-mini!'",
                     "gemini/gemini-2.5-flash      'Hello from gemini/gemini-2.5-flash!'",
                     "ollama/llama3.2              'Hello from ollama/llama3.2!'"],
    "testing_your_app.py": ["Hello from the emulator.", "violations: []"],
}


def run_example(*args, cwd):
    return subprocess.run([sys.executable, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=clean_env(), cwd=cwd, timeout=120, universal_newlines=True)


def test_every_example_is_listed_and_checked():
    with open(os.path.join(EXAMPLES, "README.md"), encoding="utf-8") as f:
        index = f.read()
    assert sorted(EXPECTED) == SCRIPTS
    for script in SCRIPTS:
        assert f"({script})" in index, f"examples/README.md does not link {script}"


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs_against_the_emulator(script, tmp_path):
    proc = run_example(os.path.join(EXAMPLES, script), cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    for fragment in EXPECTED[script]:
        assert fragment in proc.stdout, f"{script} did not print {fragment!r}:\n{proc.stdout}"


def test_the_testing_example_passes_under_pytest(tmp_path):
    proc = run_example("-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error",
                       os.path.join(EXAMPLES, "testing_your_app.py"), cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 passed" in proc.stdout
