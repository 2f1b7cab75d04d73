"""``overopt detect``: run the built-in detectors over a JSONL file of responses.

    overopt detect outputs.jsonl -o flagged.jsonl
    overopt detect outputs.jsonl --json            # aggregate rates with 95 % intervals
    overopt detect outputs.jsonl --workers 0 -o flagged.jsonl   # every core; same output

Each input line is a JSON object with ``response`` (and ``prompt`` when known). Each output row keeps
all of its fields and gains ``overopt`` (the dict of :func:`overopt.text.detect.detect`). A line that
is not valid JSON / UTF-8, or has no string ``response``, becomes a row with an ``overopt_error``
field (and its line number); the good rows are still processed. Rows stream through the detectors
in chunks (:mod:`overopt.text.parallel`, ``--workers`` processes) and are written as they finish; a
judge gets one batch of up to 256 rows per call. The aggregate keeps each row's result until the end.
"""

from __future__ import annotations

import json
import sys
from collections import deque
from pathlib import Path
from typing import Annotated, Any

import typer

from overopt.cli._app import app
from overopt.cli._output import print_json, to_jsonable
from overopt.errors import InputError


def read_rows(path: Path, response_field: str = "response", prompt_field: str = "prompt"):
    """Yield ``(line_no, row, error)``; ``error`` is a message for a bad line, else None."""
    with path.open("rb") as fh:
        for line_no, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield line_no, {}, f"line {line_no} is not valid UTF-8 (byte {exc.start}); re-save the file as UTF-8"
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                yield line_no, {}, f"line {line_no} is not valid JSON ({exc.msg} at column {exc.colno})"
                continue
            if not isinstance(row, dict):
                yield line_no, {}, f"line {line_no} is a JSON {type(row).__name__}, not an object with '{response_field}'"
                continue
            response = row.get(response_field)
            if not isinstance(response, str):
                what = "missing" if response is None else f"a {type(response).__name__}, not a string"
                yield line_no, row, f"line {line_no}: '{response_field}' is {what}"
                continue
            prompt = row.get(prompt_field)
            if prompt is not None and not isinstance(prompt, str):
                yield line_no, row, f"line {line_no}: '{prompt_field}' must be a string or absent"
                continue
            yield line_no, row, None


def _summary_table(agg: dict, n_ok: int, n_err: int) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"overopt detect: {n_ok} responses, {n_err} bad rows")
    for col in ("metric", "value", "95% CI", "n"):
        table.add_column(col)
    for name, rate in agg.items():
        value = "-" if rate.value is None else f"{rate.value:.3f}"
        ci = "-" if rate.ci is None else f"[{rate.ci[0]:.3f}, {rate.ci[1]:.3f}]"
        table.add_row(name, value, ci, str(rate.n))
    Console(stderr=True).print(table)


def rates_payload(agg: dict) -> dict[str, Any]:
    """``{rates: {metric: value}, ci95: {metric: [lo, hi]|None}, n: {metric: n}}`` from ``aggregate``."""
    return {
        "rates": {k: v.value for k, v in agg.items()},
        "ci95": {k: (list(v.ci) if v.ci else None) for k, v in agg.items()},
        "n": {k: v.n for k, v in agg.items()},
    }


def _make_judge(refusal: Path | None, sycophancy: Path | None, endpoint: str | None, model: str):
    if endpoint is not None and (refusal is not None or sycophancy is not None):
        raise InputError("use either --judge-endpoint or --judge-refusal/--judge-sycophancy, not both")
    if endpoint is not None:
        from overopt.text.judge import ChatEndpointJudge

        return ChatEndpointJudge(endpoint, model)
    if refusal is not None or sycophancy is not None:
        from overopt.text.judge import HFClassifierJudge

        return HFClassifierJudge(refusal=refusal, sycophancy=sycophancy)
    return None


