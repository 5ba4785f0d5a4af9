"""``llmunified batch submit|status|results|cancel``: provider batch jobs from the command line
(the command line's side of ``Client.batch`` / ``Client.batch_job``). Registered and dispatched
by ``llmunified.cli``."""
import argparse
import json
import sys
from typing import Any, Dict, List, Optional

__all__ = ["add_parser", "batch_command", "BATCH_EMULATOR_MODEL"]

#: ``batch --emulator`` without ``-m``
BATCH_EMULATOR_MODEL = "openai/gpt-4o-mini"


def add_parser(sub: Any, epilog: str) -> None:
    """The ``batch`` subcommand and its actions (``sub``: the main parser's subparsers)."""
    from .cli import parse_option, parse_seconds

    b = sub.add_parser(
        "batch", help="provider batch jobs: submit a JSONL file of requests, status, results",
        description="Run requests through the provider's batch API (OpenAI, Azure, Anthropic, Gemini: about half "
                    "price, results within 24 hours). Other providers have none: use 'llmunified map'.",
        epilog=epilog)
    actions = b.add_subparsers(dest="batch_command", metavar="ACTION")
    actions.required = True
    s = actions.add_parser(
        "submit", help="submit requests.jsonl; prints the job id",
        description="Each line of FILE ('-': standard input) is one request: a JSON string (a prompt), a list of "
                    "messages, or an object {\"messages\": ..., \"custom_id\"?: ..., options such as "
                    "\"temperature\", \"max_tokens\"}. Prints the job id. With --wait, waits for the job and prints "
                    "its results as 'batch results' does.", epilog=epilog)
    s.add_argument("file", help="the requests, one JSON value per line ('-': standard input)")
    s.add_argument("--wait", action="store_true", help="wait for the job, then print its results (JSON lines)")
    s.add_argument("--mode", choices=("auto", "inline", "file"), default="auto",
                   help="Gemini: send the requests inline or as an uploaded JSONL file (default auto: inline "
                        "up to 20 MB); the other providers always upload a file or send one body")
    st = actions.add_parser("status", help="the job's status as one JSON line", epilog=epilog)
    r = actions.add_parser("results", help="one JSON line per request, in input order", epilog=epilog)
    c = actions.add_parser("cancel", help="cancel the job; prints its status", epilog=epilog)
    for p in (st, r, c):
        p.add_argument("id", help="the job id that 'batch submit' printed")
    r.add_argument("--wait", action="store_true", help="wait for the job to end first")
    for p in (s, st, r, c):
        p.add_argument("-m", "--model", help="provider/model, e.g. openai/gpt-4o-mini (default: $LLMUNIFIED_MODEL)")
        p.add_argument("--api-key", help="the provider's API key (or @file); by default its environment variable")
        p.add_argument("--base-url", help="API root")
        p.add_argument("--emulator", action="store_true",
                       help="use the built-in emulator (its jobs live as long as this command)")
        p.add_argument("-o", "--option", type=parse_option, action="append", metavar="NAME=VALUE",
                       help="a provider setting or, for submit, an option of every request; repeatable")
        p.add_argument("--timeout", type=parse_seconds, help="seconds to wait for the server (default 600)")
        p.add_argument("--poll", type=parse_seconds, default=10.0, help="seconds between polls with --wait (default 10)")


def _requests(path: str, stdin: Any) -> List[Any]:
    from .cli import UsageError

    if path == "-":
        text = stdin.read()
    else:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    out: List[Any] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except ValueError as exc:
            raise UsageError(f"{path}:{number}: not a JSON value ({exc})") from None
    if not out:
        raise UsageError(f"{path}: no requests (one JSON value per line)")
    return out


def _status(job: Any) -> Dict[str, Any]:
    counts = job.counts
    return {"id": job.id, "status": job.status, "provider_status": job.provider_status,
            "counts": {"total": counts.total, "completed": counts.completed, "failed": counts.failed},
            "created_at": job.created_at, "error": job.error}


def _line(out: Any, obj: Any) -> None:
    out.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")


def batch_command(args: argparse.Namespace, stdin: Any = None, stdout: Any = None) -> int:
    """Run one ``batch`` action; the exit codes are the CLI's."""
    import os

    from .cli import EXIT_OK, UsageError, WithEmulator, read_at_file

    stdin = sys.stdin if stdin is None else stdin
    out = sys.stdout if stdout is None else stdout
    with WithEmulator(args.emulator):
        model = args.model or os.environ.get("LLMUNIFIED_MODEL") or (BATCH_EMULATOR_MODEL if args.emulator else None)
        if not model:
            raise UsageError("no model: pass -m provider/model (e.g. -m openai/gpt-4o-mini), set LLMUNIFIED_MODEL, "
                             "or use --emulator")
        import inspect

        from . import Client
        from ._registry import provider_settings

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
        settings = tuple(inspect.signature(Client).parameters) + tuple(provider_settings(model))
        for name, value in args.option or []:
            (client_args if name in settings else options)[name] = value
        action = args.batch_command
        with Client(model, **client_args) as client:
            job: Optional[Any] = None
            if action == "submit":
                job = client.batch(_requests(args.file, stdin), mode=args.mode, **options)
                if not args.wait:
                    out.write(job.id + "\n")
                    return EXIT_OK
            else:
                if options:
                    raise UsageError(f"batch {action} takes provider settings only, not {', '.join(sorted(options))}")
                job = client.batch_job(args.id)
            if action == "status":
                _line(out, _status(job))
            elif action == "cancel":
                _line(out, _status(job.cancel()))
            else:
                if args.wait:
                    job.wait(poll=args.poll)
                for result in job.results():
                    _line(out, result.to_dict())
        return EXIT_OK
