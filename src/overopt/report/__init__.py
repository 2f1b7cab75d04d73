"""The HTML report: one self-contained, offline, interactive page per study run.

    overopt report runs/lab-quick              # writes runs/lab-quick/report.html
    python -c "from overopt.report import write_report; write_report('runs/lab-quick')"

``build_report(run_dir)`` computes the view model (verdict, figures, samples, tables) from the run's
``summary.json`` and store; ``render(view)`` turns it into HTML; ``write_report`` does both and
writes the file atomically. ``write_svgs`` exports the main figures as static SVG files for papers.
"""

from __future__ import annotations

from pathlib import Path

from overopt.report.build import build_report
from overopt.report.page import render

__all__ = ["build_report", "render", "write_report"]


def write_report(run_dir: str | Path, out_path: str | Path | None = None) -> Path:
    """Build the report of ``run_dir`` and write it to ``out_path`` (default ``run_dir/report.html``)."""
    from overopt.io.files import atomic_write

    out = Path(out_path) if out_path is not None else Path(run_dir) / "report.html"
    atomic_write(out, render(build_report(run_dir)))
    return out
