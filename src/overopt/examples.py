"""A self-generated example score table on which best-of-n over-optimizes for a stated reason.

    overopt example-scores scores.csv && overopt bon scores.csv --gold gold --proxy proxy

The generative model (one row per sampled response; all draws from ``numpy.random.default_rng(seed)``):

    prompt difficulty   mu_p ~ N(0, 0.5^2)                     one per prompt
    response quality    q    ~ mu_p + N(0, 1)                  what users want (content)
    response length     z    ~ N(0, 1)                         standardized; words = round(120 exp(0.35 z))
    gold  (users)       gold  = q - 0.5 (z - 0.3)^2            best a little longer than typical, verbosity hurts
    proxy (RM)          proxy = q + 1.0 z + 0.5 e,  e ~ N(0,1) labelers reward length linearly, plus RM error

So ``proxy - gold = z + 0.5 (z - 0.3)^2 + 0.5 e``: a bias that grows with length (the chapter's verbosity
bias of labelers, learned by the RM). Best-of-n by proxy picks responses with more quality *and* more
length. Given the pick's proxy relative to its prompt, t = proxy - mu_p (variance v = 2.25):
E[q - mu_p | t] = E[z | t] = t / v and Var[z | t] = 1 - 1/v, so

    E[gold - mu_p | t] = t/v - 0.5 ((t/v - 0.3)^2 + 1 - 1/v),   maximal at t/v = 1.3, t = 2.93 (1.95 sd),

for a single pick; averaging over the spread of the best of n puts the expected-gold peak at n = 29
(gold +1.01 over the reference, falling back by 0.15 at n = 256). Past it length keeps growing while the quality gain
slows, so gold falls (extremal Goodhart). ``expected_bon_gold`` integrates this exactly. Nothing here
is a drawn curve; the peak's location follows from the constants below.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special

from overopt.errors import InputError

# Constants of the generative model (see the module docstring; changing them moves the peak).
PROMPT_SD = 0.5
LENGTH_BIAS = 1.0  # proxy reward per sd of length (labeler bias)
RM_NOISE_SD = 0.5
GOLD_LENGTH_OPTIMUM = 0.3  # users' preferred length, in sd above typical
GOLD_LENGTH_PENALTY = 0.5  # users' quadratic penalty on deviating from it
TYPICAL_WORDS, WORDS_PER_SD = 120, 0.35


@dataclass(frozen=True)
class ExampleScores:
    path: Path
    n_rows: int
    n_prompts: int
    n_samples: int
    seed: int


def example_scores_frame(*, n_prompts: int = 50, n_samples: int = 256, seed: int = 0) -> pd.DataFrame:
    """The score table as a DataFrame: ``prompt_id, sample, proxy, gold, quality, length_z, n_words``."""
    if n_prompts < 1 or n_samples < 1:
        raise InputError(f"n_prompts and n_samples must be >= 1, got {n_prompts} and {n_samples}")
    rng = np.random.default_rng(seed)
    mu = rng.normal(0.0, PROMPT_SD, size=(n_prompts, 1))
    quality = mu + rng.standard_normal((n_prompts, n_samples))  # (P, N)
    length_z = rng.standard_normal((n_prompts, n_samples))  # (P, N)
    gold = quality - GOLD_LENGTH_PENALTY * (length_z - GOLD_LENGTH_OPTIMUM) ** 2
    proxy = quality + LENGTH_BIAS * length_z + RM_NOISE_SD * rng.standard_normal((n_prompts, n_samples))
    return pd.DataFrame({
        "prompt_id": np.repeat([f"p{i:04d}" for i in range(n_prompts)], n_samples),
        "sample": np.tile(np.arange(n_samples), n_prompts),
        "proxy": proxy.ravel(), "gold": gold.ravel(), "quality": quality.ravel(),
        "length_z": length_z.ravel(),
        "n_words": np.round(TYPICAL_WORDS * np.exp(WORDS_PER_SD * length_z.ravel())).astype(int),
    })


def expected_bon_gold(ns: list[int] | np.ndarray) -> np.ndarray:
    """Exact E[gold of BoN(n) by proxy] under the model, averaged over prompts (prompt mean 0): (K,).

    Integrates E[gold | t] against the density of the max of n draws of t ~ N(0, v),
    n Phi(t/sd)^(n-1) phi(t/sd) / sd, on a fine grid (log-space so n in the thousands is fine).
    """
    var_t = 1.0 + LENGTH_BIAS**2 + RM_NOISE_SD**2
    sd = float(np.sqrt(var_t))
    x = np.linspace(-10.0, 10.0, 20001)  # t / sd
    cond_z = sd * x * LENGTH_BIAS / var_t  # E[z | t]
    gold_given_t = (sd * x / var_t - GOLD_LENGTH_PENALTY
                    * ((cond_z - GOLD_LENGTH_OPTIMUM) ** 2 + 1.0 - LENGTH_BIAS**2 / var_t))
    out = []
    for n in np.asarray(ns, dtype=float):
        log_density = np.log(n) + (n - 1) * special.log_ndtr(x) - 0.5 * x**2 - 0.5 * np.log(2 * np.pi)
        weights = np.exp(log_density)
        out.append(float(np.sum(weights * gold_given_t) / np.sum(weights)))
    return np.array(out)


def make_example_scores(path: str | Path, *, n_prompts: int = 50, n_samples: int = 256,
                        seed: int = 0) -> ExampleScores:
    """Write the example score table (.csv, .jsonl or .parquet by extension) and describe it."""
    p = Path(path)
    writers = {".csv": lambda df: df.to_csv(p, index=False),
               ".jsonl": lambda df: df.to_json(p, orient="records", lines=True),
               ".parquet": lambda df: df.to_parquet(p, index=False)}
    if p.suffix.lower() not in writers:
        raise InputError(f"cannot write {p.name!r}: name it .csv, .jsonl or .parquet")
    if p.parent and not p.parent.exists():
        raise InputError(f"folder {p.parent} does not exist; create it first")
    df = example_scores_frame(n_prompts=n_prompts, n_samples=n_samples, seed=seed)
    writers[p.suffix.lower()](df)
    return ExampleScores(path=p, n_rows=len(df), n_prompts=n_prompts, n_samples=n_samples, seed=seed)
