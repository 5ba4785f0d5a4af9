"""The interactive chat driven through a real pseudo-terminal, as a person would use it: Ctrl-C
mid-stream, /commands, multi-line input, colour and NO_COLOR, Ctrl-C and Ctrl-D at the prompt.

The terminal is the standard library's ``pty`` (no pexpect: its ``pty.fork`` in a process that
runs emulator threads is a DeprecationWarning on Python 3.12+, an error under ``-W error``). A
tiny launcher makes the pty the child's controlling terminal, so a typed ``\\x03`` reaches the
program as SIGINT through the terminal's line discipline, exactly as a real Ctrl-C does.
"""
import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time

import pytest

from llmunified.testing import Reply
from tests.test_cli import ROOT, clean_env

pytestmark = pytest.mark.skipif(not sys.platform.startswith(("linux", "darwin")), reason="needs a POSIX pty")

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|[\x01\x02]")
SGR = re.compile(r"\x1b\[[0-9;]*m")
# Ctrl-C is restored to its default first: a suite started from a shell's background job (`cmd &`
# without job control) inherits SIGINT ignored, and Python then never raises KeyboardInterrupt.
LAUNCHER = ("import os, sys, fcntl, signal, termios; signal.signal(signal.SIGINT, signal.SIG_DFL); os.setsid(); "
            "fcntl.ioctl(0, termios.TIOCSCTTY, 0); os.execv(sys.executable, [sys.executable] + sys.argv[1:])")


class Terminal:
    """``python -m llmunified ARGS`` on a 120x30 pseudo-terminal."""

    def __init__(self, *args, env):
        import pty

        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
        self.proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, "-m", "llmunified", *args],
                                     stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT, close_fds=True)
        os.close(slave)
        self.master = master
        self.raw = b""
        self.pos = 0

    def _read(self, timeout):
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the child closed the terminal
            data = b""
        if not data:
            raise EOFError
        self.raw += data

    @property
    def text(self):
        """What was shown, escape sequences removed."""
        return ANSI.sub("", self.raw.decode("utf-8", "replace"))

    def expect(self, wanted, timeout=20):
        """Wait until ``wanted`` is shown after the previous match; the text before it."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text
            at = text.find(wanted, self.pos)
            if at >= 0:
                before, self.pos = text[self.pos:at], at + len(wanted)
                return before
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{wanted!r} not shown; after the last match: {text[self.pos:]!r}")
            try:
                self._read(min(left, 0.2))
            except EOFError:
                raise AssertionError(f"{wanted!r} not shown before the program ended: {text[self.pos:]!r}") from None

    def type(self, keys):
        os.write(self.master, keys.encode())

    def wait(self, timeout=20):
        deadline = time.monotonic() + timeout
        try:
            while self.proc.poll() is None and time.monotonic() < deadline:
                self._read(0.1)
        except EOFError:
            pass
        try:
            return self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        finally:
            os.close(self.master)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def terminal(emulator):
    """Opens terminals pointed at the test's emulator (LLMUNIFIED_EMULATOR); kills leftovers."""
    opened = []

    def open_terminal(*args, **env):
        values = clean_env(LLMUNIFIED_EMULATOR=emulator.base_url, TERM="xterm-256color")
        values.update(env)
        term = Terminal(*args, env=values)
        opened.append(term)
        return term

    yield open_terminal
    for term in opened:
        term.kill()


def roles(request):
    return [m["role"] for m in request.json["messages"]]


def test_ctrl_c_stops_the_reply_and_keeps_the_session(emulator, terminal):
    emulator.reply(text="first answer")
    emulator.reply(text="word " * 2000, chunk_size=20, delay=0.02)  # a long, slow stream
    emulator.reply(text="third answer")
    term = terminal("chat", "-m", "anthropic/claude-test")
    term.expect(">>> ")
    term.type("hello\r")
    term.expect("first answer")
    term.expect(">>> ")
    term.type("tell me a very long story\r")
    term.expect("word word word")
    term.type("\x03")  # Ctrl-C, through the terminal
    term.expect("[interrupted: the reply was stopped and this exchange is not kept]")
    assert emulator.wait_for_aborted(1, timeout=10)  # the connection was really closed
    term.expect(">>> ")
    term.type("and now?\r")
    term.expect("third answer")
    term.expect(">>> ")
    term.type("/exit\r")
    assert term.wait() == 0
    assert "Traceback" not in term.text and "KeyboardInterrupt" not in term.text
    # the interrupted exchange is not kept; the one before it is
    assert roles(emulator.requests[2]) == ["user", "assistant", "user"]
    assert emulator.requests[2].json["messages"][-1]["content"][0]["text"] == "and now?"


