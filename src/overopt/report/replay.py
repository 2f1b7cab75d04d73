"""Replay each RL/DPO run's evaluations through the over-optimization monitor, as if it had watched live.

For every run: the first step at which ``OverOptMonitor`` (``overopt.monitor``) reached WATCH, WARN
and ALARM, the KL there, how far gold had fallen from its best by the alarm, the checkpoint it
recommends at the end, and the reason it gave. A run that never alarms is the monitor not crying
wolf; an alarm long after gold peaked is a late one — both worth seeing next to the curves.
"""

from __future__ import annotations

import warnings
from typing import Any

from overopt.report.plot import finite


def replay_run(curve: dict[str, Any]) -> dict[str, Any] | None:
    """Monitor replay of one summary curve (``step, kl, kl_se, proxy, proxy_se, gold, gold_se`` lists)."""
    from overopt.errors import OveroptError
    from overopt.monitor import OverOptMonitor
    from overopt.monitor.alarms import AlarmLevel
    from overopt.monitor.records import EvalRecord

    steps = curve.get("step") or []
    if len(steps) < 2 or not curve.get("gold"):
        return None
    mon = OverOptMonitor(seed=0)
    first: dict[str, int] = {}
    reason = ""

    def col(key: str, i: int) -> float | None:
        vals = curve.get(key) or []
        return finite(vals[i]) if i < len(vals) else None

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, step in enumerate(steps):
            try:
                state = mon.update(EvalRecord(step=int(step), kl=max(col("kl", i) or 0.0, 0.0),
                                              kl_se=col("kl_se", i), proxy=col("proxy", i),
                                              proxy_se=col("proxy_se", i), gold=col("gold", i),
                                              gold_se=col("gold_se", i)))
            except OveroptError as exc:
                return {"run": curve["name"], "error": str(exc)}
            for level in (AlarmLevel.WATCH, AlarmLevel.WARN, AlarmLevel.ALARM):
                if state.alarm.level >= level and level.name.lower() not in first:
                    first[level.name.lower()] = int(step)
                    if level == AlarmLevel.ALARM and state.alarm.reasons:
                        reason = state.alarm.reasons[0]
    gold = [finite(g) for g in curve["gold"]]
    out: dict[str, Any] = {"run": curve["name"], "first": first, "recommended_step": mon.recommended_step_,
                           "reason": reason}
    if "alarm" in first:
        i = steps.index(first["alarm"])
        best = max((g for g in gold[: i + 1] if g is not None), default=None)
        now = gold[i]
        out["alarm_kl"] = col("kl", i)
        out["gold_drop_at_alarm"] = None if best is None or now is None else best - now
    return out


def replay_table(summary: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    head = ["run", "first WATCH step", "first WARN step", "first ALARM step", "KL at alarm (nats)",
            "gold below its best at alarm", "recommended checkpoint", "alarm reason"]
    rows = []
    for family in ("rl", "dpo"):
        for c in summary.get(family) or []:
            r = replay_run(c)
            if r is None:
                continue
            if "error" in r:
                rows.append([f"{family}/{r['run']}", None, None, None, None, None, None, r["error"]])
                continue
            f = r["first"]
            rows.append([f"{family}/{r['run']}", f.get("watch"), f.get("warn"), f.get("alarm"), r.get("alarm_kl"),
                         r.get("gold_drop_at_alarm"), r["recommended_step"], r["reason"] or "no alarm"])
    return head, rows
