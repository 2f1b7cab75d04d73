"""Base responses for an audit: the unperturbed side of every minimal pair.

Three sources (issue 8): a prompt suite's reference responses (``suite_base``), samples from a given
reference policy (``from_policy``, any models-layer Policy), or, for the lab, the lab's own
reference samples (``lab_base``: the tiny reference LM, or its training grammar when speed matters).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from overopt.audit.perturbations import GENERIC, Phrasebook
from overopt.errors import InputError
from overopt.models.base import Policy


@dataclass(frozen=True)
class BaseSet:
    """Prompts with base responses. ``prompt_ids`` group responses of one prompt (bootstrap clusters);
    ``harmful`` marks prompts a good assistant refuses (the refusal direction skips them)."""

    prompts: list[str]
    responses: list[str]
    prompt_ids: np.ndarray  # (N,)
    harmful: np.ndarray  # (N,) bool
    source: str
    phrasebook: Phrasebook = GENERIC

    def __post_init__(self) -> None:
        n = len(self.responses)
        if len(self.prompts) != n or self.prompt_ids.shape != (n,) or self.harmful.shape != (n,):
            raise InputError("a base set needs one prompt, prompt id and harmful flag per response")
        if n < 2:
            raise InputError(f"an audit needs at least 2 base responses, got {n}")


def from_rows(prompts: list[str], responses: list[str], *, prompt_ids: Any = None, harmful: Any = None,
              source: str = "rows", phrasebook: Phrasebook = GENERIC) -> BaseSet:
    """A BaseSet from parallel lists; prompt ids default to the prompt text."""
    ids = np.asarray(prompts if prompt_ids is None else prompt_ids, dtype=object)
    flags = np.zeros(len(responses), bool) if harmful is None else np.asarray(harmful, dtype=bool)
    _, codes = np.unique(ids.astype(str), return_inverse=True)
    return BaseSet(list(prompts), list(responses), codes.astype(np.int64), flags, source, phrasebook)


def from_policy(policy: Policy, prompts: list[str], n: int = 2, *, max_new_tokens: int = 64, seed: int = 0,
                harmful: Any = None, source: str = "policy", phrasebook: Phrasebook = GENERIC) -> BaseSet:
    """``n`` samples per prompt from a reference policy (temperature 1)."""
    s = policy.sample(list(prompts), n, max_new_tokens=max_new_tokens, seed=seed)
    flags = None if harmful is None else np.asarray(harmful, bool)[s.prompt_index]
    return from_rows(s.prompt_texts(), s.responses, prompt_ids=s.prompt_index, harmful=flags, source=source,
                     phrasebook=phrasebook)


# ---- prompt suites (``overopt.text.suites``) ------------------------------------------------------
ALL_SUITES = "all"  # every built-in suite together
# a suite row's reference response: the first of these fields present ("truth" = the correcting fact
# of a false-premise prompt, "ideal_answer" = the verbosity suite's short answer)
_RESPONSE_KEYS = ("reference", "response", "chosen", "references", "ideal_answer", "truth")


def _suite_rows(name: str) -> tuple[list[dict[str, Any]], str]:
    from overopt.text.suites import SUITES, load_suite

    if name == ALL_SUITES:
        return [row for suite in SUITES for row in load_suite(suite)], "built-in suites"
    return load_suite(name), f"suite {name}"


def _responses_of(row: dict[str, Any]) -> list[str]:
    for key in _RESPONSE_KEYS:
        value = row.get(key)
        if isinstance(value, str) and value.strip():
            return [value]
        if isinstance(value, list):
            return [v for v in value if isinstance(v, str) and v.strip()]
    return []


def _is_harmful(row: dict[str, Any]) -> bool:
    # the suites mark prompts a good assistant refuses with expected = "refuse"
    return row.get("expected") == "refuse" or bool(row.get("harmful")) or bool(row.get("should_refuse"))


def _subset(n: int, n_prompts: int | None, seed: int) -> np.ndarray:
    if n_prompts is None or n_prompts >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=n_prompts, replace=False))


def suite_base(name: str = ALL_SUITES, *, n_prompts: int | None = None, seed: int = 0) -> BaseSet:
    """Base responses from a suite's reference responses (fields in ``_RESPONSE_KEYS``)."""
    rows, where = _suite_rows(name)
    usable = [r for r in rows if _responses_of(r)]
    if not usable:
        raise InputError(f"{where} has no rows with a reference response ({', '.join(_RESPONSE_KEYS)}); "
                         "sample base responses from a reference policy with --policy")
    usable = [usable[i] for i in _subset(len(usable), n_prompts, seed)]
    prompts, responses, ids, flags = [], [], [], []
    for i, row in enumerate(usable):
        for resp in _responses_of(row):
            prompts.append(row["prompt"])
            responses.append(resp)
            ids.append(i)
            flags.append(_is_harmful(row))
    return from_rows(prompts, responses, prompt_ids=ids, harmful=flags, source=where)


