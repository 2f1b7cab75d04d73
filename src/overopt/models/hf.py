"""Hugging Face transformers backend: any causal LM as a Policy, any sequence classifier as a RewardModel.

Sampling is our own short loop with the KV cache rather than ``generate``: all ``n`` completions of
one prompt form one batch (no padding, so positions stay right for any architecture), and the
log-probability of every sampled token is kept, which best-of-n needs for exact sequence
probabilities. CPU one-liner::

    HFPolicy.from_pretrained("path/to/lm").sample(["User: hi Assistant:"], 4, max_new_tokens=16)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from overopt.errors import InputError, require
from overopt.io.weights import require_safetensors
from overopt.models.base import Samples, check_sample_args


def _torch() -> Any:
    return require("torch", "lab")


def model_device(model: Any) -> Any:
    """Where the model's weights are now (a trainer may have moved it since it was wrapped)."""
    try:
        return next(model.parameters()).device
    except (StopIteration, AttributeError):
        return _torch().device("cpu")


class HFPolicy:
    """A causal LM + tokenizer behind the Policy interface.

    Inputs go to the device the model is on when called (CPU, or the GPU a trainer put it on: the
    ``OverOptCallback`` wraps the model being trained), and the sampling generator lives there too.
    A given seed reproduces samples on one device type; CPU and CUDA draws differ.
    """

    def __init__(self, model: Any, tokenizer: Any, *, batch_size: int = 1024) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self._cache_kw: str | None = None

    @classmethod
    def from_pretrained(cls, path: str | Path, *, trust_remote_code: bool = False, **kw: Any) -> HFPolicy:
        require("transformers", "lab")
        from transformers import AutoModelForCausalLM, AutoTokenizer

        require_safetensors(path)  # pickle weights can run code: refused before transformers sees them
        model = AutoModelForCausalLM.from_pretrained(path, trust_remote_code=trust_remote_code, use_safetensors=True)
        tok = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
        return cls(model, tok, **kw)

    def _encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def sample(
        self, prompts: list[str], n: int, *, max_new_tokens: int, temperature: float = 1.0, seed: int = 0
    ) -> Samples:
        """``n`` completions per prompt with per-sequence log-probs under the (tempered) policy."""
        torch = _torch()
        check_sample_args(n, max_new_tokens, temperature)
        gen = torch.Generator(device=model_device(self.model)).manual_seed(int(seed))
        encoded = [self._encode(p) for p in prompts]
        # Rows of equal prompt length share a batch: no padding, so positions are right for any model.
        by_len: dict[int, list[int]] = {}
        for i, ids in enumerate(encoded):
            by_len.setdefault(len(ids), []).extend([i] * n)
        rows_of: dict[int, list[tuple[list[int], float]]] = {i: [] for i in range(len(prompts))}
        for length in sorted(by_len):
            owners = by_len[length]
            for s in range(0, len(owners), self.batch_size):
                chunk = owners[s:s + self.batch_size]
                tokens, lp = self._sample_batch([encoded[i] for i in chunk], max_new_tokens, temperature, gen)
                for i, row, total in zip(chunk, tokens, lp, strict=False):
                    rows_of[i].append((row, total))
        ids_out = [row for i in range(len(prompts)) for row, _ in rows_of[i]]
        logps = [total for i in range(len(prompts)) for _, total in rows_of[i]]
        index = np.repeat(np.arange(len(prompts), dtype=np.int64), n)
        responses = [self._decode(row) for row in ids_out]
        return Samples(list(prompts), responses, index, ids_out, np.asarray(logps, dtype=np.float64))

    def _decode(self, ids: list[int]) -> str:
        eos = self.tokenizer.eos_token_id
        body = ids[:-1] if ids and ids[-1] == eos else ids
        return str(self.tokenizer.decode(body, skip_special_tokens=True)).strip()

    def _step(self, ids: Any, cache: Any) -> Any:
        # transformers >= 5.2x names the KV cache ``cache``; older versions ``past_key_values``
        if self._cache_kw is None:
            import inspect

            params = inspect.signature(self.model.forward).parameters
            self._cache_kw = "cache" if "cache" in params else "past_key_values"
        kw = {} if cache is None else {self._cache_kw: cache}
        out = self.model(input_ids=ids, use_cache=True, **kw)
        new_cache = getattr(out, "cache", None)
        return out.logits[:, -1, :], new_cache if new_cache is not None else out.past_key_values

    def _sample_batch(self, prompt_ids: list[list[int]], max_new: int, temperature: float, gen: Any):
        """Sample rows until each emits EOS; finished rows leave the batch (and the KV cache)."""
        torch = _torch()
        eos = self.tokenizer.eos_token_id
        device = model_device(self.model)
        x = torch.tensor(prompt_ids, dtype=torch.long, device=device)  # (b, P), all prompts of one length
        b = x.shape[0]
        rows: list[list[int]] = [[] for _ in range(b)]
        total = torch.zeros(b, dtype=torch.float64, device=device)
        active = torch.arange(b, device=device)
        with torch.inference_mode():
            logits, cache = self._step(x, None)  # (b, V)
            for step in range(max_new):
                logp = torch.log_softmax(logits.float() / temperature, dim=-1)  # (a, V)
                tok = torch.multinomial(logp.exp(), 1, generator=gen)[:, 0]  # (a,)
                total.index_add_(0, active, logp.gather(1, tok[:, None])[:, 0].double())
                for r, t in zip(active.tolist(), tok.tolist(), strict=False):
                    rows[r].append(t)
                if eos is not None:
                    keep = tok != eos
                    if not bool(keep.any()):
                        break
                    if not bool(keep.all()):
                        sel = keep.nonzero()[:, 0]
                        cache.batch_select_indices(sel)
                        active, tok = active[sel], tok[sel]
                if step + 1 < max_new:
                    logits, cache = self._step(tok[:, None], cache)
        return rows, total.tolist()

    def token_logprobs(self, prompts: list[str], responses: list[str]) -> list[np.ndarray]:
        """Log-prob of every response token (then end-of-sequence, when the tokenizer has one)."""
        if len(prompts) != len(responses):
            raise InputError("token_logprobs needs one prompt per response")
        eos = self.tokenizer.eos_token_id
        return self._score_ids([self._encode(p) for p in prompts],
                               [self._encode(r) + ([eos] if eos is not None else []) for r in responses])

    def token_logprobs_ids(self, prompts: list[str], response_ids: list[list[int]]) -> list[np.ndarray]:
        """Log-prob of each given response token id (e.g. the ids :meth:`sample` drew: no decode and
        re-encode, so the KL of the policy's own samples is exact)."""
        if len(prompts) != len(response_ids):
            raise InputError("token_logprobs_ids needs one prompt per response")
        return self._score_ids([self._encode(p) for p in prompts], [list(r) for r in response_ids])

    def _score_ids(self, prompt_ids: list[list[int]], response_ids: list[list[int]]) -> list[np.ndarray]:
        torch = _torch()
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        out: list[np.ndarray] = []
        for start in range(0, len(prompt_ids), 256):
            pairs = list(zip(prompt_ids[start:start + 256], response_ids[start:start + 256], strict=True))
            width = max(len(pi) + len(ri) for pi, ri in pairs)
            ids = torch.full((len(pairs), width), pad, dtype=torch.long)  # right-padded (B, T)
            mask = torch.zeros_like(ids)
            for j, (pi, ri) in enumerate(pairs):
                ids[j, : len(pi) + len(ri)] = torch.tensor(pi + ri)
                mask[j, : len(pi) + len(ri)] = 1
            device = model_device(self.model)
            ids, mask = ids.to(device), mask.to(device)
            with torch.inference_mode():
                logits = self.model(input_ids=ids, attention_mask=mask).logits.float()  # (B, T, V)
            logp = torch.log_softmax(logits[:, :-1], dim=-1).gather(2, ids[:, 1:, None])[..., 0]  # (B, T-1)
            logp = logp.double().cpu()
            for j, (pi, ri) in enumerate(pairs):
                out.append(logp[j, len(pi) - 1: len(pi) - 1 + len(ri)].numpy())
        return out


