"""Acceptance tests of the lab (issue 4): the quick preset runs ONCE per session and every test reads it.

Seeded (seed 0); each test states its tolerance. Gold and proxy in curves are relative to the
reference (n = 1). If one of these fails, the phenomenon did not emerge in this world at this size:
investigate (see docs/lab.md), do not tune the world until it passes.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")

from overopt.lab import world  # noqa: E402
from overopt.lab.presets import BonConfig, preset_config  # noqa: E402
from overopt.lab.proxies import TrainConfig  # noqa: E402
from overopt.lab.reference import ReferenceConfig  # noqa: E402
from overopt.study.backend import LocalBackend  # noqa: E402
from overopt.study.lab import LabStudy  # noqa: E402

pytestmark = pytest.mark.slow
BIASED_HABITS = ("n_words", "opener_confident", "agreement_false", "refusal_benign")


@pytest.fixture(scope="session")
def quick(tmp_path_factory):
    """The main job as users run it: `overopt lab --preset quick` (in this process)."""
    from overopt.cli import main

    out = tmp_path_factory.mktemp("lab-quick")
    assert main(["lab", "--preset", "quick", "--seed", "0", "--out", str(out)]) == 0
    return json.loads((out / "summary.json").read_text()), out


def _curve(summary, name):
    return next(c for c in summary["bon"] if c["name"] == name)


def _peak(curve):
    i = int(np.argmax(curve["gold"]))
    return curve["n"][i], curve["gold"][i]


def test_summary_schema_and_files(quick):
    summary, out = quick
    assert {"schema_version", "preset", "proxies", "bon", "rl", "dpo", "timings", "versions"} <= set(summary)
    assert summary["versions"]["overopt"] and summary["versions"]["torch"]
    assert summary["rl"] and summary["dpo"]  # overopt lab runs the RL and DPO stages too
    for c in summary["rl"] + summary["dpo"]:
        assert len(c["kl"]) == len(c["proxy"]) == len(c["gold"]) == len(c["step"]) >= 2 and "fit" in c
    for p in summary["proxies"]:
        assert {"name", "n_params", "n_pairs", "heldout_acc_labelers", "heldout_acc_gold", "path"} <= set(p)
        assert (out / p["path"] / "model.safetensors").is_file()
        assert set(p["rare_token_gain_std"]) == set(world.RARE)
    for c in summary["bon"]:
        assert len(c["kl"]) == len(c["proxy"]) == len(c["gold"]) == len(c["n"]) and "fit" in c
        assert c["samples"] and set(c["rates"]) >= set(BIASED_HABITS)
    assert (out / "report.html").read_text().startswith("<!doctype html>")
    assert json.loads((out / "summary.json").read_text())["preset"] == "quick"


def test_proxy_of_the_pick_rises_monotonically_in_n(quick):
    """Exact BoN expectation of the selection score: non-decreasing to 1e-9."""
    for c in quick[0]["bon"]:
        assert np.all(np.diff(c["proxy"]) >= -1e-9), c["name"]


def test_gold_rises_then_falls_for_the_smallest_proxy_and_data(quick):
    """Smallest size at the smallest budget: the gold peak is interior, >= 0.1 above the reference,
    and gold at the largest n is >= 0.2 below the peak (gold units; the gold CI half-width is ~0.1-0.2)."""
    summary = quick[0]
    sizes, budgets = summary["config"]["sizes"], summary["config"]["n_pairs"]
    c = _curve(summary, f"{sizes[0]['name']}-{budgets[0]}")
    i = int(np.argmax(c["gold"]))
    assert 0 < i < len(c["gold"]) - 1, c["gold"]
    assert c["gold"][i] > 0.1 and c["gold"][-1] < c["gold"][i] - 0.2, c["gold"]


def test_gao_bon_form_fits_the_gold_curves(quick):
    """R^2 >= 0.95 for the smallest proxy, and for the median over the 3x3 grid of proxies."""
    summary = quick[0]
    grid = [p["name"] for p in summary["proxies"] if p["role"] == "grid"]
    r2 = {n: _curve(summary, n)["fit"]["r2"] for n in grid}
    assert r2[grid[0]] >= 0.95, r2
    assert np.median(list(r2.values())) >= 0.95, r2


def _peaks(summary):
    sizes = [s["name"] for s in summary["config"]["sizes"]]
    budgets = summary["config"]["n_pairs"]
    by_size = [_peak(_curve(summary, f"{s}-{budgets[-1]}")) for s in sizes]
    by_data = [_peak(_curve(summary, f"{sizes[-1]}-{n}")) for n in budgets]
    return by_size, by_data


def test_more_data_peaks_higher(quick):
    """Peak gold strictly increases over the 3 budgets (at the largest size). Measured over 6 fresh draws of
    the best-of-n samples with the seed-0 proxies: it held in all 6 (l-250 0.38-0.50, l-1000 0.65-0.76,
    l-4000 1.23-1.39)."""
    _, by_data = _peaks(quick[0])
    golds = [g for _, g in by_data]
    assert np.all(np.diff(golds) > 0), by_data


@pytest.mark.xfail(strict=False, reason=(
    "within sampling noise at quick scale (15 prompts x 256 samples; peak gold CI half-width ~0.5): over 6 "
    "fresh draws of the samples with the seed-0 proxies, m-4000 peaked above l-4000 in 3 (1.233 vs 1.230, "
    "1.92 vs 1.38, 1.65 vs 1.39) and below in 3; the n of the peak (an argmax over a flat top) fell with "
    "size or data in 3 of 6 draws. The smallest size always peaked lowest (0.64-0.70). On the default preset "
    "(30 x 1024, seed 0) it held: sizes s < m < l peak at 0.98 < 1.27 < 1.35 (n = 4, 8, 8; CI half-width "
    "~0.2), budgets at 0.98 < 1.15 < 1.35 (n = 8, 8, 8)"))
def test_bigger_proxy_peaks_higher_and_more_data_later(quick):
    """Peak gold strictly increases over the 3 sizes (at the largest budget); the n of the peak never
    decreases over sizes or budgets."""
    by_size, by_data = _peaks(quick[0])
    assert np.all(np.diff([g for _, g in by_size]) > 0), by_size
    for seq in (by_size, by_data):
        assert np.all(np.diff([n for n, _ in seq]) >= 0), seq


@pytest.mark.xfail(strict=False, reason=(
    "does not emerge at quick scale: 15 prompts x 256 samples, members end at -0.72, +0.19, +0.26 (mean "
    "-0.09), WCO at -0.06 and UWO at -0.35 (seed 0). On the default preset (30 x 1024, seed 0) it does: "
    "WCO -0.09, UWO -0.05 vs the members' mean -0.28 (-0.38, -0.14, -0.33)"))
def test_wco_and_uwo_end_above_a_single_member(quick):
    """At the largest n, WCO and UWO gold (members z-scored on reference samples) exceed the mean gold of
    the single members."""
    summary = quick[0]
    members = _curve(summary, "ensemble-mean")["members"]
    single = np.mean([_curve(summary, m)["gold"][-1] for m in members])
    for method in ("wco", "uwo"):
        assert _curve(summary, f"ensemble-{method}")["gold"][-1] > single, (method, single)


def test_biased_habits_grow_with_biases_but_not_in_gao_mode(quick):
    """Same size, same pairs, labels with biases vs Gao-mode labels (``gao-*`` control proxy).

    A bias can only win where it outweighs the habit's gold cost in the labelers' comparison: length
    (+0.06 bias vs -0.04 gold per word) and confident openers (+0.8 vs -0.2) do; agreeing with a false
    premise (+0.8 vs about -4.5 with the lost correction) and refusing a benign request (+0.6 vs about
    -4) do not, so the labelers still prefer the right action and those rates fall for both proxies
    (measured in docs/lab.md). Asserted: the length of the pick grows >= 1 word more with biases than
    in Gao mode, the confident-opener rate >= 0.1 more and grows by >= 0.1 with biases and not at all
    in Gao mode; agreement / refusal rates never grow more in Gao mode than with biases (+0.05)."""
    summary = quick[0]
    gao = next(p for p in summary["proxies"] if p["role"] == "gao_control")
    biased, control = _curve(summary, gao["name"].removeprefix("gao-")), _curve(summary, gao["name"])

    def growth(curve, habit):
        return curve["rates"][habit][-1] - curve["rates"][habit][0]

    assert growth(biased, "n_words") > growth(control, "n_words") + 1.0
    assert growth(biased, "opener_confident") > max(0.1, growth(control, "opener_confident") + 0.1)
    assert growth(control, "opener_confident") <= 0.0
    for habit in ("agreement_false", "refusal_benign"):
        assert growth(control, habit) <= growth(biased, habit) + 0.05


def test_kl_bound_upper_bounds_exact_and_beirami(quick):
    """bound >= Beirami estimate and >= exact finite-support KL (to 1e-9), all 0 at n=1."""
    for c in quick[0]["bon"]:
        bound, exact, beirami = (np.asarray(c[k]) for k in ("kl_bound", "kl_exact", "kl_beirami"))
        assert exact[0] == pytest.approx(0, abs=1e-9) and np.all(exact <= bound + 1e-9)
        assert np.all(beirami <= bound + 1e-9)


def _tiny(seed: int = 0, shard_prompts: int = 4):
    return preset_config(
        "quick", seed=seed, threads=1, reference=ReferenceConfig(steps=20, n_corpus=300, seed=seed),
        n_pairs=(20, 40, 80), heldout_pairs=20, train=TrainConfig(min_steps=5, epochs=1),
        bon=BonConfig(n_samples=8, prompts_per_kind=1, n_boot=10, n_sample_prompts=1, max_new_tokens=16,
                      shard_prompts=shard_prompts),
        pair_max_new_tokens=16)


def _strip_timings(summary):
    return {k: v for k, v in summary.items() if k != "timings"}


class _Crash(Exception):
    pass


class _DiesAfter(LocalBackend):
    """A driver that dies once ``limit`` points were committed (run_points commits each before the next)."""

    limit, committed = 0, 0

    def run(self, points):
        for item in super().run(points):
            if self.committed == self.limit:
                raise _Crash
            self.committed += 1
            yield item


def test_same_seed_same_summary_any_sharding_and_resume(tmp_path, assert_json_close):
    """Everything in summary.json except ``timings`` is the same across runs with one seed, whether the
    5 best-of-n prompts run as 2 shards or as 5 shards killed after 2 of them and resumed (the rerun
    submits only the 3 missing shards): the samples are identical, curves equal to 1e-12 (matrix
    products over 1 or 4 prompts at a time round differently in the last bit). A rerun in the same
    directory resumes every stage and gives the identical summary."""
    a = LabStudy(_tiny(), tmp_path / "a").run()
    crashed = LabStudy(_tiny(shard_prompts=1), tmp_path / "b", backend=_DiesAfter())
    crashed.backend.limit = len(crashed.proxy_specs()) + 2  # every proxy and 2 of the 5 shards are committed
    with pytest.raises(_Crash):
        crashed.run()
    crashed.store.close()
    backend = LocalBackend()
    b = LabStudy(_tiny(shard_prompts=1), tmp_path / "b", backend=backend).run()
    assert backend.submitted == 3
    assert b["config"]["bon"].pop("shard_prompts") == 1 and a["config"]["bon"].pop("shard_prompts") == 4
    assert_json_close(_strip_timings(b), _strip_timings(a))
    events = []
    again = LabStudy(_tiny(), tmp_path / "a", progress=lambda stage, ev: events.append(ev)).run()
    assert set(events) == {"start", "resumed"}
    again["config"]["bon"].pop("shard_prompts")
    assert _strip_timings(again) == _strip_timings(a)


def test_interrupted_study_continues_after_the_last_finished_stage(tmp_path):
    first = LabStudy(_tiny(1), tmp_path)
    first.reference()
    first.pairs("train")
    first.store.close()
    events = []
    hook = {"rl": lambda study, proxies: [{"name": "hook", "n_proxies": len(proxies)}]}
    summary = LabStudy(_tiny(1), tmp_path, progress=lambda stage, ev: events.append((stage, ev))).run(hook)
    assert ("pretrain reference LM", "resumed") in events and ("label train pairs", "resumed") in events
    assert ("label heldout pairs", "done") in events
    # the study layer's RL / DPO stages plug in through extra_stages
    assert summary["rl"] == [{"name": "hook", "n_proxies": len(summary["proxies"])}] and summary["dpo"] == []


@pytest.mark.parametrize("args, needle", [
    (["--preset", "huge"], "unknown preset"),
    (["--preset", "quick", "--n-samples", "1"], "n-samples"),
])
def test_cli_bad_config_exits_2(cli, tmp_path, args, needle):
    r = cli("lab", *args, "--out", tmp_path / "o")
    assert r.code == 2 and needle in r.err and r.err.count("\n") == 1


def test_cli_out_is_a_file_or_unwritable_exits_2(cli, tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    r = cli("lab", "--preset", "quick", "--out", f)
    assert r.code == 2 and "is a file" in r.err
    r = cli("lab", "--preset", "quick", "--out", f / "sub")  # parent is a file: cannot be created
    assert r.code == 2 and "cannot write" in r.err


def test_cli_json_resumes_the_finished_quick_study(cli, quick):
    """The CLI builds the same config as the fixture, so every stage resumes from the store."""
    summary, out = quick
    r = cli("lab", "--preset", "quick", "--out", out, "--json")
    assert r.code == 0, r.err
    body = r.json()
    assert body["schema_version"] and body["preset"] == "quick"
    assert [p["name"] for p in body["proxies"]] == [p["name"] for p in summary["proxies"]]
    assert "(resumed)" in r.err


def test_lab_run_reopens_models_and_reproduces_the_ensemble_curve(quick):
    """LabRun (the API the RL study uses) rebuilds the WCO ensemble from saved RMs + recorded reference
    statistics; its best-of-n gold on the samples the shards saved equals the stored curve to 1e-9."""
    from overopt.core.bon import bon_curve
    from overopt.lab.bon_shard import read_shard_samples
    from overopt.lab.run import LabRun
    from overopt.study.lab import bon_prompts

    summary, out = quick
    run = LabRun(out)
    wco = _curve(summary, "ensemble-wco")
    shards = sorted((out / "artifacts").glob("bon-shard-*"))
    assert len(shards) == 4  # 15 prompts in shards of 4 (quick preset)
    data = [read_shard_samples(d) for d in shards]
    prompts = bon_prompts(preset_config("quick"))
    index = np.concatenate([d["prompt_index"] for d in data])
    texts = [prompts[i].text for i in index]
    sel = run.ensemble(wco["members"], method="wco").score(texts, [r for d in data for r in d["responses"]])
    curve = bon_curve(sel, np.concatenate([d["gold"] for d in data]), index, wco["n"], n_boot=10)
    np.testing.assert_allclose(curve.gold - curve.gold[0], wco["gold"], atol=1e-9)
    assert set(run.prompts("heldout")) >= {p.text for p in prompts}
    assert run.policy().sample([prompts[0].text], 2, max_new_tokens=4).logprobs.shape == (2,)


def test_cli_read_only_out_exits_2(cli, unwritable_dir):
    r = cli("lab", "--preset", "quick", "--out", unwritable_dir / "run")
    assert r.code == 2 and "cannot write" in r.err and r.err.count("\n") == 1


@pytest.mark.parametrize("name", ["quick", "default", "full"])
def test_presets_validate_and_have_3_sizes_3_budgets_3_members(name):
    cfg = preset_config(name, seed=3)
    assert len(cfg.sizes) >= 3 and len(cfg.n_pairs) >= 3 and cfg.ensemble.n_members >= 3
    assert cfg.ensemble.size in {s.name for s in cfg.sizes} and cfg.seed == 3
