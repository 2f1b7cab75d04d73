"""The error hierarchy every overopt layer raises.

``OveroptError`` subclasses are *user* errors: the input was wrong and the message says how to
fix it. The CLI prints them as one line on stderr and exits 2. Anything else that escapes is an
internal error (exit 1).
"""

from __future__ import annotations

import warnings


class OveroptError(Exception):
    """Base class for errors caused by the user's input or setup (CLI exit code 2)."""


class InputError(OveroptError, ValueError):
    """A table, log, config or argument is malformed, missing a column, or out of range."""


class ConfigError(InputError):
    """A study / lab configuration value is invalid."""


class MissingDependencyError(OveroptError, ImportError):
    """An optional extra is needed; the message names the ``pip install`` that fixes it."""


class FitError(OveroptError):
    """A law fit or forecast could not produce a trustworthy number.

    ``partial`` carries whatever was computed (for those who want it anyway).
    """

    def __init__(self, message: str, partial: object | None = None) -> None:
        super().__init__(message)
        self.partial = partial


class UnreliableWarning(UserWarning):
    """A number was computed but should not be trusted as is (too few points, negative KL, ...)."""


def warn_unreliable(message: str, stacklevel: int = 2) -> None:
    warnings.warn(message, UnreliableWarning, stacklevel=stacklevel + 1)


def require(module: str, extra: str) -> object:
    """Import an optional module or raise a ``MissingDependencyError`` that ends with the fix."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            f"{module} is not installed; install it with: pip install 'overopt[{extra}]'"
        ) from exc
