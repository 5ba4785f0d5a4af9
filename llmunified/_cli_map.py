"""``llmunified map``: one completion per line of a prompts file, many at once (the command
line's side of ``Client.map``). Registered and dispatched by ``llmunified.cli``.

The input is ``prompts.txt`` (each non-empty line a prompt) or ``prompts.jsonl`` (each line a
JSON string, or an object ``{"messages": ..., "id": ..., **options}`` as ``Client.map`` takes;
``-`` reads standard input). Each result is one JSON line on standard output (or appended to
``--out``, which a rerun resumes from): ``{"index", "id", "text"}`` or ``{"index", "id",
"error": {"type", "message"}}``; ``--out`` holds the whole responses. A progress line on
standard error tells items done, errors and the rate.
"""
import argparse
import json
import os
import sys
import time
from typing import Any, Dict, List, Optional

__all__ = ["add_parser", "map_command", "read_items", "MAP_EMULATOR_MODEL"]

#: ``map --emulator`` without ``-m``
MAP_EMULATOR_MODEL = "openai/gpt-4o-mini"


def add_parser(sub: Any, epilog: str) -> None:
    """The ``map`` subcommand's arguments (``sub``: the main parser's subparsers)."""
    from . import cli  # the command line's argument types

    _count, parse_option, _positive_int, parse_seconds = cli._count, cli.parse_option, cli._positive_int, cli.parse_seconds
    _temperature = cli._temperature
    p = sub.add_parser(
        "map", help="one completion per line of a prompts file, many at once (rate limits, resume)",
        description="Run one completion per item of FILE (.txt: one prompt a line; .jsonl: a JSON string or "
                    "{\"messages\": ..., \"id\": ..., options} a line; - for standard input) with bounded "
                    "concurrency and client-side rate limits; a 429 pauses every worker. Prints one JSON line "
                    "per item, in input order; with --out the results (whole responses) are appended to that "
                    "file instead and a rerun skips what it already holds.",
        epilog=epilog)
    p.add_argument("file", help="prompts.txt, prompts.jsonl, or - (standard input; JSON lines when they parse)")
    p.add_argument("-m", "--model", help="provider/model, e.g. openai/gpt-4o-mini (default: $LLMUNIFIED_MODEL)")
    p.add_argument("-c", "--concurrency", type=_positive_int, default=8, help="calls at once (default 8)")
    p.add_argument("--rpm", type=_positive_int, help="at most this many requests per minute")
    p.add_argument("--tpm", type=_positive_int, help="at most this many tokens per minute (estimated, then as billed)")
    p.add_argument("--out", help="append results to this JSON Lines file; a rerun resumes from it")
    p.add_argument("--retry-failed", action="store_true", help="with --out: run again the items recorded as errors")
    p.add_argument("--unordered", action="store_true", help="print results as they finish, not in input order")
    p.add_argument("-s", "--system", help="a system prompt put before every prompt (TEXT or @file)")
    p.add_argument("-t", "--temperature", type=_temperature, help="0 to 2")
    p.add_argument("--max-tokens", type=_positive_int, help="longest reply, in tokens")
    p.add_argument("--api-key", help="the provider's API key (or @file); by default its environment variable")
    p.add_argument("--base-url", help="API root, e.g. http://localhost:1234/v1")
    p.add_argument("--emulator", action="store_true", help="answer with the built-in emulator: no key, no network")
    p.add_argument("-o", "--option", type=parse_option, action="append", metavar="NAME=VALUE",
                   help="any other option or provider setting (-o top_p=0.9 -o project=my-project); repeatable")
    p.add_argument("--max-retries", type=_count, help="retries of each item on rate limits and server errors "
                                                     "(default 2)")
    p.add_argument("--timeout", type=parse_seconds, help="seconds to wait for the server (default 600)")
    p.add_argument("--no-progress", action="store_true", help="no progress line on standard error")


def read_items(text: str, jsonl: Optional[bool], system: Optional[str] = None) -> List[Any]:
    """The items of a prompts file's ``text``: JSON lines when ``jsonl`` (None: when every
    non-empty line parses as JSON), else one prompt a line."""
    from .cli import UsageError

    lines = [line for line in text.splitlines() if line.strip()]
    if jsonl is None:
        try:
            parsed = [json.loads(line) for line in lines]
            jsonl = all(isinstance(v, (str, dict)) for v in parsed)
        except ValueError:
            jsonl = False
    items: List[Any] = []
    for number, line in enumerate(lines, 1):
        if jsonl:
            try:
                item = json.loads(line)
            except ValueError as exc:
                raise UsageError(f"line {number} is not JSON: {exc}") from None
            if not isinstance(item, (str, dict)):
                raise UsageError(f"line {number}: a JSON line is a prompt string or an object "
                                 f"{{\"messages\": ..., \"id\": ...}}, got {type(item).__name__}")
        else:
            item = line
        if system is not None:
            if isinstance(item, str):
                item = [{"role": "system", "content": system}, {"role": "user", "content": item}]
            elif isinstance(item.get("messages"), str):
                item = dict(item, messages=[{"role": "system", "content": system},
                                            {"role": "user", "content": item["messages"]}])
        items.append(item)
    if not items:
        raise UsageError("no prompts: the file has no non-empty line")
    return items


