"""vLLM generation backend: the Policy interface on a ``vllm.LLM`` engine (optional extra ``overopt[vllm]``).

For best-of-n with large N, generation dominates; vLLM's paged KV cache and continuous batching make
it one to two orders of magnitude faster than a ``generate`` loop on a GPU. Numbers follow the same
contract as the Hugging Face backend (``models.base.Samples``):

- ``sample``: ``n`` completions per prompt via ``SamplingParams(n=n, seed=...)``; the per-sequence
  log-prob is vLLM's ``cumulative_logprob`` of the sampled tokens, requested with ``logprobs=0`` and
  the engine's ``logprobs_mode="processed_logprobs"`` so that it is under the *tempered* policy, as
  the contract says (raw log-probs would ignore the temperature).
- ``token_logprobs``: one prefill per (prompt, response) with ``prompt_logprobs=0``, untempered, the
  response's tokens then end-of-sequence, as the HF backend scores them.

Loading is safetensors-only (``load_format="safetensors"``, checked before the engine starts) and
``trust_remote_code`` stays off unless passed. GPU one-liner::

    VLLMPolicy.from_pretrained("path/to/lm").sample(["User: hi Assistant:"], 64, max_new_tokens=32)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from overopt.errors import InputError, MissingDependencyError
from overopt.io.weights import require_safetensors
from overopt.models.base import Samples, check_sample_args


def _vllm() -> Any:
    try:
        import vllm
    except ImportError as exc:
        raise MissingDependencyError(
            "the vLLM generation backend needs vllm (and a GPU); install it with: pip install 'overopt[vllm]'"
        ) from exc
    return vllm


class VLLMPolicy:
    """A ``vllm.LLM`` engine behind the Policy interface."""

    def __init__(self, llm: Any) -> None:
        self.llm = llm
        self.tokenizer = llm.get_tokenizer()

    @classmethod
    def from_pretrained(cls, path: str | Path, *, trust_remote_code: bool = False, **engine_kw: Any) -> VLLMPolicy:
        vllm = _vllm()
        require_safetensors(path)  # pickle weights can run code: refused before the engine sees them
        kw = {"load_format": "safetensors", "trust_remote_code": trust_remote_code,
              "logprobs_mode": "processed_logprobs", **engine_kw}
        return cls(vllm.LLM(model=str(path), **kw))

    def _encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def sample(
        self, prompts: list[str], n: int, *, max_new_tokens: int, temperature: float = 1.0, seed: int = 0
    ) -> Samples:
        """``n`` completions per prompt with per-sequence log-probs under the (tempered) policy."""
        vllm = _vllm()
        check_sample_args(n, max_new_tokens, temperature)
        # one seed per prompt, derived from ``seed``: a prompt's samples do not depend on its batch-mates
        params = [vllm.SamplingParams(n=n, max_tokens=max_new_tokens, temperature=temperature, logprobs=0,
                                      seed=int(seed) * 1_000_003 + i, skip_special_tokens=True)
                  for i in range(len(prompts))]
        requests = [{"prompt_token_ids": self._encode(p)} for p in prompts]
        outputs = self.llm.generate(requests, params, use_tqdm=False)
        ids, texts, logps = [], [], []
        for out in outputs:  # vLLM returns outputs in request order
            for c in out.outputs:
                ids.append(list(c.token_ids))
                texts.append(str(c.text).strip())
                logps.append(float(c.cumulative_logprob))
        index = np.repeat(np.arange(len(prompts), dtype=np.int64), n)
        return Samples(list(prompts), texts, index, ids, np.asarray(logps, dtype=np.float64))

    def token_logprobs(self, prompts: list[str], responses: list[str]) -> list[np.ndarray]:
        """Log-prob of every response token (then end-of-sequence, when the tokenizer has one)."""
        vllm = _vllm()
        if len(prompts) != len(responses):
            raise InputError("token_logprobs needs one prompt per response")
        eos = self.tokenizer.eos_token_id
        pairs = [(self._encode(p), self._encode(r) + ([eos] if eos is not None else []))
                 for p, r in zip(prompts, responses, strict=True)]
        params = vllm.SamplingParams(max_tokens=1, prompt_logprobs=0, temperature=1.0)
        outputs = self.llm.generate([{"prompt_token_ids": pi + ri} for pi, ri in pairs], params, use_tqdm=False)
        out = []
        for (pi, ri), o in zip(pairs, outputs, strict=True):
            # prompt_logprobs[t] maps token ids to Logprob objects for position t (None at t = 0)
            row = o.prompt_logprobs[len(pi): len(pi) + len(ri)]
            out.append(np.asarray([row[k][tok].logprob for k, tok in enumerate(ri)], dtype=np.float64))
        return out
