"""Alarm levels and their plain-language reasons (``overopt/alarm``: 0 none, 1 watch, 2 warn, 3 alarm)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class AlarmLevel(IntEnum):
    NONE = 0  # nothing to report
    WATCH = 1  # early signs: proxy and held-out diverge, the forecast peak is near, habits grow
    WARN = 2  # one significant drop of held-out, or the fitted curve says the peak is behind us
    ALARM = 3  # held-out has peaked by the confirmed rule (see overopt.monitor.decision)


@dataclass(frozen=True)
class Alarm:
    level: AlarmLevel
    reasons: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.level.name.lower()


def combine(signals: list[tuple[AlarmLevel, str]]) -> Alarm:
    """The highest level wins; every reason at or above WATCH is kept, most severe first."""
    if not signals:
        return Alarm(AlarmLevel.NONE, [])
    ordered = sorted(signals, key=lambda s: -int(s[0]))
    return Alarm(ordered[0][0], [reason for _, reason in ordered])
