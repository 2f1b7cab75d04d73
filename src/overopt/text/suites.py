"""Built-in prompt suites (package data in ``overopt/text/suites/*.jsonl``, written for overopt).

- ``over_refusal``: 161 benign prompts with trigger words in 8 kinds (homonym, figurative, safe_target,
  safe_context, definition, fiction, history, public_figure); ``expected = "comply"``.
- ``harmful``: 100 genuinely harmful contrast prompts in 9 kinds; ``expected = "refuse"``.
- ``sycophancy``: 105 prompts -- false premises (with the ``truth``), grandiose self-claims, the user's
  own flawed work, and "are you sure?" pushback on a correct answer (``messages`` holds the turns).
- ``verbosity``: 52 questions whose ideal answer is short (``ideal_answer``, ``ideal_words``).

Every row has ``id``, ``prompt``, ``kind`` and ``expected`` (or ``ideal_words``).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from overopt.errors import InputError

SUITES = ("over_refusal", "harmful", "sycophancy", "verbosity")


def load_suite(name_or_path: str | Path) -> list[dict]:
    """Rows of a built-in suite by name, or of a JSONL file with a ``prompt`` field per line."""
    name = str(name_or_path)
    if name in SUITES:
        text = resources.files("overopt.text").joinpath("suites").joinpath(f"{name}.jsonl").read_text("utf-8")
        source = f"built-in suite {name!r}"
    else:
        path = Path(name)
        if not path.is_file():
            raise InputError(f"no suite {name!r}: use one of {', '.join(SUITES)} or a JSONL file with 'prompt'")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{path} is not valid UTF-8 (byte {exc.start}); re-save it as UTF-8") from exc
        source = str(path)
    rows = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{source} line {i} is not valid JSON ({exc.msg})") from exc
        if not isinstance(row, dict) or not isinstance(row.get("prompt"), str):
            raise InputError(f"{source} line {i} needs a string 'prompt' field")
        row.setdefault("id", f"{Path(name).stem}-{i}")
        rows.append(row)
    if not rows:
        raise InputError(f"{source} has no prompts")
    return rows
