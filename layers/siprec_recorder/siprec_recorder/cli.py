"""`siprec-recorder`: one entry point, one module per subcommand under `commands/`.

Each command module defines `register(subparsers)`, which adds its parser and sets `func`
(args -> exit status). Command modules keep heavy imports inside their run functions so that
`--help` stays fast. Any RecorderError becomes exit status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import os
import select
import sys
from collections.abc import Sequence

from siprec_recorder import __version__
from siprec_recorder.errors import RecorderError

COMMANDS = ("decode", "metadata", "simulate", "process", "demo", "doctor", "verify", "report")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser: every subcommand, or only `only` (start-up stays short)."""
    parser = argparse.ArgumentParser(prog="siprec-recorder", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS if only is None else (only,):
        try:
            module = importlib.import_module(f"siprec_recorder.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"siprec_recorder.commands.{name}":
                continue  # command not built yet
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; exit 2 with a one-line reason on any expected error."""
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(words[0] if words and words[0] in COMMANDS else None)
    args = parser.parse_args(words)
    try:
        status: int = args.func(args)
        sys.stdout.flush()  # here, so a closed pipe is caught below, not at interpreter exit
    except BrokenPipeError as exc:
        if not _stdout_closed():  # another pipe (a socket, a child): a real error
            print(f"siprec-recorder {args.command}: {one_line(str(exc))}", file=sys.stderr)
            return 2
        # `... | head` stopped reading: not an error worth a message
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except RecorderError as exc:
        print(f"siprec-recorder {args.command}: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(
            f"siprec-recorder {args.command}: {type(exc).__name__}: {one_line(str(exc))}",
            file=sys.stderr,
        )
        return 2
    return status


def _stdout_closed() -> bool:
    """Whether our stdout is a pipe whose reader went away (poll reports an error on it)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll, or stdout is not a real file
        return False


def one_line(text: str, limit: int = 300) -> str:
    """Collapse a message to one bounded line (never echo a whole hostile input)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