class HFRewardModel:
    """A sequence-classification model (one logit) as a RewardModel; chat template when the tokenizer has one."""

    def __init__(self, model: Any, tokenizer: Any, *, batch_size: int = 64) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        if tokenizer.pad_token is None and tokenizer.eos_token is not None:
            tokenizer.pad_token = tokenizer.eos_token
        if getattr(model.config, "pad_token_id", None) is None:
            model.config.pad_token_id = tokenizer.pad_token_id

    @classmethod
    def from_pretrained(cls, path: str | Path, *, trust_remote_code: bool = False, **kw: Any) -> HFRewardModel:
        require("transformers", "lab")
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        require_safetensors(path)
        model = AutoModelForSequenceClassification.from_pretrained(path, trust_remote_code=trust_remote_code,
                                                                   use_safetensors=True)
        tok = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
        return cls(model, tok, **kw)

    def _text(self, prompt: str, response: str) -> str:
        if getattr(self.tokenizer, "chat_template", None):
            msgs = [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]
            return str(self.tokenizer.apply_chat_template(msgs, tokenize=False))
        return f"{prompt} {response}"

    def score(self, prompts: list[str], responses: list[str]) -> np.ndarray:
        torch = _torch()
        texts = [self._text(p, r) for p, r in zip(prompts, responses, strict=False)]
        out = []
        for s in range(0, len(texts), self.batch_size):
            enc = self.tokenizer(texts[s:s + self.batch_size], return_tensors="pt", padding=True)
            enc = enc.to(model_device(self.model))
            with torch.inference_mode():
                out.append(self.model(**enc).logits[:, 0].double().cpu().numpy())
        return np.concatenate(out) if out else np.zeros(0)
