"""Fixtures of the report tests: ONE tiny real lab run per session, and a hostile copy of it.

The tiny lab (a 1-layer reference LM pretrained for a few steps, 2 proxy sizes x 2 data budgets,
16 samples per prompt) runs the real ``LabStudy`` end to end in well under a minute; the reference
LM is cached by config hash like any lab reference. The hostile copy rewrites the run's stored
completions, prompts and a curve name with payloads that would run code if the page ever parsed
them as HTML.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from report_world import HOSTILE, tiny_config


@pytest.fixture(scope="session")
def lab_run(tmp_path_factory) -> Path:
    """A real, finished tiny lab run directory (summary.json, store, report.html)."""
    pytest.importorskip("torch")
    from overopt.study.lab import LabStudy

    out = tmp_path_factory.mktemp("report-lab")
    LabStudy(tiny_config(), out).run()
    return out


def _copy_run(run: Path, tmp_path_factory, name: str) -> tuple[Path, dict]:
    """A copy of a run directory and its summary (to edit, then ``_save``)."""
    out = tmp_path_factory.mktemp(name) / "run"
    shutil.copytree(run, out)
    return out, json.loads((out / "summary.json").read_text())


def _save(out: Path, summary: dict) -> Path:
    (out / "summary.json").write_text(json.dumps(summary))
    return out


@pytest.fixture(scope="session")
def hostile_run(lab_run, tmp_path_factory) -> Path:
    """A copy of ``lab_run`` whose stored completions, prompts and a curve name are hostile."""
    out, summary = _copy_run(lab_run, tmp_path_factory, "report-hostile")
    curve = summary["bon"][0]
    for i, s in enumerate(curve["samples"]):
        s["response"] = HOSTILE[i % len(HOSTILE)]
        s["prompt"] = HOSTILE[(i + 1) % len(HOSTILE)][:200]
    curve["name"] = "<img src=x onerror=\"window.__pwned_name = 1\">"
    summary["proxies"][0]["name"] = curve["name"]
    return _save(out, summary)


def _evaluations(coef: float, samples: list[dict], seed: int) -> list[dict]:
    """Evaluation records shaped like ``overopt.study.evaluate``'s, along a Gao RL-form gold curve.

    Only the numbers are generated (the report is under test, not the optimizer); the completions
    are real lab completions from the run, and ``curve_from_evaluations`` (the lab's own code) turns
    them into summary curves with their fits.
    """
    import numpy as np

    from overopt import metrics

    rng = np.random.default_rng(seed)
    out = []
    for k, step in enumerate(range(0, 61, 6)):
        kl = 0.0 if step == 0 else (step / 15.0) ** 2 / (1.0 + 10.0 * coef)
        d = np.sqrt(kl)
        gold = d * (1.0 - 0.6 * np.log(d)) if d > 0 else 0.0
        out.append({"step": step, metrics.KL: kl + (rng.normal(0, 0.02) if step else 0.0), metrics.KL_SE: 0.02,
                    metrics.KL_K3: kl, metrics.PROXY: 1.5 * d + rng.normal(0, 0.05), metrics.PROXY_SE: 0.1,
                    metrics.GOLD: gold + rng.normal(0, 0.05), metrics.GOLD_SE: 0.08,
                    "lab/n_words": 12 + 3 * d, "lab/opener_confident": min(1.0, 0.1 + 0.2 * d),
                    "samples": samples[k % len(samples):][:3] or samples[:3]})
    return out


@pytest.fixture(scope="session")
def rl_run(lab_run, tmp_path_factory) -> Path:
    """A copy of ``lab_run`` with RL (3 KL coefficients + a WCO ensemble) and DPO curves, and an audit."""
    import contextlib
    import io
    import warnings

    from overopt.cli import main
    from overopt.study.curves import curve_from_evaluations

    out, summary = _copy_run(lab_run, tmp_path_factory, "report-rl")
    samples = [{"prompt": s["prompt"], "response": s["response"], "proxy": s["proxy"], "gold": s["gold"]}
               for s in summary["bon"][0]["samples"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rl = [{**curve_from_evaluations(f"s-40-kl{c:g}", _evaluations(c, samples, i)), "kl_coef": c,
               "ensemble": None, "algo": "grpo"} for i, c in enumerate((0.0, 0.05, 0.2))]
        # the trainer's own log (TRL's per-token k3 and mean completion length) for the KL check
        rl[1]["trainer_log"] = [{"step": st, "kl": k / 12.0, "completions/mean_length": 12.0}
                                for st, k in zip(rl[1]["step"], rl[1]["kl"], strict=True)]
        rl.append({**curve_from_evaluations("ensemble-wco-kl0.05", _evaluations(0.05, samples, 9)), "kl_coef": 0.05,
                   "ensemble": "wco", "algo": "grpo"})
        dpo = [{**curve_from_evaluations(f"sigmoid-beta{b:g}", _evaluations(b, samples, 20 + i)), "beta": b}
               for i, b in enumerate((0.1, 0.01))]
    _save(out, summary | {"rl": rl, "dpo": dpo})
    proxy = next(p for p in summary["proxies"] if p["role"] == "grid")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        code = main(["audit-rm", "--rm", str(out / proxy["path"]), "--gold", "lab:gold", "--n-prompts", "6",
                     "--per-prompt", "1", "--n-boot", "100", "--json"])
    assert code == 0
    (out / f"audit-{proxy['name']}.json").write_text(buf.getvalue())
    return out
