"""Loaders for public evaluation sets a user has on disk, read through ``datasets`` (never a hub here).

All return rows like the built-in suites: ``{id, prompt, kind, expected, ...}``.

- XSTest (Röttger et al. 2024): ``xstest_prompts.csv`` (``id, prompt, type, label[, focus, note]``,
  label ``safe``/``unsafe``; older files mark unsafe prompts by a ``contrast_`` type). With a
  ``completion`` and ``final_label`` column (``1_full_compliance``, ``2_full_refusal``,
  ``3_partial_refusal``) rows also get ``response`` and ``refusal`` -- a labelled set for our detector.
- OR-Bench (Cui et al. 2024): CSV/JSONL with ``prompt, category``; the ``toxic`` subset must be
  refused, ``80k``/``hard`` must be answered (``subset`` inferred from the file name when not given).
- SycophancyEval-style JSONL (Sharma et al. 2023): ``prompt`` is a string or a list of
  ``{"type": "human"|"ai", "content"}`` turns; ``base`` and ``metadata`` are kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from overopt.errors import InputError, require

_XSTEST_REFUSAL = {"1_full_compliance": "compliance", "2_full_refusal": "refusal", "3_partial_refusal": "partial"}


def _records(path: str | Path) -> list[dict[str, Any]]:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p} does not exist; download the dataset file first and pass its path")
    require("datasets", "lab")
    from datasets import load_dataset

    kind = {".csv": "csv", ".jsonl": "json", ".json": "json", ".parquet": "parquet"}.get(p.suffix.lower())
    if kind is None:
        raise InputError(f"cannot read {p.name}: use a .csv, .jsonl or .parquet file")
    try:
        ds = load_dataset(kind, data_files=str(p), split="train")
    except Exception as exc:  # datasets raises many types for malformed files
        raise InputError(f"could not read {p} with datasets: {str(exc).splitlines()[0] if str(exc) else exc}") from exc
    return [dict(r) for r in ds]


def _need(rows: list[dict], column: str, source: str) -> None:
    if rows and column not in rows[0]:
        raise InputError(f"{source} has no {column!r} column (columns: {', '.join(rows[0])})")


def load_xstest(path: str | Path) -> list[dict]:
    """XSTest prompts (and, for completion files, responses with refusal labels)."""
    rows = _records(path)
    _need(rows, "prompt", str(path))
    out = []
    for i, r in enumerate(rows):
        kind = str(r.get("type") or "")
        unsafe = str(r.get("label", "")).lower() == "unsafe" if "label" in r else kind.startswith("contrast")
        row = {"id": f"xstest-{r.get('id', i)}", "prompt": r["prompt"], "kind": kind,
               "expected": "refuse" if unsafe else "comply", "focus": r.get("focus"), "note": r.get("note")}
        if "completion" in r:
            row["response"] = r["completion"]
            label = _XSTEST_REFUSAL.get(str(r.get("final_label", "")))
            if label is not None:
                row["refusal"] = label
        out.append(row)
    return out


def load_orbench(path: str | Path, subset: str | None = None) -> list[dict]:
    """OR-Bench prompts; ``subset`` is ``80k``, ``hard`` or ``toxic`` (default: from the file name)."""
    rows = _records(path)
    _need(rows, "prompt", str(path))
    sub = subset or ("toxic" if "toxic" in Path(path).name.lower() else
                     "hard" if "hard" in Path(path).name.lower() else "80k")
    if sub not in ("80k", "hard", "toxic"):
        raise InputError(f"OR-Bench subset must be 80k, hard or toxic; got {sub!r}")
    return [{"id": f"orbench-{sub}-{i}", "prompt": r["prompt"], "kind": r.get("category", ""),
             "expected": "refuse" if sub == "toxic" else "comply", "subset": sub} for i, r in enumerate(rows)]


def _render(turns: list[dict]) -> tuple[str, list[dict]]:
    roles = {"human": "user", "user": "user", "ai": "assistant", "assistant": "assistant", "system": "system"}
    messages = []
    for t in turns:
        role = roles.get(str(t.get("type") or t.get("role")), None)
        if role is None:
            raise InputError(f"unknown turn type {t.get('type') or t.get('role')!r}; expected human/ai")
        messages.append({"role": role, "content": str(t.get("content", ""))})
    text = "\n".join(f"{'User' if m['role'] == 'user' else m['role'].title()}: {m['content']}" for m in messages)
    return text, messages


def load_sycophancy_eval(path: str | Path) -> list[dict]:
    """SycophancyEval-style JSONL (``answer``/``feedback``/``are_you_sure`` files)."""
    rows = _records(path)
    _need(rows, "prompt", str(path))
    kind = Path(path).stem
    out = []
    for i, r in enumerate(rows):
        prompt = r["prompt"]
        if isinstance(prompt, list):
            text, messages = _render(prompt)
        else:
            text, messages = str(prompt), [{"role": "user", "content": str(prompt)}]
        meta = r.get("metadata") or {}
        out.append({"id": f"{kind}-{i}", "prompt": text, "messages": messages, "kind": kind,
                    "expected": "ground", "base": r.get("base"),
                    "template": meta.get("prompt_template") if isinstance(meta, dict) else None})
    return out
