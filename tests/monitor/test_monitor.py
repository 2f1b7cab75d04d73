"""OverOptMonitor: records in, alarms / forecast / recommendation out."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from overopt import metrics as M
from overopt.errors import InputError, UnreliableWarning
from overopt.monitor import AlarmLevel, EvalRecord, OverOptMonitor, peak_decision


def _feed(mon, d, g, se, proxy=None, start_step=0):
    states = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreliableWarning)
        for i in range(len(d)):
            states.append(mon.update(EvalRecord(
                step=start_step + 10 * i, kl=float(d[i] ** 2), gold=float(g[i]), gold_se=float(se[i]),
                proxy=None if proxy is None else float(proxy[i]), proxy_se=None if proxy is None else 0.01)))
    return states


def test_online_monitor_alarms_exactly_where_the_offline_rule_does(synth):
    for seed in range(5):
        d, _, g, se = synth.curve("overopt", seed)
        mon = OverOptMonitor(forecast=False)
        states = _feed(mon, d, g, se)
        first = next(i for i, s in enumerate(states) if s.alarm.level == AlarmLevel.ALARM)
        assert first == peak_decision(g, se).first_alarm_index
        assert mon.first_alarm_step_ == 10 * first
        assert "peaked" in states[first].alarm.reasons[0] and "roll back to step" in states[first].alarm.reasons[0]


def test_no_alarm_on_a_run_below_the_peak_with_the_forecast_on(synth):
    d, _, g, se = synth.curve("below", 0, n_evals=20)
    mon = OverOptMonitor()
    states = _feed(mon, d, g, se)
    assert max(s.alarm.level for s in states) < AlarmLevel.ALARM
    fc = states[-1].forecast
    assert fc is not None and fc.passed is not True
    assert mon.summary()["fit"]["form"] == "rl"


def test_forecast_says_passed_and_gives_the_peak_kl_on_an_overoptimizing_run(synth):
    d, _, g, se = synth.curve("overopt", 1, n_evals=25)
    mon = OverOptMonitor()
    states = _feed(mon, d, g, se)
    fc = states[-1].forecast
    assert fc.passed is True
    assert fc.peak_kl == pytest.approx(synth.D_STAR**2, rel=0.35)
    assert M.PEAK_KL_FORECAST in mon.metrics()
    assert states[-1].alarm.level == AlarmLevel.ALARM


def test_divergence_is_a_watch_signal():
    n = 8
    d = np.linspace(0.5, 2.0, n)
    gold = np.full(n, 1.0) + np.array([0.01, -0.01] * (n // 2))
    proxy = 0.5 * d
    mon = OverOptMonitor(forecast=False)
    state = _feed(mon, d, gold, np.full(n, 0.02), proxy=proxy)[-1]
    assert state.alarm.level == AlarmLevel.WATCH
    assert any("proxy still rising" in r for r in state.alarm.reasons)


def test_rising_detector_rate_is_a_watch_signal():
    mon = OverOptMonitor(forecast=False)
    for i in range(5):
        state = mon.update(EvalRecord(step=i, kl=0.1 * i, rates={M.HEDGE_RATE: 0.1 + 0.1 * i}))
    assert state.alarm.level == AlarmLevel.WATCH and "hedge rate is rising" in state.alarm.reasons[0]
    assert "cannot be decided" in state.warnings[-1]


def test_metrics_use_the_shared_vocabulary_and_per_sequence_kl():
    mon = OverOptMonitor(forecast=False)
    mon.update(EvalRecord(step=0, kl=0.0, kl_unit="per_token", mean_length=20, proxy=0.0, gold=0.0, gold_se=0.1))
    mon.update(EvalRecord(step=5, kl=0.05, kl_unit="per_token", mean_length=20, kl_se=0.01,
                          proxy=2.0, gold=0.5, gold_se=0.1, rates={M.REFUSAL_RATE: 0.2}))
    m = mon.metrics()
    assert set(m) <= set(M.ALL)
    assert m[M.KL] == pytest.approx(1.0) and m[M.SQRT_KL] == pytest.approx(1.0) and m[M.KL_SE] == pytest.approx(0.2)
    assert m[M.GAP] == pytest.approx(1.5) and m[M.ALARM] == 0.0 and m[M.REFUSAL_RATE] == 0.2


def test_record_validation():
    with pytest.raises(InputError, match="mean_length"):
        EvalRecord(step=1, kl=0.1, kl_unit="per_token")
    with pytest.raises(InputError, match="kl_unit"):
        EvalRecord(step=1, kl=0.1, kl_unit="nats")
    with pytest.raises(InputError, match="NaN|nan"):
        EvalRecord(step=1, kl=float("nan"))
    with pytest.raises(InputError, match="negative"):
        EvalRecord(step=1, kl=0.1, gold=1.0, gold_se=-1.0)
    mon = OverOptMonitor(forecast=False)
    mon.update(EvalRecord(step=3, kl=0.1))
    with pytest.raises(InputError, match="increasing step"):
        mon.update(EvalRecord(step=3, kl=0.2))
    with pytest.warns(UnreliableWarning, match="negative"):
        mon.update(EvalRecord(step=4, kl=-0.05))
    assert mon.records_[-1].sqrt_kl == 0.0


def test_monitor_without_se_waits_for_enough_points():
    mon = OverOptMonitor(forecast=False)
    for i in range(3):
        state = mon.update(EvalRecord(step=i, kl=float(i), gold=float(i)))
    assert state.alarm.level == AlarmLevel.NONE and any("standard error" in w for w in state.warnings)
