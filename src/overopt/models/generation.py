"""Generation backends behind one Policy interface: ``hf`` (default) and ``vllm`` (optional, GPU).

    policy = load_policy("path/to/lm")                    # Hugging Face, CPU or GPU
    policy = load_policy("path/to/lm", backend="vllm")    # vLLM engine; needs overopt[vllm] and a GPU

Nothing above the models layer knows which one it holds.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from overopt.errors import ConfigError

GENERATION_BACKENDS = ("hf", "vllm")


def unavailable_reason(backend: str) -> str | None:
    """Why ``backend`` cannot run here (None when it can): a missing package or no GPU."""
    if backend == "hf":
        return None if importlib.util.find_spec("transformers") else "transformers not installed (overopt[lab])"
    if backend == "vllm":
        if importlib.util.find_spec("vllm") is None:
            return "vllm not installed (pip install 'overopt[vllm]')"
        import torch

        return None if torch.cuda.is_available() else "no GPU (vLLM needs one)"
    raise ConfigError(f"unknown generation backend {backend!r}; choose one of {', '.join(GENERATION_BACKENDS)}")


def load_policy(path: str | Path, *, backend: str = "hf", trust_remote_code: bool = False, **kw: Any) -> Any:
    """A Policy for the saved causal LM at ``path`` on the chosen backend."""
    if backend == "hf":
        from overopt.models.hf import HFPolicy

        return HFPolicy.from_pretrained(path, trust_remote_code=trust_remote_code, **kw)
    if backend == "vllm":
        from overopt.models.vllm_policy import VLLMPolicy

        return VLLMPolicy.from_pretrained(path, trust_remote_code=trust_remote_code, **kw)
    raise ConfigError(f"unknown generation backend {backend!r}; choose one of {', '.join(GENERATION_BACKENDS)}")
