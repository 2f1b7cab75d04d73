"""Refuse model weights that can run code when loaded.

A ``pytorch_model.bin`` / ``*.pt`` / ``*.ckpt`` file is a Python pickle: unpickling it may execute
arbitrary code, so a model directory from an untrusted source is a program, not data. overopt loads
safetensors only (plain tensors, no code), and leaves ``trust_remote_code`` off unless the caller
passes it. This check runs before transformers is asked to load anything, so the message names the fix.
"""

from __future__ import annotations

from pathlib import Path

from overopt.errors import InputError

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")


def require_safetensors(path: str | Path) -> Path:
    """``path`` if it is a model directory with ``*.safetensors`` weights; InputError otherwise."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"no model directory at {path}; pass a directory written by save_pretrained")
    if any(path.glob("*.safetensors")) or (path / "model.safetensors.index.json").is_file():
        return path
    pickled = sorted(p.name for p in path.iterdir() if p.suffix in PICKLE_SUFFIXES)
    if pickled:
        raise InputError(
            f"{path} holds only pickle weights ({', '.join(pickled[:3])}); overopt loads safetensors only "
            "because unpickling can run code. If you trust the file, convert it once: "
            "model = AutoModel...from_pretrained(path); model.save_pretrained(path, safe_serialization=True)"
        )
    raise InputError(f"{path} has no model weights (*.safetensors); pass a directory written by save_pretrained")