@app.command("detect")
def detect_command(
    input: Annotated[Path, typer.Argument(help="JSONL file, one object per line with 'response' (and 'prompt').")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the annotated rows here (JSONL).")] = None,
    rare_table: Annotated[Path | None, typer.Option(
        help="Reference word counts ({word: count} JSON or word,count lines) for rare-token runs.")] = None,
    max_freq: Annotated[float, typer.Option(help="A word is rare below this relative frequency.")] = 1e-5,
    response_field: Annotated[str, typer.Option(help="Field holding the response text.")] = "response",
    prompt_field: Annotated[str, typer.Option(help="Field holding the prompt text.")] = "prompt",
    judge_refusal: Annotated[Path | None, typer.Option(
        help="HF sequence-classification model to label refusals instead of the heuristic.")] = None,
    judge_sycophancy: Annotated[Path | None, typer.Option(
        help="HF sequence-classification model to label sycophancy instead of the heuristic.")] = None,
    judge_endpoint: Annotated[str | None, typer.Option(
        help="OpenAI-compatible base URL (e.g. http://localhost:8000/v1) to label refusal and sycophancy.")] = None,
    judge_model: Annotated[str, typer.Option(help="Model name sent to --judge-endpoint.")] = "judge",
    workers: Annotated[int, typer.Option(
        help="Processes running the detectors (0 = all cores); output order and values do not change.")] = 1,
    json_out: Annotated[bool, typer.Option("--json", help="Print aggregate rates as one JSON object.")] = False,
) -> None:
    """Flag refusals, sycophancy, stock phrases, hedges, apologies, repetition and rare-token runs."""
    from overopt.text.detect import aggregate
    from overopt.text.parallel import detect_stream, resolve_workers
    from overopt.text.rare import RareTable

    if not input.is_file():
        raise InputError(f"{input} does not exist or is not a file; pass a JSONL file of responses")
    resolve_workers(workers)  # a bad --workers fails before any work
    table = RareTable.load(rare_table, max_freq) if rare_table is not None else None
    judge = _make_judge(judge_refusal, judge_sycophancy, judge_endpoint, judge_model)
    results, responses, counts = [], [], {"lines": 0, "errors": 0}
    sink = output.open("w", encoding="utf-8") if output is not None else None
    to_stdout = sink is None and not json_out
    pending: deque[tuple[int, dict, str | None]] = deque()  # rows read, in order, not yet written

    def pairs():
        for line_no, row, error in read_rows(input, response_field, prompt_field):
            counts["lines"] += 1
            counts["errors"] += error is not None
            pending.append((line_no, row, error))
            if error is None:
                yield row[response_field], row.get(prompt_field)

    batch: list[tuple[dict, dict | None]] = []  # (row, result) waiting for the judge and the writer

    def flush() -> None:
        scored = [(row, res) for row, res in batch if res is not None]
        if judge is not None and scored:  # the judge's labels replace the heuristic ones, one batch per call
            args = ([row.get(prompt_field) for row, _ in scored], [row[response_field] for row, _ in scored])
            for (_, res), ref, syc in zip(scored, judge.refusal(*args), judge.sycophancy(*args), strict=True):
                res["refusal"], res["sycophancy"] = ref, syc
        for row, res in batch:
            if res is not None:
                results.append(res)
                responses.append(row[response_field])
            if sink is not None or to_stdout:
                line = json.dumps(to_jsonable(row if res is None else {**row, "overopt": res}), ensure_ascii=False)
                (sink.write(line + "\n") if sink is not None else sys.stdout.write(line + "\n"))
        batch.clear()

    def take_errors() -> None:  # bad rows that come before the next good one keep their place
        while pending and pending[0][2] is not None:
            line_no, row, error = pending.popleft()
            batch.append(({**row, "overopt_line": line_no, "overopt_error": error}, None))

    try:
        for res in detect_stream(pairs(), workers=workers, rare_table=table):
            take_errors()
            batch.append((pending.popleft()[1], res))
            if len(batch) >= 256:
                flush()
        take_errors()
        flush()
    finally:
        if sink is not None:
            sink.close()
    n_lines, n_err = counts["lines"], counts["errors"]
    if n_lines == 0:
        raise InputError(f"{input} has no rows; it needs one JSON object per line with '{response_field}'")
    agg = aggregate(results, responses)
    if json_out:
        print_json({"input": str(input), "n_rows": n_lines, "n_ok": len(results), "n_errors": n_err,
                    "output": str(output) if output else None, **rates_payload(agg)})
    else:
        _summary_table(agg, len(results), n_err)
