"""The online over-optimization monitor (framework-free): feed it evaluation records, read alarms.

    from overopt.monitor import OverOptMonitor, EvalRecord
    mon = OverOptMonitor()
    state = mon.update(EvalRecord(step=100, kl=3.2, gold=0.41, gold_se=0.02, proxy=1.3))
    state.alarm.level, state.alarm.reasons, mon.recommended_step_
"""

from overopt.monitor.alarms import Alarm, AlarmLevel
from overopt.monitor.decision import PeakDecision, peak_decision, recommend
from overopt.monitor.monitor import MonitorState, OverOptMonitor
from overopt.monitor.records import EvalRecord

__all__ = ["Alarm", "AlarmLevel", "EvalRecord", "MonitorState", "OverOptMonitor", "PeakDecision",
           "peak_decision", "recommend"]