def _progress_line(done: int, total: int, errors: int, started: float) -> str:
    rate = done / max(time.monotonic() - started, 1e-6)
    width = 24
    filled = int(width * done / total) if total else width
    bar = "#" * filled + "-" * (width - filled)
    return f"\r[{bar}] {done}/{total} done, {errors} error{'s' if errors != 1 else ''}, {rate:.1f}/s"


def map_command(args: argparse.Namespace, stdin: Any = None, stdout: Any = None, stderr: Any = None) -> int:
    """Run the items; prints results (or writes ``--out``). Exit 0 when every item succeeded,
    1 when any failed (each failure is in the results)."""
    from .cli import EXIT_FAILED, EXIT_OK, UsageError, read_at_file

    stdin = sys.stdin if stdin is None else stdin
    out = sys.stdout if stdout is None else stdout
    err = sys.stderr if stderr is None else stderr
    emulator = None
    saved = os.environ.get("LLMUNIFIED_EMULATOR")
    model = args.model or os.environ.get("LLMUNIFIED_MODEL")
    if args.emulator:
        from .testing import Emulator

        emulator = Emulator().start()
        os.environ["LLMUNIFIED_EMULATOR"] = emulator.base_url
        model = model or MAP_EMULATOR_MODEL
    try:
        if not model:
            raise UsageError("no model: pass -m provider/model (e.g. -m openai/gpt-4o-mini), set LLMUNIFIED_MODEL, "
                             "or use --emulator")
        if args.file == "-":
            text, jsonl = stdin.read(), None
        else:
            try:
                with open(args.file, encoding="utf-8") as f:
                    text = f.read()
            except OSError as exc:
                raise UsageError(f"cannot read {args.file}: {exc.strerror or exc}") from None
            jsonl = True if args.file.endswith((".jsonl", ".ndjson")) else (
                False if args.file.endswith(".txt") else None)
        system = read_at_file(args.system, "--system") if args.system is not None else None
        items = read_items(text, jsonl, system)
        client_args: Dict[str, Any] = {}
        options: Dict[str, Any] = {}
        if args.api_key is not None:
            key = read_at_file(args.api_key, "--api-key").strip()
            if not key:
                raise UsageError("--api-key is empty")
            client_args["api_key"] = key
        for name, value in (("base_url", args.base_url), ("timeout", args.timeout)):
            if value is not None:
                client_args[name] = value
        for name, value in (("temperature", args.temperature), ("max_tokens", args.max_tokens)):
            if value is not None:
                options[name] = value
        import inspect

        from . import Client
        from ._registry import provider_settings

        settings = tuple(inspect.signature(Client).parameters) + provider_settings(model)
        for name, value in args.option or []:
            (client_args if name in settings else options)[name] = value

        show = not args.no_progress
        live = show and bool(getattr(err, "isatty", lambda: False)())  # redrawn in place on a terminal
        started = time.monotonic()
        last = [0, len(items), 0]

        def progress(done: int, total: int, errors: int) -> None:
            last[:] = [done, total, errors]
            if live:
                err.write(_progress_line(done, total, errors, started))
                err.flush()

        failed = 0
        with Client(model, **client_args) as client:
            with client.map(items, concurrency=args.concurrency, rpm=args.rpm, tpm=args.tpm,
                            ordered=not args.unordered, on_progress=progress, results_file=args.out,
                            max_retries=args.max_retries, retry_failed=args.retry_failed, **options) as run:
                for result in run:
                    failed += not result.ok
                    if args.out is None:
                        line: Dict[str, Any] = {"index": result.index, "id": result.id}
                        if result.ok:
                            line["text"] = result.text
                        else:
                            line["error"] = {"type": type(result.error).__name__, "message": str(result.error)}
                        out.write(json.dumps(line, ensure_ascii=False) + "\n")
                        out.flush()
        if show:
            err.write(("" if live else _progress_line(last[0], last[1], last[2], started).lstrip("\r")) + "\n")
            if args.out is not None:
                err.write(f"{run.total} items ({run.resumed} from an earlier run), {failed} failed: {args.out}\n")
        return EXIT_FAILED if failed else EXIT_OK
    finally:
        if emulator is not None:
            if saved is None:
                os.environ.pop("LLMUNIFIED_EMULATOR", None)
            else:
                os.environ["LLMUNIFIED_EMULATOR"] = saved
            emulator.stop()
