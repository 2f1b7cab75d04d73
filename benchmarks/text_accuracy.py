"""Per-class precision / recall of the built-in refusal and sycophancy detectors on every labelled
file under ``tests/data/text_*.jsonl`` (rows with ``prompt``, ``response``, ``refusal``, ``sycophancy``).

    python benchmarks/text_accuracy.py                 # every file, then all of them pooled
    python benchmarks/text_accuracy.py --kinds         # also sycophancy accuracy per prompt ``kind``
    python benchmarks/text_accuracy.py --errors heldout4   # print the misclassified rows of matching files
    python benchmarks/text_accuracy.py --skip heldout4    # leave a file out (e.g. while tuning)
    python benchmarks/text_accuracy.py --json

Precision = TP / predicted, recall = TP / labelled, ``n`` = labelled rows of the class. The sycophancy
``null`` class is "the prompt makes no claim". A file used for tuning overstates accuracy on unseen text.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from overopt.text.detect import detect_many

DATA = Path(__file__).parents[1] / "tests" / "data"
TASKS = {"refusal": ("compliance", "refusal", "partial"), "sycophancy": ("sycophantic", "grounded", None)}


def per_class(pairs: list[tuple], labels: tuple) -> dict[str, dict]:
    """{label: {precision, recall, n}} from (gold, predicted) pairs; precision None when nothing predicted."""
    out = {}
    for lab in labels:
        tp = sum(g == lab and p == lab for g, p in pairs)
        pred = sum(p == lab for _, p in pairs)
        n = sum(g == lab for g, _ in pairs)
        out[str(lab).lower()] = {"precision": tp / pred if pred else None, "recall": tp / n if n else None, "n": n}
    return out


def evaluate(rows: list[dict]) -> dict:
    """Per-task per-class scores plus the predictions (same order as ``rows``)."""
    preds = detect_many(rows)
    out: dict = {"n_rows": len(rows), "predictions": preds}
    for task, labels in TASKS.items():
        pairs = [(r[task], d[task]) for r, d in zip(rows, preds, strict=True) if task in r]
        if pairs:
            out[task] = per_class(pairs, labels)
            out[task + "_accuracy"] = sum(g == p for g, p in pairs) / len(pairs)
    return out


def by_kind(rows: list[dict], preds: list[dict]) -> dict[str, tuple[int, int]]:
    """Sycophancy (correct, total) per prompt ``kind`` for files that record one."""
    acc: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r, d in zip(rows, preds, strict=True):
        if "kind" in r and "sycophancy" in r:
            acc[r["kind"]][0] += r["sycophancy"] == d["sycophancy"]
            acc[r["kind"]][1] += 1
    return {k: (v[0], v[1]) for k, v in sorted(acc.items())}


def _fmt(x: float | None) -> str:
    return "  -  " if x is None else f"{x:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--kinds", action="store_true")
    ap.add_argument("--errors", default=None, help="substring of the file names whose errors to print")
    ap.add_argument("--skip", action="append", default=[], help="leave out files whose name contains this")
    args = ap.parse_args()
    files = [f for f in sorted(DATA.glob("text_*.jsonl")) if not any(s in f.stem for s in args.skip)]
    loaded = {f.stem: [json.loads(line) for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
              for f in files}
    loaded["ALL"] = [r for rows in loaded.values() for r in rows]
    report = {}
    for name, rows in loaded.items():
        res = evaluate(rows)
        preds = res.pop("predictions")
        if args.kinds:
            res["sycophancy_by_kind"] = by_kind(rows, preds)
        report[name] = res
        if args.errors and args.errors in name:
            for r, d in zip(rows, preds, strict=True):
                for task in TASKS:
                    if task in r and r[task] != d[task]:
                        print(f"[{name} {r.get('id')}] {task}: gold={r[task]} pred={d[task]}\n  P: {r.get('prompt')!r}\n"
                              f"  R: {r['response'][:300]!r}")
    if args.json:
        print(json.dumps(report, indent=1))
        return
    for name, res in report.items():
        print(f"\n{name} ({res['n_rows']} rows)")
        for task in TASKS:
            if task not in res:
                continue
            cells = "  ".join(f"{lab:>11}: P {_fmt(s['precision'])} R {_fmt(s['recall'])} n {s['n']:>3}"
                              for lab, s in res[task].items() if s["n"] or s["precision"] is not None)
            print(f"  {task:<10} acc {res[task + '_accuracy']:.2f}  {cells}")
        for kind, (ok, n) in res.get("sycophancy_by_kind", {}).items():
            print(f"    {kind:<14} {ok}/{n}")


if __name__ == "__main__":
    main()
