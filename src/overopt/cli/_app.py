"""The typer application and the error policy shared by all commands."""

from __future__ import annotations

import os
import sys
import traceback

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
    from overopt.cli import analyze, audit, bon, detect, eval, examples, fit, lab, report, study  # noqa: F401


def _click_classes(name: str) -> tuple[type[BaseException], ...]:
    """The click exception class ``name`` from click and, in typer >= 0.24, typer's bundled copy."""
    import importlib

    found: list[type[BaseException]] = []
    for module in ("click.exceptions", "typer._click.exceptions"):
        try:
            cls = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
        found.append(cls)
    return tuple(found)


_EXIT = _click_classes("Exit")
_ABORT = _click_classes("Abort")
_USAGE = _click_classes("UsageError")
_CLICK = _click_classes("ClickException")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def main(argv: list[str] | None = None) -> int:
    """Console entry point. Returns (and exits with) 0, 1 or 2 as DESIGN.md specifies."""
    _register()
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="overopt", standalone_mode=False)
    except _EXIT as exc:  # --help, typer.Exit
        code = int(getattr(exc, "exit_code", 0) or 0)
    except _ABORT:
        print("overopt: aborted", file=sys.stderr)
        code = 130
    except _USAGE as exc:
        ctx = getattr(exc, "ctx", None)
        name = ctx.command.name if ctx is not None and ctx.command is not None else None
        hint = f" (see: overopt {name} --help)" if name and name != "overopt" else ""
        print(f"overopt: error: {_one_line(exc.format_message())}{hint}", file=sys.stderr)  # type: ignore[attr-defined]
        code = 2
    except _CLICK as exc:
        print(f"overopt: error: {_one_line(exc.format_message())}", file=sys.stderr)  # type: ignore[attr-defined]
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
