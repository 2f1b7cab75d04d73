"""``overopt example-scores``: write the self-generated example score table (see ``overopt.examples``).

    overopt example-scores scores.csv --seed 0
    overopt bon scores.csv --gold gold --proxy proxy --json > bon.json && overopt fit bon.json --form bon
"""

from __future__ import annotations

from typing import Annotated

import typer

from overopt.cli._app import app
from overopt.cli._output import print_json


@app.command("example-scores")
def example_scores_command(
    out: Annotated[str, typer.Argument(help="Output table (.csv, .jsonl or .parquet).")],
    seed: Annotated[int, typer.Option(help="Seed of the generative model.")] = 0,
    n_prompts: Annotated[int, typer.Option("--n-prompts", help="Number of prompts.")] = 50,
    n_samples: Annotated[int, typer.Option("--n-samples", help="Samples (responses) per prompt.")] = 256,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Write a score table (prompt_id, proxy, gold, ...) whose proxy rewards length that gold penalizes."""
    from overopt.examples import make_example_scores

    info = make_example_scores(out, n_prompts=n_prompts, n_samples=n_samples, seed=seed)
    if as_json:
        print_json({"path": str(info.path), "n_rows": info.n_rows, "n_prompts": info.n_prompts,
                    "n_samples": info.n_samples, "seed": info.seed, "columns": ["prompt_id", "sample", "proxy",
                    "gold", "quality", "length_z", "n_words"]})
        return
    print(f"wrote {info.n_rows} scored samples ({info.n_prompts} prompts x {info.n_samples}) to {info.path}; "
          f"next: overopt bon {info.path} --gold gold --proxy proxy")
