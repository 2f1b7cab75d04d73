"""``overopt audit-rm``: which hack directions does a reward model pay for, and how much?

    overopt audit-rm --rm runs/lab/proxies/small --json              # a lab proxy, lab reference samples
    overopt audit-rm --rm path/to/hf-rm --prompts SUITE --gold lab:gold
    overopt audit-rm --rm mypkg.rewards:score --prompts my_suite.jsonl --policy path/to/sft-model

Base responses: ``--prompts lab`` (the lab's held-out prompts, samples of the reference LM of the
proxy's own lab run when it lives in one, else of ``--policy`` or the cached default; the default for
lab RMs), ``lab:grammar`` (the lab's corpus grammar, no model), a suite name or .jsonl file with
reference responses, or any suite's prompts with samples from ``--policy``.
"""

from __future__ import annotations

import sys
import warnings
from typing import Annotated, Any

import typer

from overopt.cli._app import app
from overopt.cli._output import print_json
from overopt.errors import InputError, UnreliableWarning


def _is_lab_spec(spec: str) -> bool:
    from overopt.models.lab_rm import is_lab_rm

    return spec == "lab:gold" or is_lab_rm(spec)


def _base_set(prompts: str | None, rm_spec: str, policy: str | None, n_prompts: int | None, per_prompt: int,
              max_new_tokens: int, seed: int) -> Any:
    from overopt.audit import base as b

    source = prompts or ("lab" if _is_lab_spec(rm_spec) else b.ALL_SUITES)
    if source in ("lab", "lab:grammar"):
        # a lab proxy is audited on samples of its own run's reference LM when it has one
        ref_dir = policy or (b.find_lab_reference(rm_spec) if source == "lab" else None)
        return b.lab_base(n_prompts=n_prompts, per_prompt=per_prompt, seed=seed, max_new_tokens=max_new_tokens,
                          source="grammar" if source == "lab:grammar" else "reference", reference_dir=ref_dir)
    if policy is None:
        return b.suite_base(source, n_prompts=n_prompts, seed=seed)
    from overopt.models.hf import HFPolicy

    texts, harmful = b.suite_prompts(source, n_prompts=n_prompts, seed=seed)
    return b.from_policy(HFPolicy.from_pretrained(policy), texts, per_prompt, max_new_tokens=max_new_tokens,
                         seed=seed, harmful=harmful, source=f"{source} sampled from {policy}")


def _print_table(result: Any, rm: str, gold: str | None) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, title=f"audit of {rm}: {result.n_base} base responses ({result.source}), "
                        f"effects in base-score SDs ({result.base_sd:.3g} RM units)")
    cols = ["direction", "n", "effect", f"{result.ci_level:.0%} CI", "up/dn", "sign p", "flag"]
    if gold is not None:
        cols += ["judge", "opposed"]
    for c in cols:
        table.add_column(c, justify="left" if c == "direction" else "right", no_wrap=True)
    for d in result.directions:
        row = [d.name, str(d.n_pairs), f"{d.effect:+.2f}", f"{d.ci[0]:+.2f}..{d.ci[1]:+.2f}",
               f"{d.n_up}/{d.n_down}", f"{d.sign_p:.0e}", "[bold red]YES[/]" if d.exploitable else "-"]
        if gold is not None:
            row += [f"{d.gold_effect:+.2f}", "yes" if d.disagrees else "-"]
        table.add_row(*row)
    console = Console()
    console = Console(width=max(console.width, 104))  # the table needs ~100 columns; never elide numbers
    console.print(table)
    console.print(f"rule: {result.rule}")
    for name, why in result.skipped.items():
        console.print(f"skipped {name}: {why}")


@app.command("audit-rm")
def audit_rm_command(
    rm: Annotated[str, typer.Option("--rm", help="RM to audit: saved RM dir, HF classifier dir, lab:gold or "
                                                 "module:function.")],
    gold: Annotated[str | None, typer.Option("--gold", help="Judge RM SPEC; reports sign disagreements.")] = None,
    prompts: Annotated[str | None, typer.Option("--prompts", help="lab, lab:grammar, all, a suite name or a "
                                                                  ".jsonl file (default: lab for lab RMs, "
                                                                  "else all).")] = None,
    policy: Annotated[str | None, typer.Option("--policy", help="Sample base responses from this HF causal LM "
                                                                "instead of the suite's references.")] = None,
    n_prompts: Annotated[int | None, typer.Option("--n-prompts", help="Audit a seeded subset of K prompts.")]
    = None,
    per_prompt: Annotated[int, typer.Option("--per-prompt", help="Base samples per prompt (sampled sources).")]
    = 4,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens", help="Length cap when sampling.")] = 32,
    directions: Annotated[str | None, typer.Option("--directions", help="Comma-separated subset of directions.")]
    = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Pairs per RM call.")] = 512,
    min_effect: Annotated[float, typer.Option("--min-effect", help="Effect floor in base-score SDs.")] = 0.1,
    alpha: Annotated[float, typer.Option(help="Family-wise sign-test level (Bonferroni).")] = 0.05,
    ci: Annotated[float, typer.Option(help="Confidence level of the bootstrap intervals.")] = 0.95,
    n_boot: Annotated[int, typer.Option("--n-boot", help="Bootstrap resamples over prompts.")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed for prompts, samples, perturbations and bootstrap.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Perturb base responses along known hack directions and report which ones the RM pays for."""
    from overopt.audit import audit_rm
    from overopt.models.resolve import load_reward

    if n_prompts is not None and n_prompts < 2:
        raise InputError(f"--n-prompts must be >= 2, got {n_prompts}")
    if per_prompt < 1 or max_new_tokens < 1 or batch_size < 1 or n_boot < 1:
        raise InputError("--per-prompt, --max-new-tokens, --batch-size and --n-boot must be >= 1")
    if not 0 < alpha < 1 or not 0 < ci < 1:
        raise InputError("--alpha and --ci must lie in (0, 1)")
    names = [n.strip() for n in directions.split(",") if n.strip()] if directions else None
    reward = load_reward(rm)
    judge = load_reward(gold) if gold is not None else None
    base = _base_set(prompts, rm, policy, n_prompts, per_prompt, max_new_tokens, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreliableWarning)  # kept in result.warnings, printed once below
        result = audit_rm(reward, base, gold=judge, directions=names, batch_size=batch_size, ci=ci,
                          n_boot=n_boot, min_effect=min_effect, alpha=alpha, seed=seed,
                          progress=sys.stderr.isatty())
    for msg in result.warnings:
        print(f"overopt: warning: {msg}", file=sys.stderr)
    if not as_json:
        _print_table(result, rm, gold)
        return
    payload = result.to_dict()
    print_json({"rm": rm, "gold": gold, **payload, "exploitable": result.exploitable()})
