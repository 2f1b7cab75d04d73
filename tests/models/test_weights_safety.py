"""Model loading is safetensors-only: pickle checkpoints are refused before anything unpickles them."""

from __future__ import annotations

import json
import pickle

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from overopt.errors import InputError  # noqa: E402
from overopt.models.hf import HFPolicy, HFRewardModel  # noqa: E402
from overopt.models.lab_rm import CONFIG_KEY, LabRewardModel  # noqa: E402
from overopt.models.resolve import load_reward  # noqa: E402


class _Boom:
    """Unpickling this runs code: it writes a marker file (it must never appear)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _pickle_only_model(path, marker, *, cls=transformers.GPT2LMHeadModel):
    cfg = transformers.GPT2Config(vocab_size=32, n_positions=16, n_embd=8, n_layer=1, n_head=2, num_labels=1)
    cls(cfg).save_pretrained(path)  # safetensors + config ...
    for f in path.glob("*.safetensors"):
        f.unlink()  # ... then only a hostile pickle where the weights were
    with open(path / "pytorch_model.bin", "wb") as fh:
        pickle.dump({"payload": _Boom(str(marker))}, fh)
    return path


@pytest.mark.parametrize("loader", [HFPolicy.from_pretrained, HFRewardModel.from_pretrained, load_reward])
def test_pickle_only_checkpoint_is_refused_and_never_unpickled(tmp_path, loader):
    marker = tmp_path / "pwned"
    path = _pickle_only_model(tmp_path / "m", marker,
                              cls=transformers.GPT2LMHeadModel if loader is HFPolicy.from_pretrained
                              else transformers.GPT2ForSequenceClassification)
    with pytest.raises(InputError, match="pickle weights.*safetensors only"):
        loader(str(path))
    assert not marker.exists()


def test_judge_refuses_pickle_classifier(tmp_path):
    from overopt.text.judge import HFClassifierJudge

    marker = tmp_path / "pwned"
    path = _pickle_only_model(tmp_path / "m", marker, cls=transformers.GPT2ForSequenceClassification)
    with pytest.raises(InputError, match="pickle weights"):
        HFClassifierJudge(refusal=path)
    assert not marker.exists()


def test_remote_code_is_off_by_default(tmp_path):
    cfg = transformers.GPT2Config(vocab_size=32, n_positions=16, n_embd=8, n_layer=1, n_head=2)
    transformers.GPT2LMHeadModel(cfg).save_pretrained(tmp_path)
    raw = json.loads((tmp_path / "config.json").read_text())
    raw["auto_map"] = {"AutoModelForCausalLM": "evil_module.EvilModel", "AutoConfig": "evil_module.EvilConfig"}
    (tmp_path / "config.json").write_text(json.dumps(raw))
    (tmp_path / "evil_module.py").write_text(f"open({str(tmp_path / 'pwned')!r}, 'w')\n")
    try:
        HFPolicy.from_pretrained(tmp_path)
    except Exception:  # noqa: BLE001 - refusing or ignoring auto_map are both fine; running it is not
        pass
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("edit", [
    lambda d: (d / "config.json").write_text(json.dumps({CONFIG_KEY: 1, "vocab_size": "x; import os"})),
    lambda d: (d / "config.json").write_text(json.dumps({CONFIG_KEY: 1, "vocab_size": 4, "evil": 1})),
    lambda d: (d / "vocab.json").write_text(json.dumps({"not": "a list"})),
    lambda d: (d / "model.safetensors").write_bytes(b"\x00" * 64),
    lambda d: (d / "model.safetensors").unlink(),
])
def test_corrupt_lab_rm_is_an_input_error(tmp_path, edit):
    from overopt.models.lab_rm import LabRMConfig, build_net

    cfg = LabRMConfig(vocab_size=4, dim=2, hidden=2)
    LabRewardModel(build_net(cfg), ["<pad>", "<eos>", "<unk>", "a"], cfg).save_pretrained(tmp_path)
    edit(tmp_path)
    with pytest.raises(InputError):
        LabRewardModel.from_pretrained(tmp_path)
