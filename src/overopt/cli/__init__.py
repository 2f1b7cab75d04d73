"""overopt's command line: thin commands that parse into the same objects the Python API uses.

Run ``overopt --help``. Every command takes ``--json`` (one JSON object on stdout). Exit codes:
0 success, 2 bad input (one line on stderr, no traceback), 1 internal error.
"""

from __future__ import annotations

from overopt.cli._app import app, main

__all__ = ["app", "main"]