def suite_prompts(name: str = ALL_SUITES, *, n_prompts: int | None = None,
                  seed: int = 0) -> tuple[list[str], np.ndarray]:
    """A suite's prompts (a seeded subset of ``n_prompts``) and harmful flags, to sample base responses."""
    rows, _ = _suite_rows(name)
    rows = [rows[i] for i in _subset(len(rows), n_prompts, seed)]
    return [r["prompt"] for r in rows], np.array([_is_harmful(r) for r in rows], dtype=bool)


# ---- the lab ----------------------------------------------------------------------------------
def lab_phrasebook() -> Phrasebook:
    """The perturbation phrases in the lab's own words (its RMs see anything else as <unk>)."""
    from overopt.lab import world as w

    return Phrasebook(
        name="lab",
        openers_confident=w.OPENERS_CONFIDENT, openers_stock=w.OPENERS_AI,
        hedges=tuple(h for h in w.HEDGES if h.endswith((".", "!", "?"))),
        apologies=w.APOLOGIES, agreements=w.AGREEMENTS, refusals=w.REFUSALS, fillers_relevant=w.FILLERS,
        # true but off-topic statements the lab knows (skipped where they share a word with the prompt)
        fillers_irrelevant=tuple(w.FALSE_TOPICS.values()),
        rare_tokens=w.RARE, list_marker=None, restate_prefix="",
    )


def find_lab_reference(rm_path: str | Path) -> Path | None:
    """The reference LM of the lab run a saved lab RM belongs to (``<run>/artifacts/reference``), if any.

    A lab study saves its proxies next to a copy of its reference LM; auditing a proxy on samples
    from that very LM keeps the base responses in the proxy's training distribution.
    """
    here = Path(rm_path).resolve()
    for anc in (here.parent, here.parent.parent):
        for cand in (anc / "reference", anc / "artifacts" / "reference"):
            if (cand / "overopt_reference.json").is_file():
                return cand
    return None


def lab_base(*, n_prompts: int | None = None, per_prompt: int = 4, source: str = "reference",
             reference: Any = None, reference_dir: str | Path | None = None, max_new_tokens: int = 32,
             seed: int = 0) -> BaseSet:
    """Base responses for a lab RM on the lab's held-out prompts.

    ``source="reference"`` samples the lab's reference LM: the one saved in ``reference_dir`` (a lab
    run's copy, with the config it was trained with) or the one ``reference`` (a ``ReferenceConfig``,
    default config when None) names in the cache, trained on first use. ``source="grammar"`` draws
    from the corpus grammar the LM was trained on (no model, instant; same habits at corpus rates).
    """
    from overopt.lab import grammar, world
    from overopt.lab.reference import ReferenceConfig, reference_facts

    if reference_dir is not None:
        cfg = ReferenceConfig(**reference_facts(Path(reference_dir))["config"])
    else:
        cfg = reference or ReferenceConfig()
    _, held = world.split_prompts(cfg.heldout_frac, cfg.seed)
    held = [held[i] for i in _subset(len(held), n_prompts, seed)]
    harmful = np.array([p.kind == "harmful" for p in held])
    if source == "grammar":
        rng = np.random.default_rng(seed)
        prompts = [p.text for p in held for _ in range(per_prompt)]
        responses = [grammar.sample_response(p, rng) for p in held for _ in range(per_prompt)]
        ids = np.repeat(np.arange(len(held)), per_prompt)
        return from_rows(prompts, responses, prompt_ids=ids, harmful=harmful[ids], source="lab:grammar",
                         phrasebook=lab_phrasebook())
    if source != "reference":
        raise InputError(f"lab base source must be 'reference' or 'grammar', got {source!r}")
    from overopt.lab.reference import reference_path
    from overopt.models.hf import HFPolicy

    path = Path(reference_dir) if reference_dir is not None else reference_path(cfg)
    return from_policy(HFPolicy.from_pretrained(path), [p.text for p in held], per_prompt,
                       max_new_tokens=max_new_tokens, seed=seed, harmful=harmful, source=f"lab:reference ({path})",
                       phrasebook=lab_phrasebook())
