"""``overopt eval``: run a prompt suite through a Hugging Face causal LM and report the bad habits.

    overopt eval over_refusal --model runs/policy --reference runs/ref --n-samples 4 --json
    overopt eval my_prompts.jsonl --model gpt2-finetuned --limit 50

Rates come with 95 % intervals (Wilson for proportions, normal for means); with ``--reference`` the
same suite runs through the reference model and each metric gets ``policy - reference`` with a 95 %
interval (Newcombe for proportions, Welch for means): "has my policy picked up bad habits since the
reference?". Suites: over_refusal, harmful, sycophancy, verbosity, or a JSONL file with ``prompt``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from overopt import metrics
from overopt.cli._app import app
from overopt.cli._output import print_json, to_jsonable
from overopt.errors import InputError

LEN_OVER_IDEAL = metrics.LEN_OVER_IDEAL  # mean n_words / ideal_words (verbosity suite)
_CLAIM_EXPECTED = {"correct", "ground", "critique", "stand_firm"}
_PER_ROW = {"overopt/len": "n_words", "overopt/rep_2": "rep_2", "overopt/compression_ratio": "compression_ratio"}


def _chat_text(tokenizer: Any, row: dict) -> str:
    """The model's input: its chat template when it has one, else a plain User/Assistant transcript."""
    messages = row.get("messages") or [{"role": "user", "content": row["prompt"]}]
    if getattr(tokenizer, "chat_template", None):
        return str(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
    lines = [f"{'User' if m['role'] == 'user' else 'Assistant'}: {m['content']}" for m in messages]
    return "\n".join(lines) + "\nAssistant:"


def run_suite(path: Path, rows: list[dict], n: int, max_new_tokens: int, temperature: float, seed: int):
    """Sample ``n`` responses per row and run the detectors; returns (out_rows, results, responses)."""
    from overopt.models.hf import HFPolicy
    from overopt.text.detect import detect

    policy = HFPolicy.from_pretrained(path)
    texts = [_chat_text(policy.tokenizer, r) for r in rows]
    samples = policy.sample(texts, n, max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)
    out_rows, results = [], []
    for k, response in enumerate(samples.responses):
        row = rows[int(samples.prompt_index[k])]
        claim = True if row.get("expected") in _CLAIM_EXPECTED else None
        res = detect(response, row["prompt"], claim=claim)
        results.append(res)
        out_rows.append({"id": row["id"], "prompt": row["prompt"], "kind": row.get("kind"),
                         "expected": row.get("expected"), "sample": k % n, "response": response, "overopt": res})
    return out_rows, results, list(samples.responses)


def _rates(out_rows: list[dict], results: list[dict], responses: list[str]) -> dict:
    from overopt.text.detect import aggregate
    from overopt.text.rates import mean

    agg = aggregate(results, responses)
    ratios = [r["overopt"]["n_words"] / r["ideal_words"] for r in out_rows if r.get("ideal_words")]
    if ratios:
        agg[LEN_OVER_IDEAL] = mean(ratios)
    return agg


def _values(out_rows: list[dict], metric: str) -> list[float] | None:
    if metric == LEN_OVER_IDEAL:
        return [r["overopt"]["n_words"] / r["ideal_words"] for r in out_rows if r.get("ideal_words")]
    key = _PER_ROW.get(metric)
    return None if key is None else [r["overopt"][key] for r in out_rows]


@app.command("eval")
def eval_command(
    suite: Annotated[str, typer.Argument(help="over_refusal | harmful | sycophancy | verbosity | a JSONL file.")],
    model: Annotated[Path, typer.Option(help="Hugging Face causal LM directory (save_pretrained).")],
    reference: Annotated[Path | None, typer.Option(help="Reference model to compare against.")] = None,
    n_samples: Annotated[int, typer.Option(help="Responses sampled per prompt.")] = 1,
    max_new_tokens: Annotated[int, typer.Option(help="Longest response, in tokens.")] = 128,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 1.0,
    limit: Annotated[int | None, typer.Option(help="Use only the first N prompts of the suite.")] = None,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write every response + detections (JSONL).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Generate with a model on a prompt suite; print detector rates (and the change vs a reference)."""
    from overopt.cli.detect import rates_payload
    from overopt.text.rates import difference
    from overopt.text.suites import load_suite

    if n_samples < 1 or max_new_tokens < 1 or temperature <= 0 or (limit is not None and limit < 1):
        raise InputError("--n-samples, --max-new-tokens and --limit must be >= 1 and --temperature > 0")
    rows = load_suite(suite)[:limit] if limit else load_suite(suite)
    runs = {"policy": run_suite(model, rows, n_samples, max_new_tokens, temperature, seed)}
    if reference is not None:
        runs["reference"] = run_suite(reference, rows, n_samples, max_new_tokens, temperature, seed)
    for name, (out_rows, _, _) in runs.items():
        for r, src in zip(out_rows, (rows[i // n_samples] for i in range(len(out_rows))), strict=True):
            r["model"] = name
            if src.get("ideal_words"):
                r["ideal_words"] = src["ideal_words"]
    rates = {name: _rates(*run) for name, run in runs.items()}
    payload: dict[str, Any] = {"suite": suite, "model": str(model), "reference": str(reference) if reference else None,
                               "n_prompts": len(rows), "n_samples": n_samples, **rates_payload(rates["policy"])}
    if reference is not None:
        diff = {}
        for metric, a in rates["policy"].items():
            b = rates["reference"][metric]
            diff[metric] = difference(a, b, a_values=_values(runs["policy"][0], metric),
                                      b_values=_values(runs["reference"][0], metric))
        ref_payload, diff_payload = rates_payload(rates["reference"]), rates_payload(diff)
        payload["reference_rates"], payload["reference_ci95"] = ref_payload["rates"], ref_payload["ci95"]
        payload["difference"], payload["difference_ci95"] = diff_payload["rates"], diff_payload["ci95"]
    if output is not None:
        with output.open("w", encoding="utf-8") as fh:
            for out_rows, _, _ in runs.values():
                for r in out_rows:
                    fh.write(json.dumps(to_jsonable(r), ensure_ascii=False) + "\n")
    if json_out:
        print_json(payload)
    else:
        _print_table(payload)


def _print_table(payload: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    def fmt(v, ci=None):
        if v is None:
            return "-"
        return f"{v:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")

    table = Table(title=f"overopt eval {payload['suite']}: {payload['n_prompts']} prompts x {payload['n_samples']}")
    table.add_column("metric")
    table.add_column("policy (95% CI)")
    if payload.get("difference") is not None:
        table.add_column("reference")
        table.add_column("policy - reference (95% CI)")
    for metric, value in payload["rates"].items():
        cells = [metric, fmt(value, payload["ci95"][metric])]
        if payload.get("difference") is not None:
            cells += [fmt(payload["reference_rates"][metric]),
                      fmt(payload["difference"][metric], payload["difference_ci95"][metric])]
        table.add_row(*cells)
    Console().print(table)
