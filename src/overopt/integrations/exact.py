"""A policy / reference pair that re-scores the *sampled token ids*, for exact KL on the samples.

``overopt.study.evaluate.evaluate_policy`` scores decoded text with ``token_logprobs``. When the
decode -> encode round trip is lossy (special tokens sampled by a young model, non-canonical BPE
merges after RL), the text scored is not what the policy sampled and k1 is no longer unbiased. These
wrappers remember the ids of the last sample and, when asked to score exactly those (prompt,
response) strings, score the ids under each model instead. Anything else falls back to the text.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class _LastSample:
    def __init__(self) -> None:
        self.prompts: list[str] | None = None
        self.responses: list[str] | None = None
        self.ids: list[list[int]] | None = None


def _score_ids(model: Any, tokenizer: Any, prompts: list[str], response_ids: list[list[int]]) -> list[np.ndarray]:
    """Log-prob of each response token id given its prompt, plus end-of-sequence when not sampled
    (the ``token_logprobs`` convention, which the evaluation then trims for truncated samples)."""
    import torch

    eos = tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    rows = []
    for p, ids in zip(prompts, response_ids, strict=True):
        r = list(ids) + ([eos] if eos is not None and (not ids or ids[-1] != eos) else [])
        rows.append((list(tokenizer(p, add_special_tokens=False)["input_ids"]), r))
    out: list[np.ndarray] = []
    device = next(model.parameters()).device
    for start in range(0, len(rows), 256):
        chunk = rows[start:start + 256]
        width = max(len(p) + len(r) for p, r in chunk)
        ids = torch.full((len(chunk), width), pad, dtype=torch.long)  # (B, T) right-padded
        mask = torch.zeros_like(ids)
        for j, (p, r) in enumerate(chunk):
            ids[j, : len(p) + len(r)] = torch.tensor(p + r)
            mask[j, : len(p) + len(r)] = 1
        with torch.inference_mode():
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()  # (B, T, V)
        logp = torch.log_softmax(logits[:, :-1], -1).gather(2, ids[:, 1:, None].to(device))[..., 0].cpu()  # (B, T-1)
        out += [logp[j, len(p) - 1: len(p) - 1 + len(r)].double().numpy() for j, (p, r) in enumerate(chunk)]
    return out


class SampledIdsPolicy:
    """Wraps an ``HFPolicy``; ``token_logprobs`` of the last sample's own strings scores its ids."""

    def __init__(self, inner: Any, last: _LastSample, *, samples: bool) -> None:
        self.inner = inner
        self._last = last
        self._samples = samples  # only the policy records what it sampled; the reference reads it

    def sample(self, prompts: list[str], n: int, **kw: Any) -> Any:
        s = self.inner.sample(prompts, n, **kw)
        if self._samples:
            self._last.prompts, self._last.responses, self._last.ids = s.prompt_texts(), list(s.responses), s.response_ids
        return s

    def token_logprobs(self, prompts: list[str], responses: list[str]) -> list[np.ndarray]:
        last = self._last
        if last.ids is not None and list(prompts) == last.prompts and list(responses) == last.responses:
            return _score_ids(self.inner.model, self.inner.tokenizer, list(prompts), last.ids)
        return self.inner.token_logprobs(prompts, responses)


def sampled_ids_pair(policy: Any, reference: Any) -> tuple[Any, Any]:
    """(policy, reference) wrappers sharing the last sample's ids; unchanged unless both are HF models."""
    if not all(hasattr(x, "model") and hasattr(x, "tokenizer") for x in (policy, reference)):
        return policy, reference
    last = _LastSample()
    return SampledIdsPolicy(policy, last, samples=True), SampledIdsPolicy(reference, last, samples=False)