def test_commands(emulator, terminal, tmp_path):
    emulator.reply(text="one")
    emulator.reply(text="two")
    emulator.reply(text="three")
    saved = tmp_path / "chat.json"
    term = terminal("chat", "-m", "openai/gpt-test")
    term.expect(">>> ")
    term.type("/help\r")
    term.expect("/system [TEXT]")
    term.expect(">>> ")
    term.type("/system Be terse.\r")
    term.expect("system prompt set")
    term.type("/usage off\r")
    term.expect("usage after each reply: off")
    term.type("hi\r")
    term.expect("one")
    term.expect(">>> ")
    term.type(f"/save {saved}\r")
    term.expect(f"saved 3 messages to {saved}")
    term.type("/model ollama/llama-test\r")
    term.expect("model: ollama/llama-test")
    term.type("//etc/hosts is a file\r")
    term.expect("two")
    term.expect(">>> ")
    term.type("/clear\r")
    term.expect("conversation cleared")
    term.type(f"/load {saved}\r")
    term.expect(f"loaded 3 messages from {saved}")
    term.type("/usage\r")
    term.expect("2 replies:")
    term.type("/frobnicate\r")
    term.expect("unknown command /frobnicate")
    term.type("again\r")
    term.expect("three")
    term.expect(">>> ")
    term.type("/quit\r")
    assert term.wait() == 0
    first, second, third = emulator.requests
    assert first.path == "/v1/chat/completions" and roles(first) == ["system", "user"]
    assert second.path == "/api/chat"  # /model switched provider, the conversation came along
    assert roles(second) == ["system", "user", "assistant", "user"]
    assert second.json["messages"][-1]["content"] == "/etc/hosts is a file"
    assert [m["content"] for m in third.json["messages"]] == ["Be terse.", "hi", "one", "again"]  # /load
    assert "Traceback" not in term.text


def test_multi_line_input(emulator, terminal):
    emulator.reply(text="got it")
    emulator.reply(text="got that too")
    term = terminal("chat", "-m", "ollama/llama-test")
    term.expect(">>> ")
    term.type('"""\r')
    term.expect("... ")
    term.type("first line\r")
    term.expect("... ")
    term.type('second line"""\r')
    term.expect("got it")
    term.expect(">>> ")
    term.type("continued \\\r")
    term.expect("... ")
    term.type("here\r")
    term.expect("got that too")
    term.expect(">>> ")
    term.type("\x04")  # Ctrl-D quits
    assert term.wait() == 0
    assert emulator.requests[0].json["messages"][-1]["content"] == "first line\nsecond line"
    assert emulator.requests[1].json["messages"][-1]["content"] == "continued \nhere"


def test_ctrl_c_at_the_prompt_does_not_quit(emulator, terminal):
    emulator.reply(text="still here")
    term = terminal("chat", "-m", "ollama/llama-test")
    term.expect(">>> ")
    term.type("half a thought")
    term.expect("half a thought")  # echoed: the line editor has it
    # CPython's readline loop only looks at signals while it waits for a key: a SIGINT landing
    # while it is still drawing the echo is seen at the next key. A person is never that fast.
    time.sleep(0.3)
    term.type("\x03")
    term.expect("(Ctrl-D or /exit quits)")
    term.expect(">>> ")
    term.type("hello\r")
    term.expect("still here")
    term.type("/exit\r")
    assert term.wait() == 0
    assert [m["content"] for m in emulator.last_request.json["messages"]] == ["hello"]


def test_thinking_is_dimmed_and_toggled_and_usage_shown(emulator, terminal):
    emulator.reply(text="The answer.", thinking="Let me think.", usage=(11, 4))
    emulator.reply(text="Second answer.", thinking="Hidden thought.")
    term = terminal("chat", "-m", "anthropic/claude-test")
    term.expect(">>> ")
    term.type("q\r")
    term.expect("The answer.")
    term.expect("11 in + 4 out = 15 tokens")
    term.type("/thinking off\r")
    term.expect("thinking: hidden")
    term.type("q2\r")
    term.expect("Second answer.")
    term.type("/exit\r")
    assert term.wait() == 0
    raw = term.raw.decode()
    assert "\x1b[2mLet me think.\x1b[0m" in raw  # dimmed
    assert "Hidden thought." not in raw
    assert "\x1b[1;32m>>> " in raw  # a coloured prompt


def test_no_color(emulator, terminal):
    # trickled out, so the first token takes long enough for the spinner to show
    emulator.reply(text="Plain answer.", thinking="Plain thought.", chunk_size=8, delay=0.02)
    term = terminal("chat", "-m", "ollama/llama-test", NO_COLOR="1")
    term.expect(">>> ")
    term.type("q\r")
    term.expect("Plain answer.")
    term.type("/exit\r")
    assert term.wait() == 0
    raw = term.raw.decode()
    assert not SGR.search(raw), raw
    assert "[thinking]\r\nPlain thought.\r\n[end of thinking]" in raw  # thinking marked in words instead
    assert re.search("[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]", raw)  # the spinner still turns on a terminal (it is not colour)


def test_ctrl_c_in_a_one_shot_reply_exits_130(emulator, terminal):
    emulator.reply(text="word " * 2000, chunk_size=20, delay=0.02)
    term = terminal("chat", "-m", "ollama/llama-test", "tell me everything")
    term.expect("word word")
    term.type("\x03")
    assert term.wait() == 130
    assert "Traceback" not in term.text
