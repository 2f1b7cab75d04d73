"""The typer application and the error policy shared by all commands."""

from __future__ import annotations

import os
import sys
import traceback

import click
import typer

from overopt.errors import OveroptError

app = typer.Typer(
    name="overopt",
    help="See, forecast, detect and mitigate reward over-optimization.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    # Each command lives in its own module; importing it registers it on ``app``.
    # Heavy imports (torch, transformers) happen inside command bodies, never here.
    from overopt.cli import bon, examples, fit  # noqa: F401


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def main(argv: list[str] | None = None) -> int:
    """Console entry point. Returns (and exits with) 0, 1 or 2 as DESIGN.md specifies."""
    _register()
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="overopt", standalone_mode=False)
    except click.exceptions.Exit as exc:  # --help, typer.Exit
        code = int(exc.exit_code or 0)
    except click.exceptions.Abort:
        print("overopt: aborted", file=sys.stderr)
        code = 130
    except click.UsageError as exc:
        hint = f" (see: overopt {exc.ctx.command.name} --help)" if exc.ctx and exc.ctx.command.name else ""
        print(f"overopt: error: {_one_line(exc.format_message())}{hint}", file=sys.stderr)
        code = 2
    except click.ClickException as exc:
        print(f"overopt: error: {_one_line(exc.format_message())}", file=sys.stderr)
        code = 2
    except OveroptError as exc:
        print(f"overopt: error: {_one_line(exc)}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        print("overopt: interrupted; finished work is kept, rerun the same command to continue", file=sys.stderr)
        code = 130
    except Exception as exc:  # internal error: one line unless the user asks for the traceback
        if os.environ.get("OVEROPT_DEBUG"):
            traceback.print_exc()
        print(
            f"overopt: internal error: {type(exc).__name__}: {_one_line(exc)} "
            "(set OVEROPT_DEBUG=1 for a traceback and please report it)",
            file=sys.stderr,
        )
        code = 1
    else:
        code = 0
    if argv is None:
        sys.exit(code)
    return code
